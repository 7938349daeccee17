jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, sku, priced, quoteLine, currentPromotion } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

const product = {
  id: 10,
  name: 'RO 净水器',
  category_id: 1,
  description: '五级过滤，厨下式',
  images: [],
  is_active: true,
  skus: [
    { id: 1, product_id: 10, name: '标准款', spec: '5级过滤', unit: '台', barcode: null, list_price_fen: 180000, case_size: 1, min_order_qty: 1, is_active: true },
    { id: 4, product_id: 10, name: '滤芯套装', spec: '', unit: '套', barcode: null, list_price_fen: 20000, case_size: 6, min_order_qty: 12, is_active: true },
  ],
};
const offers = {
  items: [
    sku(),
    sku({ id: 4, name: '滤芯套装', unit: '套', case_size: 6, min_order_qty: 12, list_price_fen: 20000, unit_price_fen: 18000, price_tiers: [{ min_qty: 1, unit_price_fen: 18000 }, { min_qty: 60, unit_price_fen: 16500 }] }),
  ],
  next_after: null,
};
const forWater = {
  items: [
    currentPromotion(),
    currentPromotion({ id: 7, name: '净水器返利', kind: 'rebate', kind_name: '返利', description: '按实付金额返利5%（付款后到账）', scope: { all_products: false, bundle: false, skus: [], categories: [{ id: 1, name: '净水器' }] } }),
  ],
};
const forFilters = {
  items: [
    currentPromotion({ id: 8, name: '滤芯特价', kind: 'special_price', kind_name: '特价', description: '满60件享原价8.5折', per_store_limit: 2, uses_left: 0 }),
  ],
};
function promotionsFor(path, q) {
  return q.sku_id === 4 ? forFilters : forWater;
}

function quoteFor(quantity) {
  return priced({
    lines: [quoteLine({ quantity, payable_fen: 150000 * quantity })],
    payable_fen: 150000 * quantity - 30000,
  });
}

test('shows the store price, tiers, rules and the live quote with its promotions', async () => {
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();

  expect(api.get).toHaveBeenCalledWith('/catalog/skus', { product_id: 10, limit: 100 });
  expect(api.get).toHaveBeenCalledWith('/promotions/current', { sku_id: 1 });
  expect(api.post).toHaveBeenCalledWith('/quote', { lines: [{ sku_id: 1, quantity: 1 }] });
  const text = textOf(page);
  expect(text).toContain('¥1,500.00');
  expect(text).toContain('10台起');
  expect(text).toContain('¥1,400.00/台');
  expect(text).toContain('年终满3000减300');
  expect(text).toContain('-¥300.00');
  expect(text).toContain('+2700积分');
  expect(text).toContain('预计应付¥1,200.00');
});

test('the stepper re-quotes; a SKU change starts at its orderable minimum', async () => {
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();

  await page.instance.onQuantity({ detail: { value: 3 } });
  expect(api.post).toHaveBeenLastCalledWith('/quote', { lines: [{ sku_id: 1, quantity: 3 }] });
  expect(textOf(page)).toContain('预计应付¥4,200.00');

  await tap(page, '.sku-chip', 1);
  expect(api.post).toHaveBeenLastCalledWith('/quote', { lines: [{ sku_id: 4, quantity: 12 }] });
  expect(textOf(page)).toContain('箱规 6套/箱');
  expect(textOf(page)).toContain('起订 12套');
});

test("a line that cannot be ordered says why", async () => {
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': priced({
      lines: [quoteLine({ quantity: 1, orderable: false, problems: [{ code: 'sku.insufficient_stock', message: '库存不足，仅剩 0台' }] })],
      orderable: false,
      promotions: null,
    }),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();
  expect(texts(page, '.problem')).toEqual(['库存不足，仅剩 0台']);
});

