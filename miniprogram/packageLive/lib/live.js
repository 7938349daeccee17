/**
 * The live room (直播间) as a store owner sees it: the server's state and pushes
 * (backend/livestream/service.py, realtime/live.py) turned into what the page shows.
 * Amounts are formatted here, through formatFen only.
 */
const { formatFen } = require('../../utils/money');
const { orderableMin } = require('../../components/lib/quantity');

/** Tunables, changed by tests and nowhere else. */
const settings = {
  likeFlushMs: 1000, // taps are added up and sent at most once a second (50 per event at most)
  maxLikesPerEvent: 50, // backend/livestream/room.py LIKES_PER_EVENT
  chatKept: 50, // messages kept on screen, at least
  // New messages are appended by path; once this many more have come the list is cut back
  // to chatKept in one setData (a cut renumbers every row, so it is done rarely).
  chatTrimEvery: 25,
};

const SESSION_STATUS = { scheduled: '直播未开始', live: '直播中', ended: '直播已结束' };
const ELIGIBILITY = { present: '开奖时在直播间的门店', ordered: '本场直播下过单的门店', invited: '全部受邀门店' };

/**
 * The product card: the product's name and first picture, the SKU, its unit, the list and
 * live prices and what is left of the live stock (backend/livestream/room.py product_card).
 * A card pushed before the server named the product has only `sku`: it still shows.
 */
function presentCard(card) {
  if (!card) return null;
  const sku = card.sku || {};
  const min = orderableMin(sku.min_order_qty, sku.case_size);
  const listFen = typeof card.list_price_fen === 'number' ? card.list_price_fen : sku.list_price_fen;
  return {
    productId: card.product_id,
    title: [card.name || sku.product_name, card.sku_name || sku.name].filter(Boolean).join(' ') || '直播商品',
    image: card.image || '',
    spec: card.spec === undefined ? sku.spec || '' : card.spec || '',
    unit: card.unit || sku.unit || '',
    liveText: formatFen(card.live_price_fen),
    listText: typeof listFen === 'number' && listFen > card.live_price_fen ? formatFen(listFen) : '',
    left: card.left,
    soldOut: card.left !== null && card.left !== undefined && card.left < min,
    min,
    step: Math.max(1, sku.case_size || 1),
    livePriceFen: card.live_price_fen,
  };
}

function presentRain(rain) {
  if (!rain) return null;
  return {
    id: rain.id,
    status: rain.status,
    totalText: formatFen(rain.total_fen),
    count: rain.count,
    endsAt: rain.ends_at || '',
  };
}

/** What a coupon is worth, big on the drop: ¥200.00 off, 9折, or 兑换券. */
function couponWorth(coupon) {
  if (!coupon) return '';
  if (coupon.kind === 'reduction' && typeof coupon.amount_off_fen === 'number') return formatFen(coupon.amount_off_fen);
  if (coupon.kind === 'discount' && coupon.percent !== null && coupon.percent !== undefined) {
    const rate = Number(coupon.percent) / 10;
    if (!Number.isNaN(rate)) return `${rate}折`;
  }
  if (coupon.kind === 'exchange') return '兑换券';
  return '';
}

function couponValidity(coupon) {
  if (!coupon) return '';
  if (coupon.valid_days) return `领取后 ${coupon.valid_days} 天内有效`;
  if (coupon.valid_until) return `有效期至 ${coupon.valid_until.slice(0, 10)}`;
  return '';
}

/**
 * A coupon drop: its coupon's name, what it is worth (the server's wording, e.g.
 * 满3000.00元减200.00元), how long it lasts, how many are left, and this store's coupon from
 * it (`mine`, in the join state).
 */
function presentDrop(drop) {
  if (!drop) return null;
  const id = drop.id === undefined ? drop.drop_id : drop.id;
  const left = drop.left === undefined ? Math.max((drop.quantity || 0) - (drop.claimed || 0), 0) : drop.left;
  const coupon = drop.coupon || null;
  return {
    id,
    status: drop.status,
    quantity: drop.quantity,
    left,
    name: (coupon && coupon.name) || drop.name || '直播专享优惠券',
    worth: couponWorth(coupon),
    terms: (coupon && coupon.description) || '',
    validity: couponValidity(coupon),
    mine: Boolean(drop.mine),
  };
}

/**
 * A draw. Winners are named as the server names them for this store (its own name in full,
 * other stores masked, e.g. 张**店); this store's own win reads 您的门店.
 */
function presentDraw(draw, myStoreId) {
  if (!draw) return null;
  const winners = (draw.winners || []).map((w) => ({
    key: `${w.rank}`,
    rank: w.rank,
    prize: w.prize,
    store: w.store_id === myStoreId ? '您的门店' : w.name || `门店 ${w.store_id}`,
    mine: w.store_id === myStoreId,
  }));
  const mine = winners.find((w) => w.mine);
  return {
    id: draw.draw_id === undefined ? draw.id : draw.draw_id,
    title: draw.title,
    status: draw.status,
    prizes: (draw.prizes || []).map((p) => `${p.name} × ${p.count}`).join('，'),
    eligibility: ELIGIBILITY[draw.eligibility] || '',
    seedHash: draw.seed_hash || '',
    seed: draw.seed || '',
    recordUrl: draw.record_url || '',
    winners,
    myPrize: mine ? mine.prize : '',
  };
}

/** The drop to show from the join state's open drops: the newest (usually the only one). */
function runningDrop(drops) {
  const running = (drops || []).filter((d) => d && d.status === 'running');
  return running.length ? running[running.length - 1] : null;
}

/** The draw to show from the join state's draws (announced or drawn): the newest. */
function latestDraw(draws) {
  const shown = (draws || []).filter((d) => d && (d.status === 'announced' || d.status === 'drawn'));
  return shown.length ? shown[shown.length - 1] : null;
}

function presentChat(message, index, myUserId) {
  return {
    key: `${message.at || ''}-${message.user_id}-${index}`,
    name: message.user_id === myUserId ? '我' : message.name || '门店',
    text: message.text,
    mine: message.user_id === myUserId,
  };
}

function countText(n) {
  if (typeof n !== 'number') return '0';
  if (n >= 10000) return `${Math.floor(n / 1000) / 10}万`;
  return String(n);
}

module.exports = { settings, SESSION_STATUS, ELIGIBILITY, presentCard, presentRain, presentDrop, presentDraw, presentChat, runningDrop, latestDraw, countText, formatFen };
