/**
 * @jest-environment node
 */
const { installFakeWx, errorBody, NETWORK_DOWN } = require('./support/fake-wx');

let fake;
let track;
let session;

const STORE = { user_id: 7, role: 'store_owner', store_id: 3, brand_id: 1 };

beforeEach(() => {
  jest.useFakeTimers();
  jest.resetModules(); // a fresh tracker: empty memory, no timer
  fake = installFakeWx();
  track = require('../../utils/track');
  session = require('../../utils/session');
});

afterEach(() => {
  track.reset();
  jest.useRealTimers();
  delete global.wx;
});

function signedIn(identity = STORE, access = 'A1') {
  session.saveSession({ access_token: access, refresh_token: 'R1', expires_in: 900, identity });
}

const accepted = (call) => ({
  status: 200,
  body: { accepted: call.data.events.length, duplicates: 0, dropped: 0 },
});

/** Let the fake server answer and the tracker take the answer in. */
async function settle() {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

function stored() {
  return fake.storage.get(track.STORAGE_KEY) || [];
}

describe('what is recorded', () => {
  test('each helper queues its event in storage, with no personal data', () => {
    signedIn();
    track.pageView({ route: 'pages/catalog/index' });
    track.pageView('/pages/product/index?product_id=5&phone=13800000000');
    track.search('  滤芯 ', 0);
    track.productView(5, 9);
    track.addToCart('9', '5');
    track.checkout();
    track.order();
    const events = stored();
    expect(events.map((e) => e.kind)).toEqual([
      'page_view',
      'page_view',
      'search',
      'product_view',
      'add_to_cart',
      'checkout',
      'order',
    ]);
    expect(events[0].page).toBe('pages/catalog/index');
    expect(events[1].page).toBe('pages/product/index'); // the query never leaves the phone
    expect(events[2]).toMatchObject({ term: '滤芯', results: 0 });
    expect(events[3]).toMatchObject({ product_id: 5, sku_id: 9 });
    expect(events[4]).toMatchObject({ product_id: 5, sku_id: 9 });
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    events.forEach((e) => {
      expect(e.id.length).toBeLessThanOrEqual(40);
      expect(new Date(e.at).toISOString()).toBe(e.at);
    });
    expect(fake.calls).toEqual([]); // nothing sent before 10 seconds or 20 events
  });

  test('only a signed-in store user is tracked; an empty search is not', () => {
    track.pageView('pages/home/index');
    signedIn({ user_id: 8, role: 'salesperson', store_id: null });
    track.pageView('pages/home/index');
    signedIn();
    track.search('   ', 3);
    expect(stored()).toEqual([]);
  });

  test('nothing a page passes makes it throw, even with storage and network failing', () => {
    signedIn();
    fake.wx.setStorageSync = () => {
      throw new Error('storage full');
    };
    fake.wx.request = () => {
      throw new Error('request broken');
    };
    expect(() => {
      track.pageView(undefined);
      track.pageView(null);
      track.search(null, 'many');
      track.productView('x');
      track.addToCart();
      for (let i = 0; i < 25; i += 1) track.checkout();
    }).not.toThrow();
    return expect(track.flush()).resolves.toBeUndefined();
  });
});

describe('sending', () => {
  test('a batch goes out after 10 seconds with the token, and leaves the queue', async () => {
    signedIn();
    fake.serve(accepted);
    track.pageView('pages/home/index');
    track.search('净水器', 12);
    jest.advanceTimersByTime(9999);
    expect(fake.calls).toEqual([]);
    jest.advanceTimersByTime(1);
    await settle();
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/analytics/events');
    expect(call.header.Authorization).toBe('Bearer A1');
    expect(call.data.events.map((e) => e.kind)).toEqual(['page_view', 'search']);
    expect(call.data.events[0].u).toBeUndefined(); // the local owner mark stays local
    expect(stored()).toEqual([]);
  });

  test('20 waiting events go at once; more than 50 go 50 a request', async () => {
    signedIn();
    fake.serve(accepted);
    for (let i = 0; i < 19; i += 1) track.pageView('pages/home/index');
    expect(fake.calls).toHaveLength(0);
    track.pageView('pages/home/index');
    await settle();
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0].data.events).toHaveLength(20);

    fake.serve(() => NETWORK_DOWN);
    for (let i = 0; i < 60; i += 1) track.productView(i + 1);
    await settle();
    fake.serve(accepted);
    await track.flush();
    await settle();
    jest.runOnlyPendingTimers();
    await settle();
    const sizes = fake.calls.slice(-2).map((c) => c.data.events.length);
    expect(sizes).toEqual([50, 10]);
    expect(stored()).toEqual([]);
  });

  test('a lost answer is retried later with the same ids, kept across a restart', async () => {
    signedIn();
    fake.serve(() => NETWORK_DOWN);
    track.addToCart(9, 5);
    track.checkout();
    await track.flush();
    const first = fake.calls[0].data.events.map((e) => e.id);
    expect(stored().map((e) => e.id)).toEqual(first);

    // A server error: kept too, and tried again after a wait, not at once.
    fake.serve(() => ({ status: 503, body: errorBody('service.unavailable', '服务暂时不可用') }));
    jest.advanceTimersByTime(10000);
    await settle();
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1].data.events.map((e) => e.id)).toEqual(first);

    // The app is killed and started again: the queue comes back from storage.
    track.reset();
    jest.resetModules();
    track = require('../../utils/track');
    fake.serve(accepted);
    await track.flush();
    expect(fake.calls).toHaveLength(3);
    expect(fake.calls[2].data.events.map((e) => e.id)).toEqual(first);
    expect(stored()).toEqual([]);
  });

  test('a batch the server refuses as malformed is dropped, not retried forever', async () => {
    signedIn();
    fake.serve(() => ({ status: 422, body: errorBody('request.invalid', '请求参数不正确') }));
    track.order();
    await track.flush();
    expect(stored()).toEqual([]);
    // An expired token is not a refusal: the events wait for the refreshed one.
    fake.serve(() => ({ status: 401, body: errorBody('auth.token_expired', '登录已过期') }));
    track.order();
    await track.flush();
    expect(stored()).toHaveLength(1);
  });

  test("events of an earlier sign-in are not sent as the next user's", async () => {
    signedIn();
    fake.serve(() => NETWORK_DOWN);
    track.pageView('pages/home/index');
    await track.flush();
    signedIn({ ...STORE, user_id: 99 }, 'A2');
    fake.serve(accepted);
    track.pageView('pages/cart/index');
    await track.flush();
    const last = fake.calls[fake.calls.length - 1];
    expect(last.header.Authorization).toBe('Bearer A2');
    expect(last.data.events.map((e) => e.page)).toEqual(['pages/cart/index']);
    expect(stored()).toEqual([]);
  });

  test('a flush while one is under way waits for it instead of sending twice', async () => {
    signedIn();
    fake.serve(accepted);
    track.pageView('pages/home/index');
    const first = track.flush();
    const second = track.flush();
    expect(second).toBe(first);
    await first;
    expect(fake.calls).toHaveLength(1);
  });
});
