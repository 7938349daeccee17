/**
 * @jest-environment node
 *
 * The room controller over the real RealtimeClient, against a scripted /live server.
 */
const { RealtimeClient } = require('../../packageLive/utils/realtime');
const { joinRoom } = require('../../packageLive/utils/live-room');
const { FakeLiveServer } = require('./support/fake-socket');

async function tick(ms = 0) {
  await jest.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 5; i += 1) await jest.advanceTimersByTimeAsync(0);
}

const CARD = { product_id: 11, sku: { name: 'RO-500' }, live_price_fen: 159900, left: 30 };

let server;
let joins;

function stateOf(sessionId) {
  return {
    session_id: sessionId,
    status: 'live',
    card: null,
    pinned: null,
    viewers: joins,
    likes: 0,
    orders: 0,
    gmv_fen: 0,
    rain: null,
  };
}

function room(sessionId = 7) {
  const client = new RealtimeClient({
    url: 'ws://127.0.0.1:8000',
    getToken: () => 'T1',
    connectSocket: server.connectSocket,
    random: () => 1,
  });
  return joinRoom(sessionId, { client, random: () => 1 });
}

beforeEach(() => {
  jest.useFakeTimers();
  joins = 0;
  server = new FakeLiveServer({
    tokens: ['T1'],
    events: {
      join: (data) => {
        if (data.session_id !== 7) {
          return { ok: false, error: { code: 'live.session_not_found', message: '直播不存在' } };
        }
        joins += 1;
        return { ok: true, data: stateOf(data.session_id) };
      },
      grab: (data) => ({
        ok: true,
        data: { ok: true, rain_id: data.rain_id, amount_fen: 188, again: false },
      }),
      grab_coupon: (data) => ({ ok: true, data: { drop_id: data.drop_id, left: 9, again: false } }),
      chat: (data) => ({ ok: true, data: { text: data.text } }),
      like: (data) => ({ ok: true, data: { total: data.count } }),
      state: () => ({ ok: true, data: Object.assign(stateOf(7), { likes: 99 }) }),
    },
  });
});

afterEach(() => {
  jest.useRealTimers();
});

test('joins the session and hands the page its whole state', async () => {
  const r = room();
  const connection = [];
  const joined = jest.fn();
  r.on('connection', (status) => connection.push(status));
  r.on('joined', joined);
  await tick();
  expect(await r.ready).toMatchObject({ session_id: 7, status: 'live' });
  expect(server.received[0]).toEqual(['join', { session_id: 7 }]);
  expect(joined).toHaveBeenCalledTimes(1);
  expect(connection).toEqual(['live']); // 'connecting' was told before anyone listened
  expect(r.state.viewers).toBe(1);
});

test('pushes reach the page and keep room.state whole', async () => {
  const r = room();
  const cards = [];
  r.on('product', (card) => cards.push(card));
  await tick();
  server.push('product', CARD);
  server.push('viewers', { count: 3 });
  server.push('likes', { total: 12 });
  server.push('pinned', { text: '满 3 台送滤芯', at: '2026-11-01T12:00:00+00:00' });
  server.push('ticker', { orders: 2, gmv_fen: 319800, product_id: 11, left: 28 });
  server.push('rain', { id: 4, total_fen: 10000, count: 50, status: 'running' });
  server.push('session', { status: 'ended' });
  expect(cards).toEqual([CARD]);
  expect(r.state).toMatchObject({
    card: Object.assign({}, CARD, { left: 28 }),
    viewers: 3,
    likes: 12,
    pinned: { text: '满 3 台送滤芯' },
    orders: 2,
    gmv_fen: 319800,
    rain: { id: 4, status: 'running', mine: null },
    status: 'ended',
  });
  server.push('rain_result', {
    id: 4,
    status: 'ended',
    results: [{ store_id: 1, amount_fen: 10000 }],
  });
  expect(r.state.rain).toMatchObject({ id: 4, status: 'ended', results: [{ store_id: 1 }] });
});

// A room whose joins (viewers seen) and connection states are noted as they come.
function watched(r) {
  const joined = [];
  const connection = [];
  r.on('joined', (state) => joined.push(state.viewers));
  r.on('connection', (status) => connection.push(status));
  return { r, joined, connection };
}

