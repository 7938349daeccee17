jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());
// The room controller replaced by a fake the test drives: what the server pushes, what the
// page emits, and the link going down and coming back.
jest.mock('../../packageLive/utils/live-room', () => {
  class MockRoom {
    constructor(sessionId) {
      this.sessionId = sessionId;
      this.handlers = {};
      this.client = { reconnectNow: jest.fn() };
      this.grab = jest.fn(() => Promise.resolve({ ok: true, data: { ok: true, rain_id: 5, amount_fen: 188, again: false } }));
      this.grabCoupon = jest.fn(() => Promise.resolve({ ok: true, data: { ok: true, drop_id: 4, coupon_id: 99, again: false, left: 9 } }));
      this.chat = jest.fn(() => Promise.resolve({ ok: true, data: {} }));
      this.like = jest.fn(() => Promise.resolve({ ok: true, data: { total: 1 } }));
      this.leave = jest.fn();
    }

    on(event, handler) {
      (this.handlers[event] = this.handlers[event] || []).push(handler);
      return () => {
        this.handlers[event] = this.handlers[event].filter((h) => h !== handler);
      };
    }

    push(event, data) {
      (this.handlers[event] || []).slice().forEach((h) => h(data));
    }
  }
  const rooms = [];
  return {
    rooms,
    joinRoom: jest.fn((sessionId) => {
      const room = new MockRoom(sessionId);
      rooms.push(room);
      return room;
    }),
  };
});

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, order } = require('./support/fixtures');

let h;
let api;
let liveRoom;
let liveLib;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  liveRoom = require('../../packageLive/utils/live-room');
  liveLib = require('../../packageLive/lib/live');
  signInAsStore();
  h.wx.setClipboardData = h.wxAsync(() => ({}));
});

const SKU = { id: 1, product_id: 10, name: 'RO-500 标准款', spec: '5级过滤', unit: '台', barcode: '', list_price_fen: 180000, case_size: 1, min_order_qty: 1, is_active: true };
const PICTURE = 'https://img.example.com/ro-500.jpg';
// backend/livestream/room.py product_card
const CARD = {
  product_id: 11,
  sku_id: 1,
  name: '澜泉净水器',
  sku_name: 'RO-500 标准款',
  spec: '5级过滤',
  image: PICTURE,
  unit: '台',
  list_price_fen: 180000,
  live_price_fen: 159900,
  live_stock: 30,
  left: 30,
  sku: SKU,
};
const STREAM = 'https://pull.example.com/live/7.flv';
// backend/livestream/service.py _coupon_view
const COUPON = {
  template_id: 2,
  name: '直播专享满3000减200',
  kind: 'reduction',
  description: '满3000.00元减200.00元',
  threshold_fen: 300000,
  amount_off_fen: 20000,
  percent: null,
  max_off_fen: null,
  valid_days: 30,
  valid_until: null,
};
const SEED = '9f'.repeat(32);
const SEED_HASH = '182854d3f745f5d7d30f64ef6a903514c59dd270b7ac6d25e3f7990ef899d27d';
const PRIZES = [{ name: '一等奖', count: 1 }, { name: '二等奖', count: 2 }];
// Named as the server names them for store 3: its own name in full, the others masked.
const WINNERS = [
  { store_id: 3, prize: '一等奖', rank: 1, name: '赵记水站' },
  { store_id: 25, prize: '二等奖', rank: 2, name: '张**店' },
  { store_id: 7, prize: '二等奖', rank: 3, name: '中**站' },
];
const RECORD_URL = 'https://api.example.com/api/v1/live/sessions/7/draws/2';

function drawn(overrides) {
  return Object.assign(
    { draw_id: 2, session_id: 7, title: '幸运大抽奖', prizes: PRIZES, eligibility: 'present', status: 'drawn', seed_hash: SEED_HASH, algorithm: 'sha256-mod-v1', seed: SEED, winners: WINNERS, drawn_at: '2026-01-05T07:00:00+00:00', record_url: RECORD_URL, eligible_count: 5 },
    overrides || {},
  );
}

