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

const categories = { items: [{ id: 1, name: '净水器', parent_id: null, sort: 0 }, { id: 2, name: '滤芯', parent_id: null, sort: 1 }, { id: 3, name: 'RO 滤芯', parent_id: 2, sort: 0 }] };
const emptyCart = priced({ lines: [], promotions: null });

test('lists SKUs with the store price formatted from fen, tiers and rules', async () => {
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku(), sku({ id: 2, name: '大箱装', case_size: 6, min_order_qty: 12, unit_price_fen: 12345, list_price_fen: 12345, price_tiers: [] })], next_after: null },
    'GET /cart': emptyCart,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();

  expect(texts(page, '.cat-tab')).toEqual(['全部', '净水器', '滤芯']);
  expect(texts(page, '.sku-title')).toEqual(['RO 净水器', 'RO 净水器']);
  const text = textOf(page);
  expect(text).toContain('¥1,500.00');
  expect(text).toContain('¥1,800.00');
  expect(text).toContain('¥123.45');
  expect(text).toContain('满10台 ¥1,400.00/台');
  expect(text).toContain('6台/箱 · 12台起订');
  expect(text).toContain('没有更多了');
  expect(api.get).toHaveBeenCalledWith('/catalog/skus', { limit: 20 });
});

test('an empty result and an error with 重试', async () => {
  let fail = true;
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : { items: [], next_after: null }),
    'GET /cart': emptyCart,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');

  fail = false;
  await tapRetry(page);
  expect(textOf(page)).toContain('没有找到相关商品');
  expect(api.get.mock.calls.filter((c) => c[0] === '/catalog/skus').length).toBeGreaterThanOrEqual(2);
});

test('search, category and barcode scan query the API', async () => {
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku()], next_after: null },
    'GET /cart': emptyCart,
  });
  h.wx.scanCode = h.wxAsync(() => ({ errMsg: 'scanCode:ok', result: '6901234567890', scanType: 'EAN_13' }));
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();

  page.querySelector('.search-input').dispatchEvent('input', { detail: { value: ' 滤芯 ' } });
  await flush();
  await page.instance.onSearch();
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { limit: 20, q: '滤芯' });

  await tap(page, '.cat-tab', 2);
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { limit: 20, q: '滤芯', category_id: 2 });

  await page.instance.onScan();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { limit: 20, barcode: '6901234567890' });
  expect(textOf(page)).toContain('条码 6901234567890 的商品');
});

test('loads the next page with the keyset cursor on reaching the bottom', async () => {
  const pages = [
    { items: [sku({ id: 1 })], next_after: 1 },
    { items: [sku({ id: 2, product_name: '第二页商品' })], next_after: null },
  ];
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': (path, q) => (q.after ? pages[1] : pages[0]),
    'GET /cart': emptyCart,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('加载更多');
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { limit: 20, after: 1 });
  expect(texts(page, '.sku-title')).toEqual(['RO 净水器', '第二页商品']);
  expect(textOf(page)).toContain('没有更多了');
});

test('add to cart sets the next orderable quantity once, even on a double tap', async () => {
  const put = deferred();
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku({ id: 2, case_size: 6, min_order_qty: 12, unit: '支' })], next_after: null },
    'GET /cart': priced({ lines: [quoteLine({ sku_id: 9, quantity: 3 })] }),
    'PUT /cart/items/2': () => put.promise,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();

  await tap(page, '.add-btn');
  await tap(page, '.add-btn');
  put.resolve(priced({ lines: [quoteLine({ sku_id: 9, quantity: 3 }), quoteLine({ sku_id: 2, quantity: 12 })] }));
  await flush();

  expect(api.put).toHaveBeenCalledTimes(1);
  expect(api.put).toHaveBeenCalledWith('/cart/items/2', { quantity: 12 });
  expect(textOf(page)).toContain('已加 12支');

  await tap(page, '.add-btn');
  expect(api.put).toHaveBeenLastCalledWith('/cart/items/2', { quantity: 18 });
});

test('an SKU the distributor does not sell cannot be added', async () => {
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku({ sold_here: false })], next_after: null },
    'GET /cart': emptyCart,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('经销商暂不供应');
  expect(page.querySelector('.add-btn')).toBeFalsy();
});

test('a failed add shows the server message', async () => {
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku()], next_after: null },
    'GET /cart': emptyCart,
    'PUT /cart/items/1': apiError(api.ApiError, 'org.store_not_active', '门店已停用，暂不能下单'),
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  await tap(page, '.add-btn');
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '门店已停用，暂不能下单' }));
});

