jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap } = require('./support/harness');
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

const consumerSession = () => storeSession({ identity: { user_id: 9, role: null, membership_id: null, brand_id: null, distributor_id: null, store_id: null, salesperson_id: null } });

function listed(id, overrides) {
  return Object.assign({
    id,
    token: `T${String(id).padStart(19, '0')}`,
    qr_text: `https://b2b.example.com/V/T${String(id).padStart(19, '0')}`,
    value_fen: 500,
    value_text: '¥5.00',
    expires_at: '2027-01-04T06:30:00+00:00',
    status: 'issued',
    status_label: '可使用',
    redeemed_at: null,
    brand: { id: 1, name: '澜泉净水' },
    product: { sku_id: 5, name: '澜泉 RO 净水器 RO-500', spec: '', image_url: '' },
    campaign: { id: 4, name: '扫码验真领红包' },
    store: null,
    created_at: '2026-12-05T06:30:00+00:00',
  }, overrides || {});
}

async function open(answers, options) {
  route(api, answers);
  const page = h.page('packageConsumer/pages/coupons');
  await page.instance.onLoad(options || {});
  await flush(4);
  return page;
}

test('可使用: each coupon with its brand, product and expiry; tapping one shows its QR', async () => {
  api.login.mockImplementation(async () => session.saveSession(consumerSession()));
  const page = await open({ 'GET /codes/consumer-coupons': { items: [listed(2), listed(1, { value_fen: 880 })], next_before: null } });
  expect(api.login).toHaveBeenCalledTimes(1);
  expect(api.get).toHaveBeenCalledWith('/codes/consumer-coupons', { state: 'issued', limit: 20 });
  expect(texts(page, '.tab')).toEqual(['可使用', '已核销', '已过期']);
  expect(texts(page, '.coupon-value')).toEqual(['¥5.00', '¥8.80']);
  expect(texts(page, '.coupon-title')).toEqual(['澜泉净水 到店抵扣券', '澜泉净水 到店抵扣券']);
  expect(texts(page, '.coupon-product')[0]).toBe('澜泉 RO 净水器 RO-500');
  expect(texts(page, '.coupon-expires')[0]).toBe('有效期至 2027-01-04 14:30');
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(0);
  expect(page.instance.data.items.every((c) => c.qrSrc === '')).toBe(true);

  await tap(page, '.coupon', 1);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(1);
  expect(page.instance.data.items[1].qrSrc).toMatch(/^data:image\/png;base64,/);
  expect(texts(page, '.coupon-code')).toEqual([`券码 T${'1'.padStart(19, '0')}`]);
  await tap(page, '.coupon', 1);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(0);
});

test('已核销 says where and when; the list pages on by next_before', async () => {
  session.saveSession(consumerSession());
  const redeemed = (id) => listed(id, { status: 'redeemed', status_label: '已核销', redeemed_at: '2026-12-06T02:00:00+00:00', store: { id: 3, name: '赵记水站' } });
  const page = await open({
    'GET /codes/consumer-coupons': (path, query) => (query.before
      ? { items: [redeemed(1)], next_before: null }
      : { items: [redeemed(3), redeemed(2)], next_before: 2 }),
  }, { tab: 'redeemed' });
  expect(texts(page, '.tab--on')).toEqual(['已核销']);
  expect(texts(page, '.coupon-redeemed')[0]).toBe('已于 2026-12-06 10:00 在赵记水站核销');
  await tap(page, '.coupon', 0);
  expect(page.querySelectorAll('.coupon-qr')).toHaveLength(0);
  await page.instance.onReachBottom();
  await flush(4);
  expect(api.get).toHaveBeenLastCalledWith('/codes/consumer-coupons', { state: 'redeemed', limit: 20, before: 2 });
  expect(page.instance.data.items.map((c) => c.id)).toEqual([3, 2, 1]);
});

test('no coupons yet: a way to scan; switching tabs asks again', async () => {
  session.saveSession(consumerSession());
  const page = await open({ 'GET /codes/consumer-coupons': { items: [], next_before: null } });
  expect(textOf(page)).toContain('还没有可使用的券，扫商品上的码验真即可领取');
  await tap(page, '.empty-scan');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageConsumer/pages/check/index' }));
  await tap(page, '.tab-expired');
  await flush(4);
  expect(api.get).toHaveBeenLastCalledWith('/codes/consumer-coupons', { state: 'expired', limit: 20 });
  expect(textOf(page)).toContain('没有过期的券');
});