function detail(overrides) {
  return Object.assign(
    {
      id: 7,
      distributor_id: 2,
      title: '年终直播订货会',
      cover_url: '',
      stream_url: null,
      starts_at: '2026-01-05T06:00:00+00:00',
      ends_at: '2026-01-05T08:00:00+00:00',
      status: 'live',
      products: [{ id: 11, sku: SKU, live_price_fen: 159900, live_stock: 30, sold: 0 }],
      rains: [],
      coupon_drops: [],
      draws: [],
    },
    overrides || {},
  );
}

function state(overrides) {
  return Object.assign(
    { session_id: 7, title: '年终直播订货会', status: 'live', stream_url: null, card: null, pinned: null, viewers: 12, likes: 40, orders: 3, gmv_fen: 479700, rain: null, drops: [], draws: [] },
    overrides || {},
  );
}

async function openRoom(routes) {
  route(api, Object.assign({ 'GET /live/sessions/7': detail() }, routes || {}));
  const page = h.page('packageLive/pages/room');
  await page.instance.onLoad({ id: '7' });
  await flush();
  const room = liveRoom.rooms[liveRoom.rooms.length - 1];
  return { page, room };
}

/** Two taps before anything answers. */
async function doubleTap(page, selector) {
  const node = page.querySelector(selector);
  node.dispatchEvent('tap');
  node.dispatchEvent('tap');
  await flush(4);
}

async function joined(room, overrides) {
  room.push('connection', 'live');
  room.push('joined', state(overrides));
  await flush();
}

test('joins the session on load and shows its whole state: status, viewers, ticker, pinned', async () => {
  const { page, room } = await openRoom();
  expect(liveRoom.joinRoom).toHaveBeenCalledWith(7);
  expect(api.get).toHaveBeenCalledWith('/live/sessions/7');
  expect(textOf(page)).toContain('正在进入直播间…');
  await joined(room, { pinned: { text: '今晚满10台送滤芯', at: '2026-01-05T06:10:00+00:00' } });
  const text = textOf(page);
  expect(texts(page, '.top-title')).toEqual(['年终直播订货会']);
  expect(text).toContain('直播中');
  expect(text).toContain('12 人在看');
  expect(text).toContain('已下单 3 笔');
  expect(texts(page, '.ticker-gmv')).toEqual(['¥4,797.00']);
  expect(text).toContain('今晚满10台送滤芯');
  expect(texts(page, '.like-count')).toEqual(['40']);
  expect(page.querySelectorAll('.connection')).toHaveLength(0);
});

test('a pushed product card shows the product with its picture, the live price against the list price, and the ticker moves it', async () => {
  const { page, room } = await openRoom();
  await joined(room);
  expect(page.querySelectorAll('.card-live')).toHaveLength(0);
  room.push('product', CARD);
  await flush();
  expect(texts(page, '.card-live-title')).toEqual(['澜泉净水器 RO-500 标准款']);
  // miniprogram-simulate keeps no attributes of built-in tags: the bound value is checked.
  expect(page.querySelector('.card-live-image').dom.tagName).toBe('WX-IMAGE');
  expect(page.instance.data.card.image).toBe(PICTURE);
  expect(texts(page, '.card-live-spec')).toEqual(['5级过滤']);
  expect(texts(page, '.live-price')).toEqual(['直播价 ¥1,599.00']);
  expect(texts(page, '.list-price')).toEqual(['¥1,800.00']);
  expect(texts(page, '.card-live-left')).toEqual(['剩余 30台']);
  room.push('ticker', { orders: 4, gmv_fen: 639600, product_id: 11, left: 0 });
  await flush();
  expect(texts(page, '.ticker-gmv')).toEqual(['¥6,396.00']);
  expect(texts(page, '.card-live-left')).toEqual(['直播库存已抢光']);
  expect(page.instance.data.card.soldOut).toBe(true);
  await tap(page, '.order-btn');
  expect(api.post).not.toHaveBeenCalled();
});

