/**
 * 一物一码 for the store: the three scan modes, what a scanned text is, the scanner
 * (wx.scanCode, camera only) and the phone's location for the scans, and how an answer of
 * POST /codes/scans or POST /codes/redemptions reads on a phone.
 *
 * A code on a box or an item is `<base>/C/<token>`, a consumer's e-coupon `<base>/V/<token>`
 * (backend/codes/tokens.py); the server also takes the bare 20-character token. The server
 * decides everything; this only says early when a coupon is scanned in 入库/动销 or a code in
 * 核销, which would be refused anyway, so the store learns to switch modes.
 */
const { formatFen } = require('../../utils/money');
const { formatShortTime, formatTime } = require('../../components/lib/format');
const privacy = require('../../components/lib/privacy');

const MODES = [
  { key: 'receive', name: '入库', title: '扫码入库', hint: '扫描箱子上的箱码，整箱商品计入本店库存；首次开箱可得开箱奖励。' },
  { key: 'sell', name: '动销', title: '扫码动销', hint: '商品卖出时扫描商品上的码；扫箱码则整箱未售商品一起记为售出。' },
  { key: 'redeem', name: '核销', title: '核销消费者券', hint: '扫描消费者出示的电子券，券面金额由品牌返还到本店现金账户。' },
];
const MODE_KEYS = MODES.map((m) => m.key);

