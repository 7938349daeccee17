jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

const PAGE = 'packageCodes/pages/stock';

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
});
afterEach(() => jest.restoreAllMocks());

async function open(routes) {
  route(api, routes);
  const page = h.page(PAGE);
  await page.instance.onLoad({});
  await flush(6);
  return page;
}

test('the store\'s stock by SKU from its scans, most on hand first, with the totals', async () => {
  const page = await open({
    'GET /codes/stock': {
      items: [
        fx.codeStockRow({ sku_id: 2, name: 'PP 滤芯', spec: '10寸', image_url: '', received: 48, sold: 48, on_hand: 0 }),
        fx.codeStockRow(),
      ],
    },
  });
  expect(api.get).toHaveBeenCalledWith('/codes/stock');
  expect(texts(page, '.sku-name')).toEqual(['RO 净水器 标准款', 'PP 滤芯']);
  expect(texts(page, '.on-hand-value')).toEqual(['19', '0']);
  expect(texts(page, '.sku-counts')).toEqual(['入库 24 · 售出 5 · 动销率 21%', '入库 48 · 售出 48 · 动销率 100%']);
  expect(page.querySelectorAll('.on-hand-value--out')).toHaveLength(1);
  expect(page.querySelectorAll('.sku-image--none')).toHaveLength(1);
  expect(texts(page, '.figure-value')).toEqual(['19', '72', '53', '2']);
  await tap(page, '.sell-btn');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/scan/index?mode=sell' }));
  await tap(page, '.receive-btn');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/scan/index?mode=receive' }));
});

test('nothing scanned in yet: the empty state leads to 扫码入库', async () => {
  const page = await open({ 'GET /codes/stock': { items: [] } });
  expect(textOf(page)).toContain('还没有扫码入库的商品');
  expect(page.querySelectorAll('.summary')).toHaveLength(0);
  await tap(page, '.empty-scan');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/scan/index?mode=receive' }));
});

test('an error with 重试; coming back from the scanner reloads quietly', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({ 'GET /codes/stock': () => answer });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = { items: [fx.codeStockRow()] };
  await tapRetry(page);
  expect(texts(page, '.on-hand-value')).toEqual(['19']);

  page.instance.onShow(); // the first show
  answer = { items: [fx.codeStockRow({ received: 36, on_hand: 31 })] };
  await page.instance.onShow();
  await flush();
  expect(texts(page, '.on-hand-value')).toEqual(['31']);
  expect(texts(page, '.figure-value')[0]).toBe('31');
});

test('pull down to refresh', async () => {
  const page = await open({ 'GET /codes/stock': { items: [fx.codeStockRow()] } });
  await page.instance.onPullDownRefresh();
  expect(api.get).toHaveBeenCalledTimes(2);
  expect(h.wx.stopPullDownRefresh).toHaveBeenCalled();
});

test('not a store: sent to sign in, nothing asked', async () => {
  fx.signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
  await open({});
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});
