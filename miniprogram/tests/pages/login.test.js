jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { storeSession } = require('./support/fixtures');

let h;
let api;
let session;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  session = require('../../utils/session');
});

const brand = { id: 1, name: '澜泉净水' };
const storeMembership = { id: 11, role: 'store_owner', brand, distributor: { id: 2, name: '一号经销商' }, store: { id: 3, name: '赵记水站' }, salesperson: null };
const salesMembership = { id: 12, role: 'salesperson', brand, distributor: { id: 2, name: '一号经销商' }, store: null, salesperson: { id: 5, name: '李业代' } };

function meWith({ current = null, memberships = [], phone = null } = {}) {
  return { id: 7, display_name: '', phone, username: null, current: { membership_id: current, role: current ? memberships.find((m) => m.id === current).role : null }, memberships };
}

function newUserSession() {
  return storeSession({ identity: { user_id: 7, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });
}

test('微信一键登录 takes a store owner to the home page', async () => {
  const login = deferred();
  api.login.mockImplementation(() => login.promise);
  route(api, { 'GET /me': meWith({ current: 11, memberships: [storeMembership] }) });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.login-btn')).toEqual(['微信一键登录']);

  await tap(page, '.login-btn');
  await tap(page, '.login-btn');
  session.saveSession(storeSession());
  login.resolve(storeSession());
  await flush();
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/home/index' }));
});

test('a failed sign-in shows the server message', async () => {
  api.login.mockRejectedValue(apiError(api.ApiError, 'auth.wechat_code_invalid', '微信登录凭证无效或已过期，请重新登录', 401));
  const page = h.page('login');
  await page.instance.onLoad({});
  await tap(page, '.login-btn');
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '微信登录凭证无效或已过期，请重新登录' }));
  expect(texts(page, '.login-btn')).toEqual(['微信一键登录']);
});

const salesIdentity = { user_id: 7, role: 'salesperson', membership_id: 12, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 5 };

test('a salesperson is recognised by binding the phone the brand registered', async () => {
  session.saveSession(newUserSession());
  route(api, { 'GET /me': meWith() });
  // The server switched into the one identity the phone brought: the answer has its tokens,
  // which api.bindPhone saves as the session.
  api.bindPhone.mockImplementation(async () => {
    const answer = storeSession({ access_token: 'access-sales', identity: salesIdentity });
    session.saveSession(answer);
    return { ...answer, phone: '13900000001', memberships: [salesMembership], switched: true, needs_switch: false };
  });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('绑定手机号');

  await page.instance.onGetPhone({ detail: { code: 'phone-code-1', errMsg: 'getPhoneNumber:ok' } });
  await flush();
  expect(api.bindPhone).toHaveBeenCalledWith('phone-code-1');
  expect(api.post).not.toHaveBeenCalledWith('/auth/switch', expect.anything());
  expect(session.currentIdentity().role).toBe('salesperson');
  expect(textOf(page)).toContain('李业代（业务员）');
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/home/index' }));
});

test('a phone that brought several identities: the chooser, no extra round trip', async () => {
  session.saveSession(newUserSession());
  route(api, {
    'GET /me': meWith(),
    'POST /auth/switch': storeSession({ access_token: 'access-store' }),
  });
  api.bindPhone.mockResolvedValue({
    phone: '13900000001',
    memberships: [storeMembership, salesMembership],
    switched: false,
    needs_switch: true,
    identity: newUserSession().identity,
  });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  await page.instance.onGetPhone({ detail: { code: 'phone-code-2', errMsg: 'getPhoneNumber:ok' } });
  await flush();
  expect(api.get).toHaveBeenCalledTimes(1); // only the /me before binding
  expect(texts(page, '.choice-title')).toEqual(['赵记水站', '李业代']);
  await tap(page, '.choice', 1);
  await flush();
  expect(api.post).toHaveBeenCalledWith('/auth/switch', { membership_id: 12 });
});

test('a phone bound to another WeChat user: the reason stays on the page, nothing changes', async () => {
  session.saveSession(newUserSession());
  route(api, { 'GET /me': meWith() });
  const message = '该手机号已绑定其他微信，请用原微信登录或联系客服';
  api.bindPhone.mockRejectedValue(apiError(api.ApiError, 'auth.phone_taken', message, 409));
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  await page.instance.onGetPhone({ detail: { code: 'phone-code-3', errMsg: 'getPhoneNumber:ok' } });
  await flush();
  expect(texts(page, '.phone-error')).toEqual([message]);
  expect(textOf(page)).toContain('绑定手机号');
  expect(session.currentIdentity().role).toBeNull();
  expect(h.wx.reLaunch).not.toHaveBeenCalled();
  expect(h.wx.switchTab).not.toHaveBeenCalled();
  // The skip button still leads on.
  await tap(page, '.skip-btn');
  await flush();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/join/index' }));
});

test('a phone that brought nothing: the usual route (门店入驻)', async () => {
  session.saveSession(newUserSession());
  let bound = false;
  route(api, { 'GET /me': () => meWith({ phone: bound ? '13800000000' : null }) });
  api.bindPhone.mockImplementation(async () => {
    bound = true;
    return { phone: '13800000000', memberships: [], switched: false, needs_switch: false, identity: newUserSession().identity };
  });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  await page.instance.onGetPhone({ detail: { code: 'phone-code-4', errMsg: 'getPhoneNumber:ok' } });
  await flush();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/join/index' }));
});

test('refusing the phone changes nothing; skipping goes to 门店入驻', async () => {
  session.saveSession(newUserSession());
  route(api, { 'GET /me': meWith() });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  await page.instance.onGetPhone({ detail: { errMsg: 'getPhoneNumber:fail user deny' } });
  expect(api.bindPhone).not.toHaveBeenCalled();
  expect(api.post).not.toHaveBeenCalled();
  expect(h.wx.showToast).toHaveBeenCalled();

  await tap(page, '.skip-btn');
  await flush();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/join/index' }));
});

test('a new user with a phone but no store goes to 门店入驻', async () => {
  session.saveSession(newUserSession());
  route(api, { 'GET /me': meWith({ phone: '13800000000' }) });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/join/index' }));
});

test('several identities: the owner chooses, and the session switches to it', async () => {
  session.saveSession(storeSession({ identity: { user_id: 7, role: 'salesperson', membership_id: 12 } }));
  route(api, {
    'GET /me': meWith({ current: 12, memberships: [storeMembership, salesMembership], phone: '13900000001' }),
    'POST /auth/switch': storeSession({ access_token: 'access-store' }),
  });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.choice-title')).toEqual(['赵记水站', '李业代']);
  expect(texts(page, '.choice-role')).toEqual(['门店老板', '业务员']);

  await tap(page, '.choice', 0);
  await flush();
  expect(api.post).toHaveBeenCalledWith('/auth/switch', { membership_id: 11 });
  expect(session.getSession().access_token).toBe('access-store');
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/home/index' }));
});

test('a store just approved is entered with a switch', async () => {
  session.saveSession(newUserSession());
  route(api, {
    'GET /me': meWith({ memberships: [storeMembership], phone: '13800000000' }),
    'POST /auth/switch': storeSession(),
  });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(api.post).toHaveBeenCalledWith('/auth/switch', { membership_id: 11 });
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/home/index' }));
});

test('when the profile cannot be read: the message and 重试', async () => {
  session.saveSession(storeSession());
  let fail = true;
  route(api, { 'GET /me': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : meWith({ current: 11, memberships: [storeMembership] })) });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  fail = false;
  await tapRetry(page);
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/home/index' }));
});
