jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
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

const TOKEN = '0123456789ABCDEFGHJK';
const CODE_URL = `https://b2b.example.com/C/${TOKEN}`;
// A consumer's sign-in: a WeChat user with no role, no brand, no store.
const consumerSession = () => storeSession({ identity: { user_id: 9, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });

function checkAnswer(overrides) {
  return Object.assign({
    genuine: true,
    brand: { id: 1, name: '澜泉净水' },
    product: { sku_id: 5, name: '澜泉 RO 净水器 RO-500', spec: '500G 厨下式', image_url: 'https://img.example/ro.jpg' },
    batch: { batch_no: '20261201', produced_on: '2026-12-01' },
    code: { serial_text: '20261201-0000042' },
    first_checked_at: '2026-12-05T06:30:00+00:00',
    checks: 1,
    first_check: true,
    coupon: null,
    coupon_note: '',
  }, overrides || {});
}

const coupon = (overrides) => Object.assign({
  id: 31,
  token: 'VVVVVVVVVVVVVVVVVVVV',
  qr_text: 'https://b2b.example.com/V/VVVVVVVVVVVVVVVVVVVV',
  value_fen: 500,
  value_text: '¥5.00',
  expires_at: '2027-01-04T06:30:00+00:00',
  status: 'issued',
  status_label: '可使用',
  redeemed_at: null,
  campaign: { id: 4, name: '扫码验真领红包' },
}, overrides || {});

async function open(options, answers) {
  route(api, answers);
  const page = h.page('packageConsumer/pages/check');
  await page.instance.onLoad(options);
  await flush(4);
  return page;
}

test('a consumer not signed in is signed in with WeChat alone and sees the product is genuine', async () => {
  api.login.mockImplementation(async () => session.saveSession(consumerSession()));
  const page = await open({ code: encodeURIComponent(CODE_URL) }, { 'POST /codes/checks': checkAnswer() });
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(api.post).toHaveBeenCalledWith('/codes/checks', { code: CODE_URL }, { idempotencyKey: 'key-1' });
  expect(api.bindPhone).not.toHaveBeenCalled();
  expect(h.wx.reLaunch).not.toHaveBeenCalled();
  expect(textOf(page)).toContain('正品验证通过');
  expect(textOf(page)).toContain('本商品为澜泉净水正品');
  expect(texts(page, '.product-name')).toEqual(['澜泉 RO 净水器 RO-500']);
  expect(texts(page, '.product-spec')).toEqual(['500G 厨下式']);
  expect(texts(page, '.fact-label')).toEqual(['首次查询', '查询次数', '生产批号', '生产日期', '商品码号']);
  expect(texts(page, '.fact-value')).toEqual(['2026-12-05 14:30', '第 1 次', '20261201', '2026-12-01', '20261201-0000042']);
  expect(texts(page, '.history')).toEqual(['您是第一位查询该商品的人']);
  expect(page.querySelectorAll('.history--warn')).toHaveLength(0);
  expect(page.querySelectorAll('.coupon')).toHaveLength(0);
  expect(page.querySelectorAll('.coupon-note')).toHaveLength(0);
  // While shown, an ended sign-in is renewed here, not by the store owners' login page.
  expect(api.setAuthExpiredHandler).toHaveBeenCalledWith(expect.any(Function));
  page.instance.onUnload();
  expect(api.setAuthExpiredHandler).toHaveBeenLastCalledWith(null);
});

test('a code checked before warns, and the coupon this consumer got shows with its QR', async () => {
  session.saveSession(consumerSession());
  const page = await open({ q: encodeURIComponent(CODE_URL) }, {
    'POST /codes/checks': checkAnswer({ checks: 3, first_check: false, coupon: coupon() }),
  });
  expect(api.login).not.toHaveBeenCalled();
  expect(api.post.mock.calls[0][1]).toEqual({ code: CODE_URL });
  expect(texts(page, '.history')).toEqual(['该码此前已被查询 2 次，首次查询于 2026-12-05 14:30；如非您本人查询，请留意商品来源']);
  expect(page.querySelectorAll('.history--warn')).toHaveLength(1);
  expect(texts(page, '.coupon-value')).toEqual(['¥5.00']);
  expect(texts(page, '.coupon-campaign')).toEqual(['扫码验真领红包']);
  expect(texts(page, '.coupon-status')).toEqual(['可使用']);
  expect(texts(page, '.coupon-code')).toEqual(['券码 VVVVVVVVVVVVVVVVVVVV']);
  expect(texts(page, '.coupon-expires')).toEqual(['有效期至 2027-01-04 14:30']);
  const qr = page.instance.data.result.coupon.qrSrc;
  expect(qr).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(1);
});

test('a coupon already taken, or the budget spent, is said in the server words', async () => {
  session.saveSession(consumerSession());
  const page = await open({ code: TOKEN }, { 'POST /codes/checks': checkAnswer({ checks: 2, first_check: false, coupon_note: '该商品的券已被领取' }) });
  expect(texts(page, '.coupon-note')).toEqual(['该商品的券已被领取']);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(0);
});

test('a redeemed coupon shows when and where, without a QR', async () => {
  session.saveSession(consumerSession());
  const page = await open({ code: TOKEN }, {
    'POST /codes/checks': checkAnswer({ coupon: coupon({ status: 'redeemed', status_label: '已核销', redeemed_at: '2026-12-06T02:00:00+00:00' }) }),
  });
  expect(texts(page, '.coupon-status')).toEqual(['已核销']);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(0);
  expect(textOf(page)).toContain('已于 2026-12-06 10:00 核销');
});

test('an unknown code or a box code: the server message, and 重试 repeats the same check', async () => {
  session.saveSession(consumerSession());
  let calls = 0;
  const page = await open({ code: TOKEN }, {
    'POST /codes/checks': () => {
      calls += 1;
      return calls === 1 ? apiError(api.ApiError, 'codes.not_found', '无法识别该码：请确认扫的是本品牌商品上的码', 404) : checkAnswer();
    },
  });
  expect(textOf(page)).toContain('无法识别该码：请确认扫的是本品牌商品上的码');
  await tapRetry(page);
  await flush(4);
  expect(textOf(page)).toContain('正品验证通过');
  expect(api.post.mock.calls.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-1']);
});

test('an ended sign-in is renewed silently and the check sent once more', async () => {
  session.saveSession(consumerSession());
  api.login.mockImplementation(async () => session.saveSession(consumerSession()));
  let calls = 0;
  const page = await open({ code: TOKEN }, {
    'POST /codes/checks': () => {
      calls += 1;
      return calls === 1 ? apiError(api.ApiError, 'auth.expired', '登录已过期，请重新登录', 401) : checkAnswer();
    },
  });
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(calls).toBe(2);
  expect(textOf(page)).toContain('正品验证通过');
});

test('opened without a code, it offers to scan; 再扫一件 checks the next item with a new key', async () => {
  session.saveSession(consumerSession());
  h.wx.scanCode = h.wxAsync(() => ({ errMsg: 'scanCode:ok', result: CODE_URL }));
  const page = await open({}, { 'POST /codes/checks': checkAnswer() });
  expect(textOf(page)).toContain('扫一扫商品上的二维码');
  expect(api.post).not.toHaveBeenCalled();
  await tap(page, '.scan-first');
  await flush(6);
  expect(textOf(page)).toContain('正品验证通过');
  await tap(page, '.action-scan');
  await flush(6);
  expect(api.post.mock.calls.map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-2']);
  await tap(page, '.action-coupons');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageConsumer/pages/coupons/index' }));
});