test('a card without a picture shows a placeholder; an older card with only its sku still shows', async () => {
  const { page, room } = await openRoom();
  await joined(room, { card: Object.assign({}, CARD, { image: null, list_price_fen: 159900 }) });
  expect(page.querySelectorAll('.card-live-image').map((n) => n.dom.tagName)).toEqual(['WX-VIEW']);
  expect(texts(page, '.card-live-image--none')).toEqual(['直播']);
  expect(page.querySelectorAll('.list-price')).toHaveLength(0); // no saving to show
  room.push('product', { product_id: 12, sku: Object.assign({}, SKU, { product_name: '澜泉滤芯', name: 'PP棉', unit: '支' }), live_price_fen: 8000, left: 5 });
  await flush();
  expect(texts(page, '.card-live-title')).toEqual(['澜泉滤芯 PP棉']);
  expect(texts(page, '.list-price')).toEqual(['¥1,800.00']);
  expect(texts(page, '.card-live-left')).toEqual(['剩余 5支']);
});

test('ordering from the card: one order for a double tap, with one key, then WeChat Pay', async () => {
  const placed = deferred();
  const { page, room } = await openRoom({
    'POST /live/sessions/7/orders': () => placed.promise,
    'POST /orders/42/pay': { payment_id: 5, out_trade_no: 'P1', request_payment: { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' } },
  });
  h.wx.requestPayment = jest.fn((o) => Promise.resolve().then(() => o.success({ errMsg: 'requestPayment:ok' })));
  await joined(room, { card: CARD });
  page.instance.onQuantity({ detail: { value: 2 } });
  await tap(page, '.order-btn');
  await tap(page, '.order-btn');
  placed.resolve(order({ channel: 'live', payable_fen: 319800 }));
  await flush(8);
  expect(api.post.mock.calls.filter((c) => c[0] === '/live/sessions/7/orders')).toEqual([
    ['/live/sessions/7/orders', { product_id: 11, quantity: 2 }, { idempotencyKey: 'key-1' }],
  ]);
  expect(api.post).toHaveBeenCalledWith('/orders/42/pay');
  expect(texts(page, '.placed-title')).toEqual(['下单并支付成功']);
  expect(textOf(page)).toContain('应付 ¥3,198.00');
  await tap(page, '.view-order');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
});

test('an order the server refuses says why in Chinese', async () => {
  const { page, room } = await openRoom({
    'POST /live/sessions/7/orders': apiError(api.ApiError, 'live.sold_out', '直播库存不足', 409),
  });
  await joined(room, { card: CARD });
  await tap(page, '.order-btn');
  expect(texts(page, '.order-error')).toEqual(['直播库存不足']);
});

test('chat: sent through the room, shown when the room says it, a rate limit shown in Chinese', async () => {
  const { page, room } = await openRoom();
  await joined(room);
  page.instance.onChatInput({ detail: { value: ' 有现货吗 ' } });
  await tap(page, '.send-btn');
  expect(room.chat).toHaveBeenCalledWith('有现货吗');
  room.push('chat', { user_id: 7, name: '赵记水站', text: '有现货吗', at: '2026-01-05T06:10:00+00:00' });
  room.push('chat', { user_id: 1, name: '主播', text: '有的，今晚直发', at: '2026-01-05T06:10:05+00:00' });
  await flush();
  expect(texts(page, '.chat-name')).toEqual(['我：', '主播：']);
  expect(texts(page, '.chat-text')).toEqual(['有现货吗', '有的，今晚直发']);

  room.chat.mockResolvedValueOnce({ ok: false, error: { code: 'live.chat_rate_limited', message: '发言太快了，请稍后再试' } });
  page.instance.onChatInput({ detail: { value: '再问一句' } });
  await tap(page, '.send-btn');
  expect(texts(page, '.chat-error')).toEqual(['发言太快了，请稍后再试']);
  expect(page.instance.data.chatInput).toBe('再问一句');
});

test('likes: taps are added up and sent once a second', async () => {
  // Long enough that three taps (each settling the simulator) fit in one window on a busy machine.
  liveLib.settings.likeFlushMs = 250;
  const { page, room } = await openRoom();
  await joined(room);
  await tap(page, '.like');
  await tap(page, '.like');
  await tap(page, '.like');
  expect(texts(page, '.like-count')).toEqual(['43']);
  expect(room.like).not.toHaveBeenCalled();
  await new Promise((resolve) => setTimeout(resolve, 400));
  await flush();
  expect(room.like.mock.calls).toEqual([[3]]);
  room.push('likes', { total: 50 });
  await flush();
  expect(texts(page, '.like-count')).toEqual(['50']);
  page.instance.onUnload();
});

test('a red-packet rain shows the overlay; a grab shows the amount won', async () => {
  const { page, room } = await openRoom();
  await joined(room);
  room.push('rain', { id: 5, total_fen: 100000, count: 50, status: 'running', ends_at: '2026-01-05T06:20:30+00:00' });
  await flush();
  expect(page.querySelectorAll('.rain-mask')).toHaveLength(1);
  expect(textOf(page)).toContain('共 ¥1,000.00，50 个红包');
  await doubleTap(page, '.rain-grab');
  expect(room.grab.mock.calls).toEqual([[5]]);
  expect(texts(page, '.rain-amount')).toEqual(['¥1.88']);
  room.push('rain_result', { id: 5, status: 'ended', results: [{ store_id: 3, amount_fen: 188 }] });
  await flush();
  expect(texts(page, '.rain-amount')).toEqual(['¥1.88']);
  await tap(page, '.rain-close');
  expect(page.querySelectorAll('.rain-mask')).toHaveLength(0);
});

test('a rain already grabbed empty says 已抢完; one never grabbed says 未抢到 when it ends', async () => {
  const { page, room } = await openRoom();
  await joined(room);
  room.grab.mockResolvedValueOnce({ ok: false, error: { code: 'live.rain_empty', message: '红包已被抢完' } });
  room.push('rain', { id: 5, total_fen: 100, count: 1, status: 'running' });
  await flush();
  await tap(page, '.rain-grab');
  expect(texts(page, '.rain-title')).toEqual(['红包已被抢完']);
  await tap(page, '.rain-close');

  room.push('rain', { id: 6, total_fen: 100, count: 1, status: 'running' });
  await flush();
  room.push('rain_result', { id: 6, status: 'ended', results: [] });
  await flush();
  expect(texts(page, '.rain-title')).toEqual(['很遗憾，本轮未抢到红包']);
});

test('a rejoin during a rain the store already won shows its packet from the state', async () => {
  const { page, room } = await openRoom();
  await joined(room, { rain: { id: 5, total_fen: 1000, count: 5, status: 'running', remaining: 2, mine: { rain_id: 5, store_id: 3, amount_fen: 321 } } });
  expect(texts(page, '.rain-amount')).toEqual(['¥3.21']);
});

test('the link drops: 重新连接中… shows, and the rejoin brings the whole state back without reading anything else', async () => {
  const { page, room } = await openRoom();
  await joined(room, { card: null, viewers: 12 });
  room.push('connection', 'reconnecting');
  await flush();
  expect(texts(page, '.connection')).toEqual(['重新连接中…']);
  // Meanwhile the host pushed a card, opened a drop (which this store grabbed on another
  // phone), ran a draw and orders came in: the rejoin's state has them all.
  room.push('connection', 'live');
  room.push('joined', state({
    card: Object.assign({}, CARD, { left: 21 }),
    viewers: 15,
    orders: 9,
    gmv_fen: 1439100,
    drops: [{ id: 4, session_id: 7, template_id: 2, status: 'running', quantity: 10, claimed: 1, left: 9, coupon: COUPON, mine: { coupon_id: 99, created_at: '2026-01-05T06:30:00+00:00' } }],
    draws: [drawn({ draw_id: 1, title: '开场抽奖' }), drawn()],
  }));
  await flush();
  expect(page.querySelectorAll('.connection')).toHaveLength(0);
  expect(texts(page, '.card-live-title')).toEqual(['澜泉净水器 RO-500 标准款']);
  expect(texts(page, '.card-live-left')).toEqual(['剩余 21台']);
  expect(textOf(page)).toContain('15 人在看');
  expect(texts(page, '.ticker-gmv')).toEqual(['¥14,391.00']);
  expect(texts(page, '.drop-name')).toEqual(['直播专享满3000减200']);
  expect(textOf(page)).toContain('剩余 9 张');
  expect(textOf(page)).toContain('您已抢到过这张券');
  expect(page.querySelectorAll('.grab-coupon-btn')).toHaveLength(0);
  expect(texts(page, '.draw-title')).toEqual(['幸运大抽奖']);
  expect(texts(page, '.draw-winner')).toEqual(['第 1 名 · 一等奖 · 您的门店', '第 2 名 · 二等奖 · 张**店', '第 3 名 · 二等奖 · 中**站']);
  // The session was read once, on load: the rejoin needed nothing else.
  expect(api.get.mock.calls.filter((c) => c[0] === '/live/sessions/7')).toHaveLength(1);
  expect(liveRoom.joinRoom).toHaveBeenCalledTimes(1);

  // A drop that ended while the link was down is gone after the next rejoin.
  room.push('joined', state({ drops: [], draws: [drawn()] }));
  await flush();
  expect(page.querySelectorAll('.drop')).toHaveLength(0);
  expect(texts(page, '.draw-title')).toEqual(['幸运大抽奖']);
  expect(api.get).toHaveBeenCalledTimes(1);
});

test('a draw announced before the store joined is shown from the join state, and its result from the push', async () => {
  const { page, room } = await openRoom();
  const announced = { draw_id: 2, session_id: 7, title: '幸运大抽奖', prizes: PRIZES, eligibility: 'present', status: 'announced', seed_hash: SEED_HASH, seed: null, winners: [], record_url: RECORD_URL, eligible_count: null, algorithm: 'sha256-mod-v1' };
  await joined(room, { draws: [announced] });
  expect(texts(page, '.draw-status')).toEqual(['即将开奖']);
  expect(textOf(page)).toContain(`开奖前公布的种子哈希：${SEED_HASH}`);
  room.push('draw', drawn({ eligible: [3, 7, 9, 11, 25], winners: WINNERS.map((w) => Object.assign({}, w, { name: w.store_id === 3 ? '赵**站' : w.name })) }));
  await flush();
  expect(texts(page, '.draw-mine')).toEqual(['恭喜！您的门店抽中「一等奖」']);
  expect(texts(page, '.draw-winner')).toEqual(['第 1 名 · 一等奖 · 您的门店', '第 2 名 · 二等奖 · 张**店', '第 3 名 · 二等奖 · 中**站']);
  // The same state again (another rejoin) leaves the shown result as it is.
  room.push('joined', state({ draws: [drawn()] }));
  await flush();
  expect(texts(page, '.draw-status')).toEqual(['已开奖']);
  await tap(page, '.copy-btn');
  expect(h.wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: RECORD_URL }));
});