test('add to cart adds the chosen quantity to what the cart holds, once per tap burst', async () => {
  const put = deferred();
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [quoteLine({ sku_id: 1, quantity: 2 })] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
    'PUT /cart/items/1': () => put.promise,
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();
  expect(textOf(page)).toContain('购物车已有 2台');

  await tap(page, '.bar-add');
  await tap(page, '.bar-add');
  put.resolve(priced({ lines: [quoteLine({ sku_id: 1, quantity: 3 })] }));
  await flush();
  expect(api.put).toHaveBeenCalledTimes(1);
  expect(api.put).toHaveBeenCalledWith('/cart/items/1', { quantity: 3 });
  expect(textOf(page)).toContain('购物车已有 3台');
});

test('a failed load shows the message and 重试 loads again', async () => {
  let fail = true;
  route(api, {
    'GET /catalog/products/10': () => (fail ? apiError(api.ApiError, 'catalog.product_not_found', '找不到该商品', 404) : product),
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10' });
  await flush();
  expect(textOf(page)).toContain('找不到该商品');
  fail = false;
  await tapRetry(page);
  expect(textOf(page)).toContain('标准款');
  expect(textOf(page)).toContain('预计应付');
});

test('names the promotions that can apply to the chosen SKU, again on picking another', async () => {
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();
  expect(texts(page, '.current-promo-desc')).toEqual(['满3000元减300元', '按实付金额返利5%（付款后到账）']);
  expect(textOf(page)).toContain('可参加的活动');
  expect(textOf(page)).toContain('01-01 00:00 至 02-01 00:00');

  await tap(page, '.sku-chip', 1);
  expect(api.get).toHaveBeenLastCalledWith('/promotions/current', { sku_id: 4 });
  expect(texts(page, '.current-promo-desc')).toEqual(['满60件享原价8.5折']);
  expect(textOf(page)).toContain('您已参加过本活动');
  expect(page.querySelector('.current-promo--used')).toBeTruthy();
});

test('no running promotion shows no card; a failed load offers 重试', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': () => answer,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();
  expect(textOf(page)).toContain('活动加载失败');
  expect(textOf(page)).toContain('预计应付'); // the quote does not wait for the promotions

  answer = { items: [] };
  await tap(page, '.promotions-retry');
  expect(page.querySelector('.promotions-card')).toBeFalsy();
});

test('the gifts a quote adds are named by the server', async () => {
  const withGift = priced();
  withGift.promotions = Object.assign({}, withGift.promotions, {
    gifts: [{ promotion_id: 6, sku_id: 4, product_id: 10, product_name: 'RO 净水器', sku_name: '滤芯套装', unit: '套', quantity: 2, value_fen: 20000 }],
  });
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': { items: [] },
    'GET /cart': priced({ lines: [] }),
    'POST /quote': withGift,
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  await flush();
  expect(textOf(page)).toContain('赠品RO 净水器 滤芯套装 × 2套（价值¥400.00）');
});

test('behaviour events: the product viewed, the page shown, added to the cart', async () => {
  const track = require('../../utils/track');
  route(api, {
    'GET /catalog/products/10': product,
    'GET /catalog/skus': offers,
    'GET /promotions/current': promotionsFor,
    'GET /cart': priced({ lines: [] }),
    'POST /quote': (path, body) => quoteFor(body.lines[0].quantity),
    'PUT /cart/items/1': priced({ lines: [quoteLine({ sku_id: 1, quantity: 1 })] }),
  });
  const page = h.page('product');
  await page.instance.onLoad({ product_id: '10', sku_id: '1' });
  page.instance.onShow();
  await flush();
  await tap(page, '.bar-add');
  await flush();
  const events = h.wx.getStorageSync(track.STORAGE_KEY);
  expect(events.map((e) => e.kind)).toEqual(['product_view', 'page_view', 'add_to_cart']);
  expect(events[0]).toMatchObject({ product_id: 10, sku_id: 1 });
  expect(events[2]).toMatchObject({ product_id: 10, sku_id: 1 });
});
