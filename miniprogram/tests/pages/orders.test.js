jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, order, listedOrder } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

test('lists orders with status, China time and the amount from fen', async () => {
  route(api, {
    'GET /orders': {
      items: [order(), order({ id: 41, order_no: 'O20260104000041', status: 'completed', status_name: '已完成', payable_fen: 99, channel: 'proxy' })],
      next_before: null,
    },
  });
  const page = h.page('orders');
  await page.instance.onLoad({});
  await flush();
  expect(api.get).toHaveBeenCalledWith('/orders', { limit: 20 });
  expect(texts(page, '.order-no')).toEqual(['O20260105000042', 'O20260104000041']);
  expect(texts(page, '.order-status')).toEqual(['待付款', '已完成']);
  const text = textOf(page);
  expect(text).toContain('2026-01-05 14:30');
  expect(text).toContain('¥2,700.00');
  expect(text).toContain('¥0.99');
  expect(text).toContain('业务员代下单');
  expect(text).toContain('没有更多了');
});

test('status tabs filter, and the keyset cursor loads more on reaching the bottom', async () => {
  route(api, {
    'GET /orders': (path, q) =>
      q.before ? { items: [order({ id: 30, order_no: 'O30' })], next_before: null } : { items: [order({ id: 42 })], next_before: 42 },
  });
  const page = h.page('orders');
  await page.instance.onLoad({ status: 'pending_payment' });
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20, status: 'pending_payment' });
  expect(textOf(page)).toContain('加载更多');

  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20, status: 'pending_payment', before: 42 });
  expect(texts(page, '.order-no')).toEqual(['O20260105000042', 'O30']);

  await tap(page, '.tab', 6); // 已完成
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20, status: 'completed' });
  await tap(page, '.tab', 0); // 全部
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20 });
});

test('empty, error with 重试, and opening an order', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, { 'GET /orders': () => answer });
  const page = h.page('orders');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');

  answer = { items: [], next_before: null };
  await tapRetry(page);
  expect(textOf(page)).toContain('暂无订单');

  answer = { items: [order()], next_before: null };
  await page.instance.onPullDownRefresh();
  await flush();
  expect(h.wx.stopPullDownRefresh).toHaveBeenCalled();
  await tap(page, '.order');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
});

test('待付款 from the home page opens the tab it asked for, once', async () => {
  route(api, { 'GET /orders': { items: [order()], next_before: null } });
  const page = h.page('orders');
  await page.instance.onLoad({});
  await page.instance.onShow();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20 });

  require('../../components/lib/intent').setIntent('/pages/orders/index', 'pending_payment');
  await page.instance.onShow();
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20, status: 'pending_payment' });
  expect(texts(page, '.tab--on')).toEqual(['待付款']);

  const calls = api.get.mock.calls.length;
  await page.instance.onShow(); // shown again later: refreshed quietly, same tab
  expect(api.get.mock.calls.length).toBe(calls + 1);
  expect(api.get).toHaveBeenLastCalledWith('/orders', { limit: 20, status: 'pending_payment' });
});

test('each order says what it bought: one line, or the first and how many more, and its gifts', async () => {
  route(api, {
    'GET /orders': {
      items: [
        listedOrder(),
        listedOrder({
          id: 41,
          order_no: 'O41',
          summary: { first_sku_id: 4, first_product_name: 'RO 净水器', first_sku_name: '滤芯套装', first_unit: '套', line_count: 3, total_quantity: 26, gift_quantity: 2, text: 'RO 净水器 滤芯套装 等 3 种商品，共 26 件' },
        }),
        order({ id: 40, order_no: 'O40' }), // an older server without summaries
      ],
      next_before: null,
    },
  });
  const page = h.page('orders');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.order-summary')).toEqual([
    'RO 净水器 标准款 × 2台',
    'RO 净水器 滤芯套装 等 3 种商品，共 26 件（含赠品 2 件）',
  ]);
  expect(texts(page, '.order-no')).toEqual(['O20260105000042', 'O41', 'O40']);
});
