/**
 * @jest-environment node
 */
const { installFakeWx, errorBody, NETWORK_DOWN } = require('./support/fake-wx');

let fake;
let api;
let session;

beforeEach(() => {
  jest.resetModules(); // a fresh client: no refresh in flight, no random pool
  fake = installFakeWx();
  api = require('../../utils/api');
  session = require('../../utils/session');
  api.settings.retryDelaysMs = [1, 1];
});

afterEach(() => {
  delete global.wx;
});

function signedIn(access = 'A1', refresh = 'R1') {
  session.saveSession({
    access_token: access,
    refresh_token: refresh,
    expires_in: 900,
    identity: { role: 'store_owner', store_id: 7 },
  });
}

const ok = (body) => ({ status: 200, body });
const bearer = (call) => call.header.Authorization;

describe('answers', () => {
  test('a GET resolves to the JSON body, with the token and the query', async () => {
    signedIn();
    fake.serve(() => ok({ items: [{ id: 1 }] }));
    const body = await api.get('/orders', { status: 'paid', page: 2, q: '净水 器', none: null });
    expect(body).toEqual({ items: [{ id: 1 }] });
    const [call] = fake.calls;
    expect(call.method).toBe('GET');
    expect(call.path).toBe('/orders');
    expect(call.query).toBe('status=paid&page=2&q=%E5%87%80%E6%B0%B4%20%E5%99%A8');
    expect(bearer(call)).toBe('Bearer A1');
    expect(call.header['Idempotency-Key']).toBeUndefined();
  });

  test('post, put and del send their method and body', async () => {
    signedIn();
    fake.serve((call) => ok({ method: call.method, data: call.data || null }));
    expect(await api.post('/cart/lines', { sku_id: 1 })).toEqual({
      method: 'POST',
      data: { sku_id: 1 },
    });
    expect(await api.put('/cart/lines/1', { quantity: 3 })).toEqual({
      method: 'PUT',
      data: { quantity: 3 },
    });
    expect(await api.del('/cart/lines/1')).toEqual({ method: 'DELETE', data: null });
    expect(fake.calls.map((c) => c.path)).toEqual([
      '/cart/lines',
      '/cart/lines/1',
      '/cart/lines/1',
    ]);
  });

  test('the API base can be changed on the phone', async () => {
    fake.wx.setStorageSync('b2bc.apiBase', 'https://b2b.example.com/');
    fake.serve(() => ok({}));
    await api.get('/catalog/skus');
    expect(fake.calls[0].url).toBe('https://b2b.example.com/api/v1/catalog/skus');
    expect(require('../../config').realtimeBase()).toBe('wss://b2b.example.com');
  });
});

