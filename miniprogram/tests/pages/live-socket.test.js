/**
 * The live room page over the real utils/live-room and utils/realtime, with `wx.connectSocket`
 * faked by a scripted Socket.IO server (tests/utils/support/fake-socket.js): the page joins,
 * follows pushes, shows 重新连接中… when the socket drops, and joins again by itself.
 */
jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts } = require('./support/harness');
const { route } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');
const { FakeLiveServer } = require('../utils/support/fake-socket');

const SKU = { id: 1, product_id: 10, name: 'RO-500 标准款', spec: '', unit: '台', list_price_fen: 180000, case_size: 1, min_order_qty: 1 };
const CARD = { product_id: 11, sku: SKU, live_price_fen: 159900, left: 30 };

let h;
let api;
let server;
let room; // what the fake server's room holds
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
  room = { card: null, viewers: 1, orders: 0, gmv_fen: 0 };
  server = new FakeLiveServer({
    tokens: ['access-1'],
    events: {
      join: (data) => ({
        ok: true,
        data: { session_id: data.session_id, status: 'live', card: room.card, pinned: null, viewers: room.viewers, likes: 0, orders: room.orders, gmv_fen: room.gmv_fen, rain: null },
      }),
      grab: (data) => ({ ok: true, data: { ok: true, rain_id: data.rain_id, amount_fen: 1288, again: false } }),
    },
  });
  h.wx.connectSocket = server.connectSocket;
  jest.spyOn(Math, 'random').mockReturnValue(0); // the shortest reconnection wait (500 ms)
  route(api, {
    'GET /live/sessions/7': { id: 7, title: '年终直播订货会', status: 'live', products: [], rains: [], coupon_drops: [], draws: [] },
  });
});

afterEach(() => {
  Math.random.mockRestore();
});

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('joins over the socket, follows pushes, and rejoins after the link drops', async () => {
  const page = h.page('packageLive/pages/room');
  await page.instance.onLoad({ id: '7' });
  await flush(10);
  expect(server.connectSocket).toHaveBeenCalledTimes(1);
  expect(server.connectSocket.mock.calls[0][0].url).toBe('ws://127.0.0.1:8000/socket.io/?EIO=4&transport=websocket');
  expect(server.received).toEqual([['join', { session_id: 7 }]]);
  expect(textOf(page)).toContain('1 人在看');

  server.push('product', CARD);
  await flush();
  expect(texts(page, '.live-price')).toEqual(['直播价 ¥1,599.00']);

  // The network goes; meanwhile the room moves on.
  server.last.drop();
  await flush();
  expect(texts(page, '.connection')).toEqual(['重新连接中…']);
  Object.assign(room, { card: Object.assign({}, CARD, { left: 12 }), viewers: 20, orders: 18, gmv_fen: 2878200 });

  await wait(600);
  await flush(10);
  expect(server.connectSocket).toHaveBeenCalledTimes(2);
  expect(server.received.filter(([name]) => name === 'join')).toEqual([['join', { session_id: 7 }], ['join', { session_id: 7 }]]);
  expect(page.querySelectorAll('.connection')).toHaveLength(0);
  expect(textOf(page)).toContain('20 人在看');
  expect(texts(page, '.card-live-left')).toEqual(['剩余 12台']);
  expect(texts(page, '.ticker-gmv')).toEqual(['¥28,782.00']);

  // A rain over the new connection, grabbed through it.
  server.push('rain', { id: 5, total_fen: 100000, count: 50, status: 'running' });
  await flush();
  page.querySelector('.rain-grab').dispatchEvent('tap');
  await flush(10);
  expect(server.received).toContainEqual(['grab', { rain_id: 5 }]);
  expect(texts(page, '.rain-amount')).toEqual(['¥12.88']);

  page.instance.onUnload();
  expect(server.last.closed).toBe(true);
});

test('pushes arriving out of order: the page keeps the newest ticker, card stock and viewers', async () => {
  const page = h.page('packageLive/pages/room');
  await page.instance.onLoad({ id: '7' });
  await flush(10);
  server.push('product', Object.assign({}, CARD, { version: 2 }));
  // Sent 7 orders (23 left) then 10 orders (20 left); they arrive the other way round.
  server.push('ticker', { orders: 10, gmv_fen: 1599000, product_id: 11, left: 20, version: 9 });
  server.push('ticker', { orders: 7, gmv_fen: 1119300, product_id: 11, left: 23, version: 6 });
  server.push('viewers', { count: 40, version: 11 });
  server.push('viewers', { count: 38, version: 10 });
  await flush();
  expect(texts(page, '.ticker-gmv')).toEqual(['¥15,990.00']);
  expect(texts(page, '.card-live-left')).toEqual(['剩余 20台']);
  expect(textOf(page)).toContain('40 人在看');
  page.instance.onUnload();
});
