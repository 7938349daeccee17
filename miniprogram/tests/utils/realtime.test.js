/**
 * @jest-environment node
 *
 * The hand-written Socket.IO client against a scripted server over a fake wx.connectSocket.
 * `node` environment on purpose: no window, no WebSocket, as in a mini-program.
 */
const { RealtimeClient, decodeSocketPacket, encodeSocketPacket } = require('../../packageLive/utils/realtime');
const { FakeLiveServer } = require('./support/fake-socket');

/** Let `ms` pass, then let the exchanges it started (answers scheduled "now") finish. */
async function tick(ms = 0) {
  await jest.advanceTimersByTimeAsync(ms);
  for (let i = 0; i < 5; i += 1) await jest.advanceTimersByTimeAsync(0);
}

let server;
let token;

function client(options) {
  return new RealtimeClient(
    Object.assign(
      {
        url: 'ws://127.0.0.1:8000',
        getToken: () => token,
        connectSocket: server.connectSocket,
        random: () => 1, // no jitter: the backoff steps are exact
      },
      options,
    ),
  );
}

/** What the client sent on `task`, without the Engine.IO/Socket.IO framing of events. */
function sentEvents(task) {
  return task.sent.filter((t) => t.startsWith('42')).map((t) => decodeSocketPacket(t.slice(1)));
}