const TOKEN = /^[0-9A-Za-z]{20}$/;
const CODE_URL = /\/C\/([0-9A-Za-z]{20})(?:[/?#]|$)/;
const COUPON_URL = /\/V\/([0-9A-Za-z]{20})(?:[/?#]|$)/;

/** A query option as WeChat hands it over (`q` is the scanned URL, encoded), decoded. */
function decodeOption(value) {
  let s = String(value === undefined || value === null ? '' : value).trim();
  for (let i = 0; i < 2 && /%[0-9A-Fa-f]{2}/.test(s); i += 1) {
    try {
      s = decodeURIComponent(s);
    } catch (e) {
      break;
    }
  }
  return s;
}

/** 'code' (a box or item code), 'coupon' (a consumer's e-coupon), 'token' (bare, either) or ''. */
function kindOf(text) {
  const s = String(text || '').trim();
  if (!s) return '';
  if (COUPON_URL.test(s)) return 'coupon';
  if (CODE_URL.test(s)) return 'code';
  if (TOKEN.test(s)) return 'token';
  return 'other';
}

/** Why a scanned text is not for this mode ('' when it may be sent). */
function wrongMode(mode, text) {
  const kind = kindOf(text);
  if (mode === 'redeem' && kind === 'code') return '这是商品或箱子上的码，请切换到“入库”或“动销”';
  if (mode !== 'redeem' && kind === 'coupon') return '这是消费者的电子券，请切换到“核销”';
  return '';
}

/** The token in a scanned text, for display ('' if none). */
function tokenOf(text) {
  const s = String(text || '').trim();
  const found = CODE_URL.exec(s) || COUPON_URL.exec(s);
  if (found) return found[1];
  return TOKEN.test(s) ? s : '';
}

/**
 * One scan with the phone's camera: `{text}` when a code was read, `{cancelled: true}` when the
 * person closed the scanner (or refused the privacy guide: explained), `{failed: true}`
 * otherwise.
 */
function scanOnce() {
  return new Promise((resolve) => {
    wx.scanCode({
      onlyFromCamera: true, // a code is scanned where it is, not from a forwarded picture
      scanType: ['qrCode'],
      success: (res) => {
        const text = String((res && (res.result || res.path)) || '').trim();
        resolve(text ? { text } : { failed: true });
      },
      fail: (res) => {
        if (privacy.explainDenied(res)) {
          resolve({ cancelled: true });
          return;
        }
        resolve(/cancel/.test((res && res.errMsg) || '') ? { cancelled: true } : { failed: true });
      },
    });
  });
}

// Where the store is when it scans, sent with each scan for the brand's diversion check.
// Asked once and kept a few minutes: a store scans dozens of boxes in one place.
const LOCATION_TTL_MS = 5 * 60 * 1000;
let located = null; // {at, where: {latitude, longitude} | null}

function locate() {
  const now = Date.now();
  if (located && now - located.at < LOCATION_TTL_MS) return Promise.resolve(located.where);
  return new Promise((resolve) => {
    if (typeof wx.getLocation !== 'function') {
      resolve(null);
      return;
    }
    wx.getLocation({
      type: 'gcj02',
      success: (res) => {
        const where = res && typeof res.latitude === 'number' && typeof res.longitude === 'number'
          ? { latitude: res.latitude, longitude: res.longitude } : null;
        located = { at: Date.now(), where };
        resolve(where);
      },
      fail: () => {
        // Refused or switched off: scans go on without it (the server does not need it).
        located = { at: Date.now(), where: null };
        resolve(null);
      },
    });
  });
}

function forgetLocation() {
  located = null;
}

function rewardText(reward) {
  if (!reward) return '';
  if (reward.text) return reward.text;
  if (reward.kind === 'points') return `${reward.amount} 积分`;
  if (reward.kind === 'cash') return formatFen(reward.amount);
  return '';
}

/** A row of the scan list from POST /codes/scans's answer. */
function presentScan(mode, answer) {
  const product = (answer && answer.product) || {};
  const code = (answer && answer.code) || {};
  const items = Number(answer && answer.items) || 0;
  const stock = answer && answer.stock;
  const isBox = code.kind === 'box';
  let title;
  if (mode === 'receive') title = `入库成功 · ${items} 件`;
  else title = isBox ? `整箱动销 · ${items} 件` : `动销成功 · ${items || 1} 件`;
  const lines = [];
  const reward = rewardText(answer && answer.reward);
  // The server words it whole ("开箱奖励 200 积分"); a bare amount gets the words here.
  if (reward) lines.push({ key: 'reward', text: `${/开箱奖励/.test(reward) ? reward : `开箱奖励 ${reward}`} 已到账`, tone: 'reward' });
  if (answer && answer.signed_order_id) {
    lines.push({ key: 'signed', text: '该箱所属订单已自动签收，点此查看', tone: 'ok', url: `/pages/order/index?id=${answer.signed_order_id}` });
  }
  if (stock) lines.push({ key: 'stock', text: `本店该商品在库 ${stock.on_hand} 件（入库 ${stock.received}，售出 ${stock.sold}）`, tone: '' });
  return {
    ok: true,
    title,
    name: product.name || '',
    serial: code.serial_text ? `${isBox ? '箱号' : '序号'} ${code.serial_text}` : '',
    lines,
    count: items,
    rewardText: reward,
    signedOrderId: (answer && answer.signed_order_id) || null,
  };
}

/** A row of the scan list from POST /codes/redemptions's answer. */
function presentRedemption(answer) {
  const a = answer || {};
  const product = a.product || {};
  const credited = a.credited || {};
  const amount = credited.amount_fen !== undefined ? credited.amount_fen : a.value_fen;
  const lines = [{ key: 'credited', text: `${formatFen(amount || 0)} 已计入本店现金账户`, tone: 'reward' }];
  if (a.sold_now) lines.push({ key: 'sold', text: '该商品同时记为本店售出', tone: '' });
  if (a.redeemed_at) lines.push({ key: 'at', text: `核销时间 ${formatTime(a.redeemed_at)}`, tone: '' });
  return {
    ok: true,
    title: `核销成功 · ${formatFen(a.value_fen || 0)}`,
    name: product.name || '',
    serial: '',
    lines,
    count: 1,
    valueFen: Number(a.value_fen) || 0,
  };
}

/** What a scan session has done so far, in one line. */
function totalsText(totals) {
  const parts = [];
  if (totals.receive.boxes) parts.push(`入库 ${totals.receive.boxes} 箱 ${totals.receive.items} 件`);
  if (totals.sell.items) parts.push(`动销 ${totals.sell.items} 件`);
  if (totals.redeem.coupons) parts.push(`核销 ${totals.redeem.coupons} 张 ${formatFen(totals.redeem.fen)}`);
  if (totals.failed) parts.push(`失败 ${totals.failed} 次`);
  return parts.length ? `本次：${parts.join('，')}` : '';
}

function emptyTotals() {
  return { receive: { boxes: 0, items: 0 }, sell: { items: 0 }, redeem: { coupons: 0, fen: 0 }, failed: 0 };
}

function timeNow() {
  return formatShortTime(new Date(Date.now()).toISOString()).slice(6); // HH:MM
}

module.exports = {
  MODES,
  MODE_KEYS,
  decodeOption,
  kindOf,
  wrongMode,
  tokenOf,
  scanOnce,
  locate,
  forgetLocation,
  rewardText,
  presentScan,
  presentRedemption,
  totalsText,
  emptyTotals,
  timeNow,
};
