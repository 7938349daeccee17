jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, texts, tap } = require('./support/harness');
const { route } = require('./support/api-mock');
const { storeSession } = require('./support/fixtures');

let h;
let api;
let session;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  session = require('../../utils/session');
});

const CHECK = '/packageConsumer/pages/check/index?code=0123456789ABCDEFGHJK';
const newUser = () => storeSession({ identity: { user_id: 7, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });

test('a consumer on the way to the check page signs in with WeChat and goes straight there', async () => {
  api.login.mockImplementation(async () => session.saveSession(newUser()));
  const page = h.page('login');
  await page.instance.onLoad({ redirect: encodeURIComponent(CHECK) });
  await flush();
  expect(texts(page, '.login-btn')).toEqual(['微信一键登录']);
  await tap(page, '.login-btn');
  await flush();
  // No /me, no phone step, no store onboarding: only the WeChat sign-in.
  expect(api.get).not.toHaveBeenCalled();
  expect(api.bindPhone).not.toHaveBeenCalled();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: CHECK }));
});

test('already signed in (even as a store owner), a consumer page link opens at once', async () => {
  session.saveSession(storeSession());
  const page = h.page('login');
  await page.instance.onLoad({ redirect: encodeURIComponent('/packageConsumer/pages/coupons/index') });
  await flush();
  expect(api.get).not.toHaveBeenCalled();
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageConsumer/pages/coupons/index' }));
});

test('someone with no store who only wants to check a code is offered the way from the phone step', async () => {
  session.saveSession(newUser());
  route(api, { 'GET /me': { id: 7, display_name: '', phone: null, username: null, current: { membership_id: null, role: null }, memberships: [] } });
  const page = h.page('login');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.consumer-btn')).toEqual(['我是消费者，扫码验真']);
  await tap(page, '.consumer-btn');
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageConsumer/pages/check/index' }));
});
