jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tapRetry } = require('./support/harness');
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

function application(overrides) {
  return Object.assign(
    { id: 1, status: 'pending', store_name: '孙家小店', contact_name: '孙先生', phone: '13700000001', address: '西城区', inviter_salesperson_id: 4, reject_reason: null, created_at: '2026-01-05T06:30:00+00:00' },
    overrides || {},
  );
}

async function open(routes) {
  route(api, routes);
  const page = h.page('sales-onboard');
  await page.instance.onLoad({});
  await flush();
  return page;
}

test('the salesperson\'s invitation QR, shared as the join page, and the applications with their status', async () => {
  const page = await open({
    'POST /onboarding/invitation': CODE,
    'GET /onboarding/applications/mine': { items: [application(), application({ id: 2, store_name: '周记', status: 'rejected', reject_reason: '营业执照不清晰' })] },
  });
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
  const page = await open({ 'POST /onboarding/invitation': () => code, 'GET /onboarding/applications/mine': () => mine });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  expect(textOf(page)).toContain('服务暂时不可用，请稍后重试');
  code = CODE;
  mine = { items: [] };
  await tapRetry(page);
  await tapRetry(page, '.applications-state');
  expect(textOf(page)).toContain('我的拓店二维码');
  expect(textOf(page)).toContain('暂无入驻申请');
});
