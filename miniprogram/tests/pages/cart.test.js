jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, priced, quoteLine } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

const couponOptions = [
  { coupon_id: 31, name: '新客满2000减100', kind: 'reduction', description: '满2000元减100元', amount_fen: 10000, usable: true, valid_until: '2026-02-01T00:00:00+00:00' },
  { coupon_id: 32, name: '滤芯兑换券', kind: 'exchange', usable: false, reason: { code: 'coupon.not_applicable', message: '购物车中没有可兑换的商品' }, valid_until: '2026-03-01T00:00:00+00:00' },
];

test('lines with their promotions, totals step by step and points, all from fen', async () => {
  route(api, { 'GET /cart': priced({ coupon_options: couponOptions }) });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  expect(api.get).toHaveBeenCalledWith('/cart', undefined);
  expect(texts(page, '.line-title')).toEqual(['RO 净水器']);
  expect(texts(page, '.line-adj')).toEqual(['年终满3000减300-¥300.00']);
  const text = textOf(page);
  expect(text).toContain('商品原价¥3,600.00');
  expect(text).toContain('门店价优惠-¥600.00');
  expect(text).toContain('活动优惠-¥300.00');
  expect(text).toContain('预计获得积分2700');
  expect(text).toContain('合计 ¥2,700.00');
  expect(text).toContain('1 张可用');
});