test('after a reconnection it joins again and the page gets the whole state again', async () => {
  const { joined, connection } = watched(room());
  await tick();
  server.last.drop();
  expect(connection).toEqual(['live', 'reconnecting']);
  await tick(1000);
  expect(server.tasks).toHaveLength(2);
  expect(server.received.map(([name]) => name)).toEqual(['join', 'join']);
  expect(joined).toEqual([1, 2]);
  expect(connection).toEqual(['live', 'reconnecting', 'live']);
});

test('a restarting server sends the room to another process: it joins there again', async () => {
  const { joined, connection } = watched(room());
  await tick();
  server.last.serverSends('42/live,["server_restart",{"reconnect_in_ms":2000}]');
  expect(connection).toEqual(['live', 'reconnecting']);
  await tick(2000);
  expect(server.tasks).toHaveLength(2);
  expect(server.received.map(([name]) => name)).toEqual(['join', 'join']);
  expect(joined).toEqual([1, 2]);
  expect(connection).toEqual(['live', 'reconnecting', 'live']);
});

test('grab, grabCoupon, chat and like send what the server reads', async () => {
  const r = room();
  await tick();
  server.push('rain', { id: 4, status: 'running' });
  const answers = await Promise.all([
    r.grab(4),
    r.grabCoupon(6),
    r.chat('这款多少钱？'),
    r.like(3),
    r.like(),
    tick(),
  ]);
  expect(server.received.slice(1)).toEqual([
    ['grab', { rain_id: 4 }],
    ['grab_coupon', { drop_id: 6 }],
    ['chat', { text: '这款多少钱？' }],
    ['like', { count: 3 }],
    ['like', { count: 1 }],
  ]);
  expect(answers[0]).toEqual({
    ok: true,
    data: { ok: true, rain_id: 4, amount_fen: 188, again: false },
  });
  expect(answers[3]).toEqual({ ok: true, data: { total: 3 } });
  expect(r.state.rain.mine).toEqual({ rain_id: 4, amount_fen: 188 });
});

test('refresh asks for the state again', async () => {
  const r = room();
  await tick();
  const [answer] = await Promise.all([r.refresh(), tick()]);
  expect(answer.ok).toBe(true);
  expect(r.state.likes).toBe(99);
});

test('a session the store may not join ends the room: no reconnecting', async () => {
  const r = room(999);
  const errors = [];
  const connection = [];
  r.on('connection', (status) => connection.push(status));
  r.on('error', (e) => errors.push(e.code));
  await tick();
  await expect(r.ready).rejects.toEqual({ code: 'live.session_not_found', message: '直播不存在' });
  expect(errors).toEqual(['live.session_not_found']);
  expect(connection).toEqual(['closed']);
  expect(r.client.status).toBe('closed');
  await tick(60000);
  expect(server.tasks).toHaveLength(1);
});

test('a busy server (db_busy) is asked again on the same connection, later each time', async () => {
  let refusals = 2;
  const join = server.events.join;
  server.events.join = (data) => {
    if (refusals > 0) {
      refusals -= 1;
      return { ok: false, error: { code: 'db_busy', message: '系统繁忙，请稍后再试' } };
    }
    return join(data);
  };
  const r = room();
  const errors = [];
  const joined = [];
  r.on('error', (e) => errors.push(e.code));
  r.on('joined', (state) => joined.push(state.viewers));
  await tick();
  expect(errors).toEqual(['db_busy']);
  await tick(1000); // the first try again waits 1 s (random() is 1 here)
  expect(server.received.map(([name]) => name)).toEqual(['join', 'join']);
  expect(errors).toEqual(['db_busy', 'db_busy']);
  await tick(1999); // then 2 s
  expect(server.received).toHaveLength(2);
  await tick(1);
  expect(joined).toEqual([1]);
  await expect(r.ready).resolves.toMatchObject({ session_id: 7 });
  expect(server.tasks).toHaveLength(1); // one connection throughout
});

