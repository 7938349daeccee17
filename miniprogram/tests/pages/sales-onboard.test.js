jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
});

const CODE = { id: 5, kind: 'salesperson_invite', token: 'sp-token-4', url: 'https://b2bc.example.com/join/sp-token-4', qr_png_url: 'https://b2bc.example.com/api/v1/onboarding/codes/sp-token-4/qr.png', batch: null, max_uses: null, uses: 6 };

/** An application as GET /onboarding/applications/invited shows it (org.service). */
function application(overrides) {
  return Object.assign(
    { id: 1, status: 'pending', status_name: '待审核', store_name: '孙家小店', contact_name: '孙先生', phone: '13700000001', address: '西城区', reject_reason: null, store_id: null, created_at: '2026-01-05T06:30:00+00:00', reviewed_at: null },
    overrides || {},
  );
}

async function open(routes) {
  route(api, routes);
  const page = h.page('packageSales/pages/onboard');
  await page.instance.onLoad({});
  await flush();
  return page;
}

test('the salesperson\'s invitation QR, shared as the join page, and the applications from it with their status', async () => {
  const page = await open({
    'POST /onboarding/invitation': CODE,
    'GET /onboarding/applications/invited': { items: [application(), application({ id: 2, store_name: '周记', status: 'rejected', status_name: '已拒绝', reject_reason: '营业执照不清晰', reviewed_at: '2026-01-06T02:00:00+00:00' })], next_before: null },
  });
  expect(api.get).toHaveBeenCalledWith('/onboarding/applications/invited', { limit: 20 });
  expect(textOf(page)).toContain('通过我的二维码提交的入驻申请');
  expect(textOf(page)).toContain('审核于 2026-01-06 10:00');
  expect(page.querySelector('.invite-card').instance.data.qrUrl).toBe(CODE.qr_png_url);
  expect(textOf(page)).toContain('已有 6 家门店通过此码申请');
  expect(page.instance.onShareAppMessage().path).toBe('/pages/join/index?token=sp-token-4');
  expect(texts(page, '.application-status')).toEqual(['待审核', '已拒绝']);
  expect(texts(page, '.application-reason')).toEqual(['未通过原因：营业执照不清晰']);
  expect(textOf(page)).toContain('提交于 2026-01-05 14:30');
});

test('errors of each part show with 重试; no applications yet', async () => {
  let code = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  let mine = apiError(api.ApiError, 'http.503', '服务暂时不可用，请稍后重试', 503);
  const page = await open({ 'POST /onboarding/invitation': () => code, 'GET /onboarding/applications/invited': () => mine });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  expect(textOf(page)).toContain('服务暂时不可用，请稍后重试');
  code = CODE;
  mine = { items: [], next_before: null };
  await tapRetry(page);
  await tapRetry(page, '.applications-state');
  expect(textOf(page)).toContain('我的拓店二维码');
  expect(textOf(page)).toContain('还没有门店通过您的二维码申请入驻');
});

test('older applications page in by keyset; an approved store given to the salesperson opens', async () => {
  let more = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({
    'POST /onboarding/invitation': CODE,
    'GET /onboarding/applications/invited': (path, q) =>
      q.before
        ? more
        : { items: [application({ id: 9, status: 'approved', status_name: '已通过', store_name: '吴记水站', store_id: 31 }), application({ id: 8, store_name: '郑家店' })], next_before: 8 },
  });
  expect(texts(page, '.application-name')).toEqual(['吴记水站', '郑家店']);
  expect(texts(page, '.application-store')).toEqual(['查看门店 ›']);
  await tap(page, '.application-store');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/store/index?id=31' }));

  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/onboarding/applications/invited', { limit: 20, before: 8 });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  more = { items: [application({ id: 8, store_name: '郑家店' }), application({ id: 3, store_name: '王家店' })], next_before: null };
  await tap(page, '.more-retry');
  expect(texts(page, '.application-name')).toEqual(['吴记水站', '郑家店', '王家店']);
  expect(textOf(page)).toContain('没有更多了');
});

test('a session that is not a salesperson\'s goes to the sign-in page', async () => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
  const page = h.page('packageSales/pages/onboard');
  await page.instance.onLoad({});
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});