test('a line that cannot be ordered says why and blocks checkout', async () => {
  route(api, {
    'GET /cart': priced({
      lines: [quoteLine(), quoteLine({ sku_id: 2, product_name: '滤芯', quantity: 5, orderable: false, problems: [{ code: 'quantity.not_case_multiple', message: '须按整箱订购，每箱 6支' }] })],
      orderable: false,
    }),
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  expect(texts(page, '.line-problem')).toEqual(['须按整箱订购，每箱 6支']);
  expect(textOf(page)).toContain('1 种商品暂不能下单');
  await tap(page, '.bar-btn');
  expect(h.wx.navigateTo).not.toHaveBeenCalled();
});

test('choosing a coupon prices it, an unusable one says why, and checkout carries the choice', async () => {
  route(api, {
    'GET /cart': (path, q) =>
      q && q.coupon_id === 31
        ? priced({ coupon_options: couponOptions, coupon: { coupon_id: 31, name: '新客满2000减100', description: '', kind: 'reduction', amount_fen: 10000 }, coupon_discount_fen: 10000, discount_fen: 100000, payable_fen: 260000 })
        : priced({ coupon_options: couponOptions }),
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  await tap(page, '.coupon-row');
  expect(texts(page, '.coupon-reason')).toEqual(['购物车中没有可兑换的商品']);
  await tap(page, '.coupon', 2); // the unusable one
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '购物车中没有可兑换的商品' }));
  expect(api.get).toHaveBeenCalledTimes(1);

  await tap(page, '.coupon', 1);
  expect(api.get).toHaveBeenLastCalledWith('/cart', { coupon_id: 31 });
  const text = textOf(page);
  expect(text).toContain('优惠券-¥100.00');
  expect(text).toContain('合计 ¥2,600.00');

  await tap(page, '.bar-btn');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/checkout/index?coupon_id=31' }));
});

test('a coupon the server refuses shows its reason', async () => {
  route(api, {
    'GET /cart': (path, q) =>
      q ? priced({ coupon_options: couponOptions, coupon_problem: { code: 'coupon.threshold_unmet', message: '未满 ¥2,000.00，不能使用该券', details: null } }) : priced({ coupon_options: couponOptions }),
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  await page.instance.onPickCoupon({ currentTarget: { dataset: { id: 31 } } });
  await flush();
  expect(texts(page, '.coupon-problem')).toEqual(['未满 ¥2,000.00，不能使用该券']);
});

test('the rebate switch takes what the quote says it could pay', async () => {
  route(api, { 'GET /cart': priced({ rebate: { balance_fen: 50000, usable_fen: 12345, rule: '返利余额可抵扣未参加活动的商品' } }) });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  expect(textOf(page)).toContain('余额 ¥500.00，本单可用 ¥123.45');
  page.querySelector('.rebate-switch').dispatchEvent('change', { detail: { value: true } });
  await flush();
  expect(textOf(page)).toContain('返利抵扣-¥123.45');
  expect(textOf(page)).toContain('合计 ¥2,576.55');
  await tap(page, '.bar-btn');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/checkout/index?use_rebate=1' }));
});

test('changing a quantity PUTs it once; removing sends 0', async () => {
  const put = deferred();
  route(api, {
    'GET /cart': priced(),
    'PUT /cart/items/1': (path, body) => (body.quantity === 0 ? priced({ lines: [], promotions: null }) : put.promise),
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  page.instance.onQuantity({ currentTarget: { dataset: { sku: 1 } }, detail: { value: 3 } });
  page.instance.onQuantity({ currentTarget: { dataset: { sku: 1 } }, detail: { value: 3 } });
  put.resolve(priced({ lines: [quoteLine({ quantity: 3, payable_fen: 450000 })] }));
  await flush();
  expect(api.put).toHaveBeenCalledTimes(1);
  expect(api.put).toHaveBeenCalledWith('/cart/items/1', { quantity: 3 });

  await tap(page, '.line-remove');
  expect(api.put).toHaveBeenLastCalledWith('/cart/items/1', { quantity: 0 });
  expect(textOf(page)).toContain('购物车还是空的');
});

test('clearing asks first, then DELETEs the cart', async () => {
  let cleared = false;
  route(api, {
    'GET /cart': () => (cleared ? priced({ lines: [], promotions: null }) : priced()),
    'DELETE /cart': () => {
      cleared = true;
      return { ok: true };
    },
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  h.wx.showModal.mockImplementationOnce((o) => o.success({ confirm: false, cancel: true }));
  await page.instance.onClear();
  expect(api.del).not.toHaveBeenCalled();

  await page.instance.onClear();
  await flush();
  expect(api.del).toHaveBeenCalledWith('/cart');
  expect(textOf(page)).toContain('购物车还是空的');
});

test('an error shows the message and 重试 loads again', async () => {
  let fail = true;
  route(api, { 'GET /cart': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : priced()) });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  fail = false;
  await tapRetry(page);
  expect(texts(page, '.line-title')).toEqual(['RO 净水器']);
});

test('the stepper moves by whole cases from the minimum, and − at the minimum removes the line', async () => {
  const filters = quoteLine({ sku_id: 4, product_name: 'RO 净水器', sku_name: '滤芯套装', unit: '套', case_size: 6, min_order_qty: 12, quantity: 12, payable_fen: 216000 });
  route(api, {
    'GET /cart': priced({ lines: [filters] }),
    'PUT /cart/items/4': (path, body) => priced({ lines: body.quantity ? [Object.assign({}, filters, { quantity: body.quantity })] : [], promotions: null }),
  });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  expect(textOf(page)).toContain('6套/箱');

  const stepper = () => page.querySelector('.line-stepper');
  stepper().querySelector('.stepper-plus').dispatchEvent('tap');
  await flush();
  expect(api.put).toHaveBeenLastCalledWith('/cart/items/4', { quantity: 18 });
  stepper().querySelector('.stepper-minus').dispatchEvent('tap');
  await flush();
  expect(api.put).toHaveBeenLastCalledWith('/cart/items/4', { quantity: 12 });
  stepper().querySelector('.stepper-minus').dispatchEvent('tap');
  await flush();
  expect(api.put).toHaveBeenLastCalledWith('/cart/items/4', { quantity: 0 });
  expect(textOf(page)).toContain('购物车还是空的');
});

test('a line opens its product; the gifts are named and open theirs', async () => {
  const answer = priced();
  answer.promotions = Object.assign({}, answer.promotions, {
    gifts: [{ promotion_id: 6, sku_id: 4, product_id: 12, product_name: '龙头', sku_name: '标准款', unit: '个', quantity: 1, value_fen: 50000 }],
  });
  route(api, { 'GET /cart': answer });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  expect(texts(page, '.gift')).toEqual(['龙头 标准款 × 1个（价值¥500.00）']);
  await tap(page, '.line-name');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/product/index?product_id=10&sku_id=1' }));
  await tap(page, '.gift');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/product/index?product_id=12&sku_id=4' }));
});

test('a line whose SKU the catalog no longer knows opens nothing', async () => {
  route(api, { 'GET /cart': priced({ lines: [quoteLine({ product_id: null, orderable: false, problems: [{ code: 'sku.not_found', message: '商品不存在' }] })], orderable: false }) });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();
  await tap(page, '.line-name');
  expect(h.wx.navigateTo).not.toHaveBeenCalled();
});

test('a bundle counted in sets says how many sets, and on how many of a line\'s units', async () => {
  const sets = { promotion_id: 7, name: '净水套装九折', kind: 'discount', amount_fen: 30000, points: 0, budget_capped: false, sets: 1, note: '凑齐1套，按90%计价，共优惠300.00元' };
  const answer = priced();
  answer.promotions = Object.assign({}, answer.promotions, {
    applied: [sets],
    lines: [Object.assign({}, answer.promotions.lines[0], { adjustments: [{ promotion_id: 7, kind: 'discount', amount_fen: 30000, units: 1 }] })],
  });
  route(api, { 'GET /cart': answer });
  const page = h.page('cart');
  await page.instance.onLoad();
  await flush();

  expect(texts(page, '.line-adj')).toEqual(['净水套装九折（1件成套）-¥300.00']);
  expect(textOf(page)).toContain('净水套装九折（凑齐1套）');
});