beforeEach(() => {
  jest.useFakeTimers();
  token = 'T1';
  server = new FakeLiveServer({
    tokens: ['T1', 'T2'],
    events: {
      join: (data) => ({ ok: true, data: { session_id: data.session_id, viewers: 1 } }),
      grab: () => ({ ok: false, error: { code: 'live.rain_empty', message: '红包已抢完' } }),
      slow: () => undefined, // never answered
    },
  });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('packets', () => {
  test.each([
    ['0/live,{"sid":"x"}', { type: 0, namespace: '/live', id: null, payload: { sid: 'x' } }],
    [
      '2/live,["product",{"id":1}]',
      { type: 2, namespace: '/live', id: null, payload: ['product', { id: 1 }] },
    ],
    ['3/live,12[{"ok":true}]', { type: 3, namespace: '/live', id: 12, payload: [{ ok: true }] }],
    ['1/live,', { type: 1, namespace: '/live', id: null, payload: undefined }],
    ['2["hello"]', { type: 2, namespace: '/', id: null, payload: ['hello'] }],
    ['37[1]', { type: 3, namespace: '/', id: 7, payload: [1] }],
  ])('decodes %s', (text, packet) => {
    expect(decodeSocketPacket(text)).toEqual(packet);
  });

  test('encodes with the Engine.IO message prefix', () => {
    expect(encodeSocketPacket(0, '/live', null, { token: 't' })).toBe('40/live,{"token":"t"}');
    expect(encodeSocketPacket(2, '/live', 3, ['grab', { rain_id: 1 }])).toBe(
      '42/live,3["grab",{"rain_id":1}]',
    );
    expect(encodeSocketPacket(1, '/live')).toBe('41/live,');
    expect(encodeSocketPacket(2, '/', null, ['x'])).toBe('42["x"]');
  });
});

describe('connecting', () => {
  test('over websocket only, with the access token as auth', async () => {
    const rt = client();
    const connected = jest.fn();
    rt.on('connect', connected);
    const ready = rt.connect();
    await tick();
    await ready;
    expect(server.connectSocket).toHaveBeenCalledTimes(1);
    expect(server.last.url).toBe('ws://127.0.0.1:8000/socket.io/?EIO=4&transport=websocket');
    expect(server.last.sent[0]).toBe('40/live,{"token":"T1"}');
    expect(rt.connected).toBe(true);
    expect(connected).toHaveBeenCalledWith({ sid: 'sid-1', reconnected: false });
  });

  test("answers the server's pings", async () => {
    const rt = client();
    rt.connect();
    await tick();
    server.last.serverSends('2');
    expect(server.last.sent).toEqual(['40/live,{"token":"T1"}', '3']);
  });

  test('a silent server is a lost one: reconnect after pingInterval + pingTimeout', async () => {
    const rt = client();
    const lost = jest.fn();
    rt.on('disconnect', lost);
    rt.connect();
    await tick();
    await tick(40000);
    server.last.serverSends('2'); // the heartbeat starts again from here
    await tick(44999);
    expect(lost).not.toHaveBeenCalled();
    await tick(1);
    expect(lost).toHaveBeenCalledWith('ping timeout');
    expect(server.tasks[0].closed).toBe(true);
    await tick(1000);
    expect(server.tasks).toHaveLength(2);
    expect(rt.connected).toBe(true);
  });
});

describe('events', () => {
  test('emit resolves to the acknowledgement', async () => {
    const rt = client();
    rt.connect();
    await tick();
    const joined = rt.emit('join', { session_id: 7 });
    await tick();
    expect(await joined).toEqual({ ok: true, data: { session_id: 7, viewers: 1 } });
    const refused = rt.emit('grab', { rain_id: 3 });
    await tick();
    expect(await refused).toEqual({
      ok: false,
      error: { code: 'live.rain_empty', message: '红包已抢完' },
    });
    expect(sentEvents(server.last).map((p) => [p.id, p.payload])).toEqual([
      [0, ['join', { session_id: 7 }]],
      [1, ['grab', { rain_id: 3 }]],
    ]);
  });

  test('an unanswered emit resolves to realtime.timeout', async () => {
    const rt = client({ ackTimeoutMs: 3000 });
    rt.connect();
    await tick();
    const answer = rt.emit('slow', {}, { timeoutMs: 500 });
    await tick(500);
    expect(await answer).toEqual({
      ok: false,
      error: { code: 'realtime.timeout', message: '服务器响应超时，请稍后重试' },
    });
  });

  test('emit while not connected resolves to realtime.disconnected at once', async () => {
    const rt = client();
    expect(await rt.emit('join', { session_id: 1 })).toEqual({
      ok: false,
      error: { code: 'realtime.disconnected', message: '连接已断开，正在重新连接' },
    });
  });

  test("the server's pushes reach their handlers; off() stops them", async () => {
    const rt = client();
    const cards = [];
    const off = rt.on('product', (card) => cards.push(card));
    rt.on('product', () => {
      throw new Error('a broken page handler');
    });
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    rt.connect();
    await tick();
    server.push('product', { product_id: 5, live_price_fen: 159900 });
    off();
    server.push('product', { product_id: 6 });
    expect(cards).toEqual([{ product_id: 5, live_price_fen: 159900 }]);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  test('pushes for another namespace are ignored', async () => {
    const rt = client();
    const seen = jest.fn();
    rt.on('product', seen);
    rt.connect();
    await tick();
    server.last.serverSends('42/console,["product",{}]');
    expect(seen).not.toHaveBeenCalled();
  });
});

describe('reconnecting', () => {
  test('with backoff, a fresh token, and a reconnect event; calls in flight are told', async () => {
    const rt = client();
    const seen = [];
    ['disconnect', 'reconnecting', 'reconnect'].forEach((name) =>
      rt.on(name, (data) => seen.push([name, data])),
    );
    rt.connect();
    await tick();
    const inFlight = rt.emit('slow', {});
    token = 'T2'; // refreshed meanwhile by the API client
    server.last.drop();
    expect(await inFlight).toMatchObject({ ok: false, error: { code: 'realtime.disconnected' } });
    expect(rt.connected).toBe(false);
    await tick(999);
    expect(server.tasks).toHaveLength(1);
    await tick(1);
    expect(server.tasks).toHaveLength(2);
    expect(server.last.sent[0]).toBe('40/live,{"token":"T2"}');
    expect(rt.connected).toBe(true);
    expect(seen).toEqual([
      ['disconnect', 'transport close'],
      ['reconnecting', { attempt: 1, delayMs: 1000 }],
      ['reconnect', { sid: 'sid-2' }],
    ]);
  });

  test('server_restart: leave at once, come back within its window, back off after', async () => {
    const rt = client({ random: () => 0.5, connectTimeoutMs: 100 });
    const seen = [];
    ['server_restart', 'disconnect', 'reconnecting', 'reconnect'].forEach((name) =>
      rt.on(name, (data) => seen.push([name, data])),
    );
    rt.connect();
    await tick();
    server.last.serverSends('42/live,["server_restart",{"reconnect_in_ms":3000}]');
    expect(server.tasks[0].closed).toBe(true);
    expect(rt.connected).toBe(false);
    server.autoOpen = false; // the first process back is not answering yet
    await tick(1499);
    expect(server.tasks).toHaveLength(1);
    await tick(1);
    expect(server.tasks).toHaveLength(2);
    server.autoOpen = true;
    await tick(1599); // its connect timeout, then the usual step (attempt 2: 2 s, jittered)
    expect(server.tasks).toHaveLength(2);
    await tick(1);
    expect(rt.connected).toBe(true);
    expect(seen).toEqual([
      ['server_restart', { reconnect_in_ms: 3000 }],
      ['disconnect', 'server restart'],
      ['reconnecting', { attempt: 1, delayMs: 1500 }],
      ['reconnecting', { attempt: 2, delayMs: 1500 }],
      ['reconnect', { sid: 'sid-3' }],
    ]);
  });

  test('the wait doubles up to its cap, with jitter between half and all of it', async () => {
    server.autoOpen = false; // the network is gone: sockets never answer
    const rt = client({ connectTimeoutMs: 100, reconnectDelayMaxMs: 5000, random: () => 0 });
    const delays = [];
    rt.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    rt.connect();
    await tick(0);
    while (delays.length < 6) await tick(50);
    expect(delays).toEqual([500, 1000, 2000, 2500, 2500, 2500]);
  });

  test('reconnectNow skips the wait (the app came back to the foreground)', async () => {
    const rt = client();
    rt.connect();
    await tick();
    server.last.drop();
    rt.reconnectNow();
    await tick();
    expect(server.tasks).toHaveLength(2);
    expect(rt.connected).toBe(true);
  });

  test('a refused token is renewed once, then the client connects with the new one', async () => {
    token = 'expired';
    const renewToken = jest.fn(async () => {
      token = 'T2';
    });
    const rt = client({ renewToken });
    const ready = rt.connect();
    await tick();
    await tick();
    await ready;
    expect(renewToken).toHaveBeenCalledTimes(1);
    expect(server.tasks.map((t) => t.sent[0])).toEqual([
      '40/live,{"token":"expired"}',
      '40/live,{"token":"T2"}',
    ]);
    expect(server.tasks[0].closed).toBe(true);
  });

  test('a token refused again after renewal is final: connect_error, no more tries', async () => {
    token = 'expired';
    const renewToken = jest.fn(async () => {}); // "renewed", but still refused
    const rt = client({ renewToken });
    const refusals = [];
    rt.on('connect_error', (e) => refusals.push(e));
    const ready = rt.connect().catch((e) => e);
    await tick();
    await tick();
    expect(await ready).toEqual({
      code: 'auth.token_invalid',
      message: '登录凭证无效，请重新登录',
    });
    expect(refusals).toHaveLength(1);
    await tick(60000);
    expect(server.tasks).toHaveLength(2);
    expect(rt.status).toBe('closed');
  });

  test('without renewToken a refusal is final at once', async () => {
    token = 'expired';
    const rt = client();
    const ready = rt.connect().catch((e) => e.code);
    await tick();
    expect(await ready).toBe('auth.token_invalid');
    await tick(60000);
    expect(server.tasks).toHaveLength(1);
  });
});

describe('closing', () => {
  test('close() says goodbye to the namespace and never reconnects', async () => {
    const rt = client();
    const lost = jest.fn();
    rt.on('disconnect', lost);
    rt.connect();
    await tick();
    const task = server.last;
    rt.close();
    expect(task.sent[task.sent.length - 1]).toBe('41/live,');
    expect(task.closed).toBe(true);
    expect(lost).toHaveBeenCalledWith('io client disconnect');
    task.handlers.close({ code: 1000 }); // the socket's own close event, late
    await tick(60000);
    expect(server.tasks).toHaveLength(1);
  });

  test('close() before the connection is made stops it', async () => {
    const rt = client();
    const ready = rt.connect().catch((e) => e.code);
    rt.close();
    expect(await ready).toBe('realtime.closed');
    await tick(60000);
    expect(server.tasks.length).toBeLessThanOrEqual(1);
    expect(rt.status).toBe('closed');
  });

  test('a DISCONNECT from the server is respected: no reconnection', async () => {
    const rt = client();
    const lost = jest.fn();
    rt.on('disconnect', lost);
    rt.connect();
    await tick();
    server.last.serverSends('41/live,');
    expect(lost).toHaveBeenCalledWith('io server disconnect');
    await tick(60000);
    expect(server.tasks).toHaveLength(1);
  });
});

test('a connectSocket that throws is retried after the backoff', async () => {
  let calls = 0;
  const rt = client({
    connectSocket: (options) => {
      calls += 1;
      if (calls === 1) throw new Error('connectSocket:fail too many sockets');
      return server.connectSocket(options);
    },
  });
  const ready = rt.connect();
  await tick();
  expect(rt.status).toBe('waiting');
  await tick(1000);
  await ready;
  expect(calls).toBe(2);
  expect(rt.connected).toBe(true);
});