describe('errors', () => {
  test("the server's error becomes an ApiError with its code, message and details", async () => {
    signedIn();
    const details = [{ field: 'lines', message: '至少一行' }];
    fake.serve(() => ({
      status: 422,
      body: errorBody('validation.failed', '请求格式不正确', details),
    }));
    const error = await api.post('/quote', { lines: [] }).catch((e) => e);
    expect(error).toBeInstanceOf(api.ApiError);
    expect(error).toMatchObject({
      code: 'validation.failed',
      message: '请求格式不正确',
      status: 422,
      details,
    });
  });

  test('a 409 refusal is not retried and keeps its message', async () => {
    signedIn();
    fake.serve(() => ({ status: 409, body: errorBody('ordering.out_of_stock', '库存不足') }));
    const error = await api.post('/orders', {}, { idempotencyKey: 'k1' }).catch((e) => e);
    expect([error.code, error.message, error.status]).toEqual([
      'ordering.out_of_stock',
      '库存不足',
      409,
    ]);
    expect(fake.calls).toHaveLength(1);
  });

  test("an answer that is not ours (a proxy's 502 page) still reads well", async () => {
    fake.serve(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    const error = await api.get('/healthz').catch((e) => e);
    expect(error).toMatchObject({
      code: 'http.502',
      status: 502,
      message: '服务暂时不可用，请稍后重试',
    });
  });
});

describe('lost networks', () => {
  test('a GET is retried twice, then fails with network.failed', async () => {
    fake.serve(() => NETWORK_DOWN);
    const error = await api.get('/orders').catch((e) => e);
    expect(error).toMatchObject({
      code: 'network.failed',
      message: '网络不给力，请稍后重试',
      status: 0,
    });
    expect(fake.calls).toHaveLength(3);
  });

  test('a GET that gets through on a retry succeeds', async () => {
    let tries = 0;
    fake.serve(() => {
      tries += 1;
      return tries < 3 ? NETWORK_DOWN : ok({ fine: true });
    });
    expect(await api.get('/orders')).toEqual({ fine: true });
    expect(fake.calls).toHaveLength(3);
  });

  test('a POST without an idempotency key is never sent twice', async () => {
    signedIn();
    fake.serve(() => NETWORK_DOWN);
    const error = await api.post('/complaints', { text: '漏水' }).catch((e) => e);
    expect(error.code).toBe('network.failed');
    expect(fake.calls).toHaveLength(1);
  });

  test('a POST or PUT with a key is retried with the same key', async () => {
    signedIn();
    const key = api.newIdempotencyKey();
    let tries = 0;
    fake.serve(() => {
      tries += 1;
      return tries === 1 ? NETWORK_DOWN : { status: 201, body: { id: 42 } };
    });
    expect(await api.post('/orders', { lines: [] }, { idempotencyKey: key })).toEqual({ id: 42 });
    expect(fake.calls.map((c) => c.header['Idempotency-Key'])).toEqual([key, key]);
    expect(fake.calls[1].data).toEqual({ lines: [] });

    fake.serve(() => NETWORK_DOWN);
    await api.put('/x', {}, { idempotencyKey: 'same' }).catch(() => null);
    expect(fake.calls.slice(2).map((c) => c.header['Idempotency-Key'])).toEqual([
      'same',
      'same',
      'same',
    ]);
  });
});

/** A server whose access tokens `A<n>` expire, with rotating refresh tokens `R<n>`: a
 * refresh token used twice ends the sign-in, as on the real server. */
function rotatingServer({ refreshAnswer, slowPath } = {}) {
  const state = { current: 'A1', refreshes: 0, used: new Set(), live: 'R1' };
  fake.serve(async (call) => {
    if (call.path === '/auth/refresh') {
      state.refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 5)); // slow: others pile up meanwhile
      if (refreshAnswer) return refreshAnswer(call);
      const token = call.data.refresh_token;
      if (state.used.has(token) || token !== state.live) {
        return {
          status: 401,
          body: errorBody('auth.refresh_token_reused', '登录已失效，请重新登录'),
        };
      }
      state.used.add(token);
      const n = state.refreshes + 1;
      state.current = `A${n}`;
      state.live = `R${n}`;
      return ok({ access_token: state.current, refresh_token: state.live, expires_in: 900 });
    }
    if (call.path === slowPath) await new Promise((resolve) => setTimeout(resolve, 30));
    if (bearer(call) !== `Bearer ${state.current}`) {
      return { status: 401, body: errorBody('auth.token_expired', '登录已过期') };
    }
    return ok({ path: call.path, token: state.current });
  });
  return state;
}