test('a room left while waiting to ask a busy server again asks nothing more', async () => {
  server.events.join = () => ({ ok: false, error: { code: 'db_busy', message: '系统繁忙，请稍后再试' } });
  const r = room();
  await tick();
  r.leave();
  await tick(60000);
  expect(server.received).toHaveLength(1);
});

test('leave closes the connection for good', async () => {
  const r = room();
  const connection = [];
  r.on('connection', (status) => connection.push(status));
  await tick();
  r.leave();
  r.leave(); // twice, from onHide and onUnload: harmless
  expect(connection).toEqual(['live', 'closed']);
  expect(server.last.closed).toBe(true);
  await tick(60000);
  expect(server.tasks).toHaveLength(1);
});

test('a push older than what is shown is dropped, for room.state and the page alike', async () => {
  const r = room();
  const tickers = [];
  const viewers = [];
  const lefts = [];
  r.on('ticker', (t) => tickers.push(t.orders));
  r.on('viewers', (v) => viewers.push(v.count));
  r.on('drop_left', (d) => lefts.push([d.id, d.left]));
  await tick();
  // Sent as 7 then 10 orders, they arrive the other way round: 10 stays.
  server.push('ticker', { orders: 10, gmv_fen: 1599000, product_id: 11, left: 20, version: 9 });
  server.push('ticker', { orders: 7, gmv_fen: 1119300, product_id: 11, left: 23, version: 6 });
  expect(tickers).toEqual([10]);
  expect(r.state).toMatchObject({ orders: 10, gmv_fen: 1599000 });
  // Two coupons left, then none: a late "2 left" does not bring them back.
  server.push('drop_left', { id: 4, left: 0, version: 12 });
  server.push('drop_left', { id: 4, left: 2, version: 11 });
  // Each counter has its own newest: another drop's older version still counts.
  server.push('drop_left', { id: 5, left: 8, version: 10 });
  expect(lefts).toEqual([[4, 0], [5, 8]]);
  server.push('viewers', { count: 30, version: 14 });
  server.push('viewers', { count: 31, version: 13 });
  server.push('viewers', { count: 29, version: 15 });
  expect(viewers).toEqual([30, 29]);
  expect(r.state.viewers).toBe(29);
  // A push without a version (a server before versions) is shown as it comes.
  server.push('viewers', { count: 5 });
  expect(r.state.viewers).toBe(5);
});

test("the card keeps the newest stock left, whether the ticker or the card says it", async () => {
  const r = room();
  const cards = [];
  r.on('product', (card) => cards.push(card.left));
  await tick();
  server.push('product', Object.assign({}, CARD, { left: 30, version: 3 }));
  // A cancellation gives one back (ticker and card, same version), after an order's ticker
  // that was sent earlier but arrives later.
  server.push('ticker', { orders: 4, gmv_fen: 639600, product_id: 11, left: 27, version: 8 });
  server.push('product', Object.assign({}, CARD, { left: 27, version: 8 }));
  server.push('ticker', { orders: 5, gmv_fen: 799500, product_id: 11, left: 26, version: 7 });
  expect(r.state.card.left).toBe(27);
  expect(r.state.orders).toBe(4);
  // A card pushed again by the host whose stock was read before the last ticker keeps the
  // ticker's newer stock.
  server.push('ticker', { orders: 6, gmv_fen: 959400, product_id: 11, left: 25, version: 10 });
  server.push('product', Object.assign({}, CARD, { left: 26, version: 9 }));
  expect(r.state.card.left).toBe(25);
  expect(cards).toEqual([30, 27, 25]);
});

test('a (re)join state counts as its version for every counter', async () => {
  server.events.join = () => {
    joins += 1;
    return { ok: true, data: Object.assign(stateOf(7), { orders: 9, version: 20, card: CARD }) };
  };
  const r = room();
  await tick();
  server.push('ticker', { orders: 8, gmv_fen: 1, product_id: 11, left: 31, version: 19 });
  expect(r.state).toMatchObject({ orders: 9, card: { left: 30 } });
  server.push('ticker', { orders: 10, gmv_fen: 2, product_id: 11, left: 29, version: 21 });
  expect(r.state).toMatchObject({ orders: 10, card: { left: 29 } });
});