test('扫码订货 from the home page scans as soon as the catalog shows', async () => {
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku()], next_after: null },
    'GET /cart': emptyCart,
  });
  h.wx.scanCode = h.wxAsync(() => ({ errMsg: 'scanCode:ok', result: '6901234567890' }));
  require('../../components/lib/intent').setIntent('/pages/catalog/index', 'scan');
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await page.instance.onShow();
  await flush();
  expect(h.wx.scanCode).toHaveBeenCalledTimes(1);
  expect(api.get).toHaveBeenLastCalledWith('/catalog/skus', { limit: 20, barcode: '6901234567890' });
});

test('each SKU shows the kinds of running promotions whose scope takes it', async () => {
  const scoped = (overrides) => currentPromotion(Object.assign({ scope: { all_products: false, bundle: false, skus: [], categories: [] } }, overrides));
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': (path, q) =>
      q.after
        ? { items: [sku({ id: 5, category_id: 3, product_name: '第二页滤芯' })], next_after: null }
        : { items: [sku({ id: 1 }), sku({ id: 2, category_id: 2, product_name: '滤芯' })], next_after: 2 },
    'GET /cart': emptyCart,
    'GET /promotions/current': {
      items: [
        scoped({ id: 6, kind: 'gift', kind_name: '赠品', scope: { all_products: false, bundle: false, skus: [{ sku_id: 1, product_id: 10, product_name: 'RO 净水器', sku_name: '标准款', unit: '台' }], categories: [] } }),
        scoped({ id: 7, kind: 'discount', kind_name: '折扣', scope: { all_products: false, bundle: false, skus: [], categories: [{ id: 2, name: '滤芯' }] } }),
        scoped({ id: 8, kind: 'discount', kind_name: '折扣', scope: { all_products: false, bundle: true, skus: [{ sku_id: 9, product_id: 11, product_name: '龙头', sku_name: '标准款', unit: '个' }], categories: [{ id: 3, name: '不该算' }] } }),
      ],
    },
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  expect(api.get).toHaveBeenCalledWith('/promotions/current');
  const tagsOf = () => {
    const { items, promoTags } = page.instance.data;
    return items.map((item) => (promoTags[item.id] || []).map((t) => t.text));
  };
  expect(tagsOf()).toEqual([['赠品'], ['折扣']]);
  expect(texts(page, '.sku-promo')).toEqual(['赠品', '折扣']);

  await page.instance.onReachBottom();
  await flush();
  expect(tagsOf()).toEqual([['赠品'], ['折扣'], []]); // a bundle takes only its own SKUs
  expect(texts(page, '.sku-promo')).toEqual(['赠品', '折扣']);
});

test('store-wide promotions tag every SKU; without promotions the list still works', async () => {
  let answer = { items: [currentPromotion()] };
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': { items: [sku({ id: 1 }), sku({ id: 2 })], next_after: null },
    'GET /cart': emptyCart,
    'GET /promotions/current': () => answer,
  });
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.sku-promo')).toEqual(['满减', '满减']);

  answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  await page.instance.onPullDownRefresh();
  await flush();
  expect(texts(page, '.sku-title')).toEqual(['RO 净水器', 'RO 净水器']);
});

test('behaviour events: shown, each search with how many it found, add to cart', async () => {
  const track = require('../../utils/track');
  route(api, {
    'GET /catalog/categories': categories,
    'GET /catalog/skus': (path, q) => (q.q === '软水机' ? { items: [], next_after: null } : { items: [sku()], next_after: null }),
    'GET /cart': emptyCart,
    'GET /promotions/current': { items: [] },
    'PUT /cart/items/1': priced({ lines: [quoteLine({ sku_id: 1, quantity: 1 })] }),
  });
  const queued = () => h.wx.getStorageSync(track.STORAGE_KEY) || [];
  const page = h.page('catalog');
  await page.instance.onLoad({});
  await page.instance.onShow();
  await flush();
  expect(queued()).toEqual([expect.objectContaining({ kind: 'page_view', page: 'pages/catalog/index' })]);

  for (const term of ['软水机', 'RO']) {
    page.querySelector('.search-input').dispatchEvent('input', { detail: { value: term } });
    await flush();
    await page.instance.onSearch();
  }
  await tap(page, '.cat-tab', 1); // the same search in a category, then refreshed: not searches
  await page.instance.onPullDownRefresh();
  await tap(page, '.add-btn');
  await flush();
  const events = queued();
  expect(events.filter((e) => e.kind === 'search').map((e) => [e.term, e.results])).toEqual([['软水机', 0], ['RO', 1]]);
  expect(events[events.length - 1]).toMatchObject({ kind: 'add_to_cart', sku_id: 1 });
});
