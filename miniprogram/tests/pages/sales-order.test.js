jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, sku, priced, quoteLine, order } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
});

async function open(routes) {
  route(api, Object.assign({ 'GET /stores/3': { id: 3, name: '赵记水站', status: 'active' } }, routes));
  const page = h.page('packageSales/pages/order');
  await page.instance.onLoad({ store_id: '3' });
  await flush();
  return page;
}

test('lists the store\'s catalog at its prices and searches it', async () => {
  const page = await open({
    'GET /catalog/skus': (path, q) => (q.q ? { items: [], next_after: null } : { items: [sku(), sku({ id: 2, name: '家用款', stock: 0 })], next_after: null }),
  });
  expect(api.get).toHaveBeenCalledWith('/catalog/skus', { store_id: 3, limit: 20 });
  expect(textOf(page)).toContain('为 赵记水站 代下单');
  expect(texts(page, '.sku-price')).toEqual(['¥1,500.00¥1,800.00/台', '¥1,500.00¥1,800.00/台']);
  expect(texts(page, '.sku-blocked')).toEqual(['暂时缺货']);
  expect(page.querySelectorAll('.add-btn')).toHaveLength(1);
  page.instance.onInput({ detail: { value: '滤芯' } });
  await tap(page, '.search-btn');
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { store_id: 3, limit: 20, q: '滤芯' });
  expect(textOf(page)).toContain('没有找到商品');
});

test('chosen lines are quoted as the store, and a double tap places one proxy order with one key', async () => {
  const placed = deferred();
  const page = await open({
    'GET /catalog/skus': { items: [sku()], next_after: null },
    'POST /quote': (path, body) => priced({ lines: [quoteLine({ quantity: body.lines[0].quantity })] }),
    'POST /orders': () => placed.promise,
  });
  await tap(page, '.add-btn');
  await flush();
  expect(api.post).toHaveBeenLastCalledWith('/quote', { store_id: 3, lines: [{ sku_id: 1, quantity: 1 }] });
  page.querySelector('.sku-stepper').querySelector('.stepper-plus').dispatchEvent('tap');
  await flush();
  expect(api.post).toHaveBeenLastCalledWith('/quote', { store_id: 3, lines: [{ sku_id: 1, quantity: 2 }] });
  const text = textOf(page);
  expect(text).toContain('已选 1 种');
  expect(text).toContain('年终满3000减300');
  expect(texts(page, '.bar-payable')).toEqual(['应付 ¥2,700.00']);

  await tap(page, '.submit-btn');
  await tap(page, '.submit-btn');
  placed.resolve(order({ channel: 'proxy', salesperson_id: 4 }));
  await flush(6);
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders')).toEqual([
    ['/orders', { store_id: 3, lines: [{ sku_id: 1, quantity: 2 }] }, { idempotencyKey: 'key-1' }],
  ]);
  expect(texts(page, '.result-title')).toEqual(['已为「赵记水站」下单']);
  expect(textOf(page)).toContain('应付 ¥2,700.00');
  expect(textOf(page)).toContain('门店需在 2026-01-05 15:00 前在小程序中完成支付');
  await tap(page, '.view-btn');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
  await tap(page, '.back-btn');
  expect(h.wx.navigateBack).toHaveBeenCalled();
});

test('a line that cannot be ordered blocks the order; a refusal is shown in Chinese and retried with a new key', async () => {
  const answers = [
    apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0),
    apiError(api.ApiError, 'order.lines_unavailable', '部分商品暂时无法订购', 409),
    order({ channel: 'proxy' }),
  ];
  let quote = priced({ orderable: false, lines: [quoteLine({ orderable: false, problems: [{ code: 'stock.insufficient', message: '库存不足' }] })] });
  const page = await open({
    'GET /catalog/skus': { items: [sku()], next_after: null },
    'POST /quote': () => quote,
    'POST /orders': () => answers.shift(),
  });
  await tap(page, '.add-btn');
  await flush();
  expect(texts(page, '.line-problem')).toEqual(['库存不足']);
  await page.instance.onSubmit();
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders')).toHaveLength(0);

  quote = priced();
  await page.instance.requote();
  await page.instance.onSubmit();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  await page.instance.onSubmit();
  await flush();
  expect(texts(page, '.submit-error')).toEqual(['部分商品暂时无法订购']);
  await page.instance.onSubmit();
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders').map((c) => c[2].idempotencyKey)).toEqual(['key-1', 'key-1', 'key-2']);
});

test('a quote that fails says so and retries; the catalog error has 重试', async () => {
  let quote = apiError(api.ApiError, 'http.503', '服务暂时不可用，请稍后重试', 503);
  let skus = apiError(api.ApiError, 'org.store_not_found', '找不到该门店', 404);
  const page = await open({ 'GET /catalog/skus': () => skus, 'POST /quote': () => quote });
  expect(textOf(page)).toContain('找不到该门店');
  skus = { items: [sku()], next_after: null };
  await tapRetry(page);
  await tap(page, '.add-btn');
  await flush();
  expect(texts(page, '.quote-error')).toEqual(['服务暂时不可用，请稍后重试 重试']);
  quote = priced();
  await tap(page, '.quote-error .link');
  await flush();
  expect(texts(page, '.bar-payable')).toEqual(['应付 ¥2,700.00']);
});
