/**
 * The live room (直播间) as a store owner sees it: the server's state and pushes
 * (backend/livestream/service.py, realtime/live.py) turned into what the page shows.
 * Amounts are formatted here, through formatFen only.
 */
const { formatFen } = require('../../utils/money');
const { orderableMin } = require('./quantity');

/** Tunables, changed by tests and nowhere else. */
const settings = {
  likeFlushMs: 1000, // taps are added up and sent at most once a second (50 per event at most)
  maxLikesPerEvent: 50, // backend/livestream/room.py LIKES_PER_EVENT
  chatKept: 50, // messages kept on screen
};

const SESSION_STATUS = { scheduled: '直播未开始', live: '直播中', ended: '直播已结束' };
const ELIGIBILITY = { present: '开奖时在直播间的门店', ordered: '本场直播下过单的门店', invited: '全部受邀门店' };

function presentCard(card) {
  if (!card) return null;
  const sku = card.sku || {};
  const min = orderableMin(sku.min_order_qty, sku.case_size);
  return {
    productId: card.product_id,
    title: [sku.product_name, sku.name].filter(Boolean).join(' ') || '直播商品',
    spec: sku.spec || '',
    unit: sku.unit || '',
    liveText: formatFen(card.live_price_fen),
    listText: typeof sku.list_price_fen === 'number' && sku.list_price_fen > card.live_price_fen ? formatFen(sku.list_price_fen) : '',
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

function presentDrop(drop) {
  if (!drop) return null;
  const id = drop.id === undefined ? drop.drop_id : drop.id;
  const left = drop.left === undefined ? Math.max((drop.quantity || 0) - (drop.claimed || 0), 0) : drop.left;
  return { id, status: drop.status, quantity: drop.quantity, left, name: drop.name || drop.template_name || '直播专享优惠券' };
}

function presentDraw(draw, myStoreId) {
  if (!draw) return null;
  const winners = (draw.winners || []).map((w) => ({
    key: `${w.rank}`,
    rank: w.rank,
    prize: w.prize,
    store: w.store_id === myStoreId ? '您的门店' : `门店 ${w.store_id}`,
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
    winners,
    myPrize: mine ? mine.prize : '',
  };
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

module.exports = { settings, SESSION_STATUS, ELIGIBILITY, presentCard, presentRain, presentDrop, presentDraw, presentChat, countText, formatFen };