test('the video: <live-player> plays the stream while on air, a placeholder otherwise, and the host may set it later', async () => {
  const { page, room } = await openRoom({ 'GET /live/sessions/7': detail({ status: 'scheduled', cover_url: 'https://img.example.com/cover.jpg', stream_url: STREAM }) });
  await joined(room, { status: 'scheduled', stream_url: STREAM });
  // Not on air yet: the cover, and why there is no picture.
  expect(page.querySelectorAll('.player')).toHaveLength(0);
  expect(page.querySelectorAll('.player-cover')).toHaveLength(1);
  expect(page.instance.data.cover).toBe('https://img.example.com/cover.jpg');
  expect(texts(page, '.player-note')).toEqual(['直播未开始']);
  room.push('session', { status: 'live' });
  await flush();
  // (miniprogram-simulate keeps no attributes of built-in tags: the bound value is checked.)
  expect(page.querySelector('.player').dom.tagName).toBe('WX-LIVE-PLAYER');
  expect(page.instance.data.streamUrl).toBe(STREAM);
  page.instance.onPlayerState({ detail: { code: 2103 } });
  await flush();
  expect(texts(page, '.player-text')).toEqual(['视频信号不稳定，正在重新连接…']);
  page.instance.onPlayerState({ detail: { code: 2004 } });
  await flush();
  expect(page.querySelectorAll('.player-text')).toHaveLength(0);
  page.instance.onPlayerState({ detail: { code: -2301 } });
  await flush();
  expect(texts(page, '.player-text')).toEqual(['视频暂时无法播放，商品与互动不受影响']);

  // The host takes the video away, then gives another one.
  room.push('stream', { stream_url: null });
  await flush();
  expect(page.querySelectorAll('.player')).toHaveLength(0);
  expect(texts(page, '.player-note')).toEqual(['本场直播暂无视频，商品与互动照常进行']);
  room.push('stream', { stream_url: 'rtmp://pull.example.com/live/7' });
  await flush();
  expect(page.querySelectorAll('.player')).toHaveLength(1);
  expect(page.instance.data.streamUrl).toBe('rtmp://pull.example.com/live/7');
  expect(page.querySelectorAll('.player-text')).toHaveLength(0);
  // A rejoin's state has the URL too.
  room.push('joined', state({ stream_url: STREAM }));
  await flush();
  expect(page.instance.data.streamUrl).toBe(STREAM);
  room.push('session', { status: 'ended' });
  await flush();
  expect(page.querySelectorAll('.player')).toHaveLength(0);
  expect(texts(page, '.player-note')).toEqual(['直播已结束']);
});