describe('the session', () => {
  test('one refresh for all calls that met an expired token, then each is retried', async () => {
    signedIn('A0', 'R1'); // A0 has expired
    const server = rotatingServer();
    const answers = await Promise.all([
      api.get('/orders'),
      api.get('/coupons'),
      api.post('/cart/lines', { sku_id: 1 }),
    ]);
    expect(answers.map((a) => a.path)).toEqual(['/orders', '/coupons', '/cart/lines']);
    expect(server.refreshes).toBe(1);
    expect(fake.calls.filter((c) => c.path === '/auth/refresh')).toHaveLength(1);
    expect(fake.calls.find((c) => c.path === '/auth/refresh').data).toEqual({
      refresh_token: 'R1',
    });
    expect(session.getSession()).toMatchObject({ access_token: 'A2', refresh_token: 'R2' });
    // The refresh call carries no (expired) token.
    expect(bearer(fake.calls.find((c) => c.path === '/auth/refresh'))).toBeUndefined();
    expect(fake.wx.reLaunch).not.toHaveBeenCalled();
  });

  test('a 401 answered after another call refreshed retries with the new token', async () => {
    signedIn('A0', 'R1');
    const server = rotatingServer();
    await api.get('/orders'); // refreshes to A2
    server.current = 'A2';
    // A call sent with A0 before the refresh, answered after it:
    session.saveSession({ access_token: 'A2', refresh_token: 'R2' });
    expect(await api.get('/coupons')).toMatchObject({ token: 'A2' });
    expect(server.refreshes).toBe(1);
  });

  test('a refused refresh: session cleared, auth.expired, the login page once', async () => {
    signedIn('A0', 'R-stolen');
    rotatingServer({ slowPath: '/me' }); // R-stolen is not the live refresh token: refused
    // '/me' is sent with A0 too, but its 401 comes back after the refresh was refused.
    const late = api.get('/me').catch((e) => e);
    const errors = await Promise.all([
      api.get('/orders').catch((e) => e),
      api.get('/coupons').catch((e) => e),
    ]);
    expect(errors.map((e) => [e.code, e.status])).toEqual([
      ['auth.expired', 401],
      ['auth.expired', 401],
    ]);
    expect(errors[0].message).toBe('登录已过期，请重新登录');
    expect(session.getSession()).toBeNull();
    expect(fake.wx.reLaunch).toHaveBeenCalledTimes(1);
    expect(fake.wx.reLaunch).toHaveBeenCalledWith({ url: '/pages/login/index' });

    // The call answered 401 after that finds the session gone: no second refresh or redirect.
    expect((await late).code).toBe('auth.expired');
    expect(fake.calls.filter((c) => c.path === '/auth/refresh')).toHaveLength(1);
    expect(fake.wx.reLaunch).toHaveBeenCalledTimes(1);
  });

  test('the redirect is a hook', async () => {
    const ended = jest.fn();
    api.setAuthExpiredHandler(ended);
    fake.serve(() => ({ status: 401, body: errorBody('auth.token_missing', '请先登录') }));
    const error = await api.get('/orders').catch((e) => e);
    expect(error.code).toBe('auth.expired');
    expect(ended).toHaveBeenCalledTimes(1);
    expect(fake.wx.reLaunch).not.toHaveBeenCalled();
    expect(fake.calls.map((c) => c.path)).toEqual(['/orders']); // nothing to refresh with
  });

  test('the retried call is not refreshed again when it meets a second 401', async () => {
    signedIn('A0', 'R1');
    fake.serve((call) =>
      call.path === '/auth/refresh'
        ? ok({ access_token: 'A2', refresh_token: 'R2' })
        : { status: 401, body: errorBody('auth.session_revoked', '登录已失效') },
    );
    const error = await api.get('/orders').catch((e) => e);
    expect(error.code).toBe('auth.session_revoked');
    expect(fake.calls.map((c) => c.path)).toEqual(['/orders', '/auth/refresh', '/orders']);
  });

  test('a refresh lost on the network keeps the session and is not retried', async () => {
    signedIn('A0', 'R1');
    rotatingServer({ refreshAnswer: () => NETWORK_DOWN });
    const error = await api.post('/orders', {}).catch((e) => e);
    expect(error.code).toBe('network.failed');
    expect(fake.calls.filter((c) => c.path === '/auth/refresh')).toHaveLength(1);
    expect(session.getSession()).toMatchObject({ refresh_token: 'R1' });
    expect(fake.wx.reLaunch).not.toHaveBeenCalled();
  });

  test('login: the wx.login code for tokens, saved without sending any token', async () => {
    const answer = {
      access_token: 'A1',
      refresh_token: 'R1',
      token_type: 'Bearer',
      expires_in: 900,
      identity: { user_id: 3, role: 'store_owner', store_id: 9 },
    };
    fake.serve(() => ok(answer));
    expect(await api.login()).toEqual(answer);
    expect(fake.calls[0]).toMatchObject({
      method: 'POST',
      path: '/auth/wechat/login',
      data: { code: 'wx-code-1' },
    });
    expect(bearer(fake.calls[0])).toBeUndefined();
    expect(session.getSession()).toMatchObject(answer);
    expect(session.currentIdentity()).toEqual(answer.identity);
  });

  test('bindPhone: a switched answer replaces the session; others leave it', async () => {
    signedIn('A0', 'R0');
    const switched = {
      phone: '13900000001',
      memberships: [{ id: 12, role: 'salesperson' }],
      switched: true,
      needs_switch: false,
      access_token: 'A2',
      refresh_token: 'R2',
      token_type: 'Bearer',
      expires_in: 900,
      identity: { user_id: 3, role: 'salesperson', membership_id: 12 },
    };
    fake.serve(() => ok(switched));
    expect(await api.bindPhone('phone-code')).toEqual(switched);
    expect(fake.calls[0]).toMatchObject({ method: 'POST', path: '/auth/wechat/phone', data: { code: 'phone-code' } });
    expect(bearer(fake.calls[0])).toBe('Bearer A0');
    expect(session.getSession()).toMatchObject({ access_token: 'A2', refresh_token: 'R2' });
    expect(session.currentIdentity().role).toBe('salesperson');

    signedIn('A0', 'R0');
    fake.serve(() => ok({ phone: '13900000001', memberships: [], switched: false, needs_switch: false, identity: { role: null } }));
    await api.bindPhone('phone-code-2');
    expect(session.getSession()).toMatchObject({ access_token: 'A0', refresh_token: 'R0' });
  });

  test('bindPhone: a phone taken by another WeChat user is refused once, session kept', async () => {
    signedIn('A0', 'R0');
    fake.serve(() => ({
      status: 409,
      body: errorBody('auth.phone_taken', '该手机号已绑定其他微信，请用原微信登录或联系客服'),
    }));
    const error = await api.bindPhone('phone-code').catch((e) => e);
    expect(error.code).toBe('auth.phone_taken');
    expect(fake.calls).toHaveLength(1);
    expect(session.getSession()).toMatchObject({ access_token: 'A0' });
  });

  test('a refused login code is reported, not refreshed', async () => {
    fake.serve(() => ({
      status: 401,
      body: errorBody('auth.wechat_code_invalid', '微信登录凭证无效，请重试'),
    }));
    const error = await api.login().catch((e) => e);
    expect(error.code).toBe('auth.wechat_code_invalid');
    expect(fake.calls).toHaveLength(1);
    expect(fake.wx.reLaunch).not.toHaveBeenCalled();
  });

  test('logout forgets the tokens even when the server cannot be reached', async () => {
    signedIn();
    fake.serve(() => NETWORK_DOWN);
    await api.logout();
    expect(fake.calls.map((c) => c.path)).toEqual(['/auth/logout']);
    expect(session.getSession()).toBeNull();
  });
});

