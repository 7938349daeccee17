jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { storeSession } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  require('../../utils/session').saveSession(storeSession({ identity: { user_id: 7, role: null } }));
});

const TOKEN = 'Xb3k9QmZ2p7LwA1c.s1gnatur3-AbC_dEf';
const boxCode = { kind: 'box', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '一号经销商' }, inviter: null, usable: true };
const invite = { kind: 'salesperson_invite', brand: { id: 1, name: '澜泉净水' }, distributor: null, inviter: { kind: 'salesperson', id: 5, name: '李业代' }, usable: true };

function application(overrides) {
  return Object.assign({
    id: 9, status: 'pending', store_name: '赵记水站', contact_name: '赵老板', phone: '13800000000',
    business_licence_no: null, address: '杭州市西湖区文三路 1 号', location: null, region_id: null,
    reject_reason: null, store_id: null, created_at: '2026-01-05T02:00:00+00:00', reviewed_at: null,
  }, overrides || {});
}

async function fill(page, values) {
  Object.keys(values).forEach((field) => {
    page.instance.onField({ currentTarget: { dataset: { field } }, detail: { value: values[field] } });
  });
  await flush();
}

test('opened by a box-code QR: whose code it is, then the application, then 待审核', async () => {
  route(api, {
    'GET /onboarding/applications/mine': { items: [] },
    [`GET /onboarding/codes/${TOKEN}`]: boxCode,
    'POST /onboarding/applications': () => submitted.promise,
  });
  const submitted = deferred();
  const page = h.page('join');
  await page.instance.onLoad({ q: encodeURIComponent(`https://b2bc.example.com/join/${TOKEN}`) });
  await flush();
  expect(textOf(page)).toContain('开箱码');
  expect(textOf(page)).toContain('经销商：一号经销商');

  await fill(page, { store_name: ' 赵记水站 ', contact_name: '赵老板', phone: '13800000000', business_licence_no: '91330106ma2abcde1x', address: '杭州市西湖区文三路 1 号' });
  await tap(page, '.submit-btn');
  await tap(page, '.submit-btn');
  submitted.resolve(application());
  await flush();
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(api.post).toHaveBeenCalledWith('/onboarding/applications', {
    code: TOKEN,
    store_name: '赵记水站',
    contact_name: '赵老板',
    phone: '13800000000',
    business_licence_no: '91330106MA2ABCDE1X',
    address: '杭州市西湖区文三路 1 号',
  });
  expect(texts(page, '.status-name')).toEqual(['待审核']);
  expect(textOf(page)).toContain('提交时间：2026-01-05 10:00');
});

test('the form is checked before sending, and the server field errors are shown', async () => {
  route(api, {
    'GET /onboarding/applications/mine': { items: [] },
    [`GET /onboarding/codes/${TOKEN}`]: invite,
    'POST /onboarding/applications': apiError(api.ApiError, 'request.invalid', '请求数据不合法', 422, [{ field: 'address', type: 'string_too_long', message: '内容过长' }]),
  });
  const page = h.page('join');
  await page.instance.onLoad({ token: TOKEN });
  await flush();
  expect(textOf(page)).toContain('邀请人：业务员 李业代');

  await fill(page, { phone: '12345' });
  await tap(page, '.submit-btn');
  expect(api.post).not.toHaveBeenCalled();
  expect(texts(page, '.field-error')).toEqual(['请填写门店名称', '请填写联系人姓名', '请填写 11 位手机号', '请填写门店地址']);

  await fill(page, { store_name: '赵记水站', contact_name: '赵老板', phone: '13800000000', address: '很长的地址' });
  await tap(page, '.submit-btn');
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(texts(page, '.field-error')).toEqual(['内容过长']);
  expect(texts(page, '.submit-error')).toEqual(['请求数据不合法']);
});

test('scanning a code in the app; a used code says so', async () => {
  route(api, {
    'GET /onboarding/applications/mine': { items: [] },
    [`GET /onboarding/codes/${TOKEN}`]: Object.assign({}, boxCode, { usable: false }),
  });
  h.wx.scanCode = h.wxAsync(() => ({ errMsg: 'scanCode:ok', result: `https://b2bc.example.com/join/${TOKEN}` }));
  const page = h.page('join');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.scan-btn')).toEqual(['扫码入驻']);
  await tap(page, '.scan-btn');
  await flush();
  expect(api.get).toHaveBeenCalledWith(`/onboarding/codes/${TOKEN}`);
  expect(textOf(page)).toContain('该二维码已被使用');
  expect(page.querySelector('.submit-btn')).toBeFalsy();
});

test('an invalid code shows the server message on the scan screen', async () => {
  route(api, {
    'GET /onboarding/applications/mine': { items: [] },
    'GET /onboarding/codes/not-a-real-token': apiError(api.ApiError, 'onboarding.code_invalid', '二维码无效，请确认后重新扫码', 404),
  });
  const page = h.page('join');
  await page.instance.onLoad({ token: 'not-a-real-token' });
  await flush();
  expect(texts(page, '.scan-error')).toEqual(['二维码无效，请确认后重新扫码']);
  expect(texts(page, '.scan-btn')).toEqual(['扫码入驻']);
});

test('a pending application is shown instead of a second form', async () => {
  route(api, { 'GET /onboarding/applications/mine': { items: [application()] } });
  const page = h.page('join');
  await page.instance.onLoad({ token: TOKEN });
  await flush();
  expect(texts(page, '.status-name')).toEqual(['待审核']);
  expect(api.get).not.toHaveBeenCalledWith(`/onboarding/codes/${TOKEN}`);
});

test('已拒绝 shows the reason and lets the owner apply again', async () => {
  route(api, { 'GET /onboarding/applications/mine': { items: [application({ status: 'rejected', reject_reason: '营业执照照片不清晰', reviewed_at: '2026-01-06T01:00:00+00:00' })] } });
  const page = h.page('join');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.status-name')).toEqual(['已拒绝']);
  expect(texts(page, '.reject-reason')).toEqual(['原因：营业执照照片不清晰']);
  await tap(page, '.again-btn');
  expect(texts(page, '.scan-btn')).toEqual(['扫码入驻']);
});

test('已通过 enters the store through the sign-in page', async () => {
  route(api, { 'GET /onboarding/applications/mine': { items: [application({ status: 'approved', store_id: 3 })] } });
  const page = h.page('join');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.status-name')).toEqual(['已通过']);
  await tap(page, '.enter-btn');
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
});

test('a failed load shows the message and 重试', async () => {
  let fail = true;
  route(api, { 'GET /onboarding/applications/mine': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : { items: [] }) });
  const page = h.page('join');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  fail = false;
  await tapRetry(page);
  expect(texts(page, '.scan-btn')).toEqual(['扫码入驻']);
});

test('opened from a QR code before signing in: signs in silently and keeps the code', async () => {
  require('../../utils/session').clearSession();
  api.login.mockImplementation(() => {
    require('../../utils/session').saveSession(storeSession({ identity: { user_id: 8, role: null } }));
    return Promise.resolve({});
  });
  route(api, {
    'GET /onboarding/applications/mine': { items: [] },
    [`GET /onboarding/codes/${TOKEN}`]: boxCode,
  });
  const page = h.page('join');
  await page.instance.onLoad({ q: encodeURIComponent(`https://b2bc.example.com/join/${TOKEN}`) });
  await flush();
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(textOf(page)).toContain('开箱码');
  expect(page.querySelector('.submit-btn')).toBeTruthy();
});