test('coupon drops: the coupon named with its worth, grab one, left counts down, 已抢完 refused in Chinese', async () => {
  const { page, room } = await openRoom();
  await joined(room);
  room.push('drop', { id: 4, session_id: 7, template_id: 2, status: 'running', quantity: 10, claimed: 0, left: 10, coupon: COUPON });
  await flush();
  expect(texts(page, '.drop-name')).toEqual(['直播专享满3000减200']);
  expect(texts(page, '.drop-worth')).toEqual(['¥200.00']);
  expect(texts(page, '.drop-terms')).toEqual(['满3000.00元减200.00元 · 领取后 30 天内有效']);
  expect(texts(page, '.drop-left')).toEqual(['限量 10 张，剩余 10 张']);
  await doubleTap(page, '.grab-coupon-btn');
  expect(room.grabCoupon.mock.calls).toEqual([[4]]);
  expect(textOf(page)).toContain('抢到了！已放入券包');
  expect(texts(page, '.drop-left')).toEqual(['限量 10 张，剩余 9 张']);
  room.push('drop_left', { id: 4, left: 3 });
  await flush();
  expect(texts(page, '.drop-left')).toEqual(['限量 10 张，剩余 3 张']);

  const discount = Object.assign({}, COUPON, { template_id: 5, name: '滤芯9折券', kind: 'discount', description: '9折，最多减50.00元', amount_off_fen: null, threshold_fen: 0, percent: '90', max_off_fen: 5000, valid_days: null, valid_until: '2026-02-01T00:00:00+08:00' });
  room.push('drop', { id: 8, status: 'running', quantity: 1, claimed: 0, left: 1, coupon: discount });
  await flush();
  expect(texts(page, '.drop-worth')).toEqual(['9折']);
  expect(texts(page, '.drop-terms')).toEqual(['9折，最多减50.00元 · 有效期至 2026-02-01']);
  room.grabCoupon.mockResolvedValueOnce({ ok: false, error: { code: 'live.drop_empty', message: '优惠券已被抢完' } });
  await tap(page, '.grab-coupon-btn');
  expect(texts(page, '.drop-error')).toEqual(['优惠券已被抢完']);
  expect(texts(page, '.drop-left')).toEqual(['已抢完']);
});