describe('idempotency keys', () => {
  test('unique, short and printable', () => {
    const keys = new Set();
    for (let i = 0; i < 2000; i += 1) keys.add(api.newIdempotencyKey());
    expect(keys.size).toBe(2000);
    keys.forEach((key) => expect(key).toMatch(/^mp-[0-9a-z]+-[0-9a-f]{24}$/));
    expect(Math.max(...[...keys].map((k) => k.length))).toBeLessThanOrEqual(64);
  });

  test("wx.getRandomValues' bytes are used when the base library has it", async () => {
    jest.resetModules();
    fake.wx.getRandomValues = jest.fn((options) => {
      const bytes = new Uint8Array(options.length).fill(0xab);
      setTimeout(() => {
        options.success({ randomValues: bytes.buffer });
        options.complete();
      }, 0);
    });
    const fresh = require('../../utils/api');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(fresh.newIdempotencyKey()).toMatch(/-(ab){12}$/);
    expect(fake.wx.getRandomValues).toHaveBeenCalled();
  });
});

describe('withButtonLock', () => {
  function fakePage() {
    const page = { data: {} };
    page.setData = jest.fn((changes) => Object.assign(page.data, changes));
    return page;
  }

  test('a second tap while the first submission runs does nothing', async () => {
    const page = fakePage();
    let finish;
    const submit = jest.fn(() => new Promise((resolve) => (finish = resolve)));
    const first = api.withButtonLock(page, 'submitting', submit);
    expect(page.data.submitting).toBe(true);
    expect(await api.withButtonLock(page, 'submitting', submit)).toBeUndefined();
    expect(submit).toHaveBeenCalledTimes(1);
    finish('placed');
    expect(await first).toBe('placed');
    expect(page.data.submitting).toBe(false);
    // Other actions on the same page are not blocked.
    expect(await api.withButtonLock(page, 'paying', async () => 'paid')).toBe('paid');
  });

  test('the lock is released when the action fails', async () => {
    const page = fakePage();
    await expect(
      api.withButtonLock(page, 'submitting', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(page.data.submitting).toBe(false);
    expect(await api.withButtonLock(page, 'submitting', async () => 'again')).toBe('again');
  });
});

describe('toastError', () => {
  test("shows the server's message, a generic one for bugs, nothing when signed out", () => {
    api.toastError(new api.ApiError({ code: 'ordering.out_of_stock', message: '库存不足' }));
    api.toastError(new TypeError('x is undefined'));
    api.toastError(new api.ApiError({ code: 'auth.expired', message: '登录已过期，请重新登录' }));
    expect(fake.wx.showToast.mock.calls.map(([o]) => o.title)).toEqual([
      '库存不足',
      '操作失败，请稍后重试',
    ]);
  });
});