test('a draw: the seed hash before, the winners and the seed after, and the record checked on the phone', async () => {
  const seed = '9f'.repeat(32);
  const seedHash = '182854d3f745f5d7d30f64ef6a903514c59dd270b7ac6d25e3f7990ef899d27d';
  const prizes = [{ name: '一等奖', count: 1 }, { name: '二等奖', count: 2 }];
  const winners = WINNERS;
  const { page, room } = await openRoom({
    'GET /live/sessions/7/draws/2': { draw_id: 2, session_id: 7, title: '幸运大抽奖', prizes, eligibility: 'present', status: 'drawn', seed_hash: seedHash, algorithm: 'sha256-mod-v1', seed, eligible: [11, 3, 7, 9, 25], winners, drawn_at: '2026-01-05T07:00:00+00:00' },
  });
  await joined(room);
  room.push('draw', { draw_id: 2, session_id: 7, title: '幸运大抽奖', prizes, eligibility: 'present', status: 'announced', seed_hash: seedHash });
  await flush();
  expect(textOf(page)).toContain('即将开奖');
  expect(textOf(page)).toContain(`开奖前公布的种子哈希：${seedHash}`);
  expect(textOf(page)).toContain('参与：开奖时在直播间的门店');

  room.push('draw', { draw_id: 2, session_id: 7, title: '幸运大抽奖', prizes, eligibility: 'present', status: 'drawn', seed_hash: seedHash, algorithm: 'sha256-mod-v1', seed, eligible: [3, 7, 9, 11, 25], winners });
  await flush();
  expect(texts(page, '.draw-mine')).toEqual(['恭喜！您的门店抽中「一等奖」']);
  expect(texts(page, '.draw-winner')).toEqual(['第 1 名 · 一等奖 · 您的门店', '第 2 名 · 二等奖 · 张**店', '第 3 名 · 二等奖 · 中**站']);

  await tap(page, '.copy-btn');
  expect(h.wx.setClipboardData).toHaveBeenCalledWith(expect.objectContaining({ data: 'http://127.0.0.1:8000/api/v1/live/sessions/7/draws/2' }));
  await tap(page, '.record-btn');
  expect(api.get).toHaveBeenCalledWith('/live/sessions/7/draws/2');
  expect(texts(page, '.record-check')).toEqual(['种子哈希校验：一致 ✓', '中奖名单复算：一致 ✓']);
});

test('a tampered record does not check out', () => {
  const { verifyRecord } = require('../../packageLive/lib/draw-verify');
  const seed = '9f'.repeat(32);
  const record = {
    seed,
    seed_hash: '182854d3f745f5d7d30f64ef6a903514c59dd270b7ac6d25e3f7990ef899d27d',
    eligible: [3, 7, 9, 11, 25],
    prizes: [{ name: '一等奖', count: 1 }],
    winners: [{ store_id: 7, prize: '一等奖', rank: 1 }],
  };
  expect(verifyRecord(record)).toEqual({ hashOk: true, winnersOk: false });
  expect(verifyRecord(Object.assign({}, record, { seed_hash: 'ab' })).hashOk).toBe(false);
});

test('a room that refuses the store for good shows why, and 重试 joins again', async () => {
  const { page, room } = await openRoom();
  room.push('error', { code: 'live.not_invited', message: '您未受邀参加这场直播' });
  room.push('connection', 'closed');
  await flush();
  expect(textOf(page)).toContain('您未受邀参加这场直播');
  await tapRetry(page);
  expect(liveRoom.joinRoom).toHaveBeenCalledTimes(2);
  await joined(liveRoom.rooms[1]);
  expect(texts(page, '.top-title')).toEqual(['年终直播订货会']);
});

test('a session that cannot be read shows the error; leaving the page leaves the room', async () => {
  let answer = apiError(api.ApiError, 'live.session_not_found', '找不到该直播', 404);
  route(api, { 'GET /live/sessions/7': () => answer });
  const page = h.page('packageLive/pages/room');
  await page.instance.onLoad({ id: '7' });
  await flush();
  expect(textOf(page)).toContain('找不到该直播');
  expect(liveRoom.joinRoom).not.toHaveBeenCalled();
  answer = detail();
  await tapRetry(page);
  const room = liveRoom.rooms[0];
  await joined(room);
  page.instance.onUnload();
  expect(room.leave).toHaveBeenCalled();
});

test('coming back to the app or the network returning reconnects at once; leaving stops listening', async () => {
  let listener = null;
  h.wx.onNetworkStatusChange = jest.fn((fn) => {
    listener = fn;
  });
  h.wx.offNetworkStatusChange = jest.fn();
  const { page, room } = await openRoom();
  await joined(room);
  page.instance.onShow();
  expect(room.client.reconnectNow).toHaveBeenCalledTimes(1);
  listener({ isConnected: false, networkType: 'none' });
  expect(room.client.reconnectNow).toHaveBeenCalledTimes(1);
  listener({ isConnected: true, networkType: '4g' });
  expect(room.client.reconnectNow).toHaveBeenCalledTimes(2);
  page.instance.onUnload();
  expect(h.wx.offNetworkStatusChange).toHaveBeenCalledWith(listener);
  expect(room.leave).toHaveBeenCalled();
});
