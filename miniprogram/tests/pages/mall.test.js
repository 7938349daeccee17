jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

function item(overrides) {
  return Object.assign(
    { id: 5, name: '净水杯', description: '便携', image_url: '', points_price: 800, stock: 10, status: 'on_sale', created_at: '2026-01-01T00:00:00+00:00' },
    overrides || {},
  );
}

const POINTS = { items: [{ id: 1, store_id: 3, kind: 'points', kind_name: '积分', balance: 1000 }] };

async function open(options) {
  const page = h.page('mall');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('lists gifts with their points price, and the store\'s points', async () => {
  route(api, {
    'GET /mall/items': { items: [item(), item({ id: 6, name: '旅行箱', points_price: 5000 }), item({ id: 7, name: '雨伞', points_price: 100, stock: 0 })] },
    'GET /ledger/accounts': POINTS,
  });
  const page = await open();
  expect(texts(page, '.points-value')).toEqual(['1000']);
  expect(texts(page, '.gift-name')).toEqual(['净水杯', '旅行箱', '雨伞']);
  expect(texts(page, '.gift-price')).toEqual(['800 积分', '5000 积分', '100 积分']);
  expect(texts(page, '.redeem-btn')).toEqual(['兑换', '积分不足', '已兑完']);
});

test('a confirmed double tap redeems once with one Idempotency-Key, then refreshes the points', async () => {
  const redeemed = deferred();
  let points = POINTS;
  route(api, {
    'GET /mall/items': { items: [item()] },
    'GET /ledger/accounts': () => points,
    'POST /mall/items/5/redeem': () => redeemed.promise,
  });
  const page = await open();
  await tap(page, '.redeem-btn');
  await tap(page, '.redeem-btn');
  expect(h.wx.showModal).toHaveBeenCalledTimes(1);
  expect(h.wx.showModal.mock.calls[0][0].content).toContain('使用 800 积分兑换「净水杯」');
  points = { items: [{ id: 1, kind: 'points', kind_name: '积分', balance: 200 }] };
  redeemed.resolve({ id: 9, item_name: '净水杯', quantity: 1, points: 800, status: 'pending', status_name: '待发货' });
  await flush(6);
  const posts = api.post.mock.calls.filter((c) => c[0] === '/mall/items/5/redeem');
  expect(posts).toEqual([['/mall/items/5/redeem', { quantity: 1 }, { idempotencyKey: 'key-1' }]]);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '兑换成功' }));
  expect(texts(page, '.points-value')).toEqual(['200']);
  expect(texts(page, '.redeem-btn')).toEqual(['积分不足']);
});

test('a cancelled confirmation sends nothing', async () => {
  route(api, { 'GET /mall/items': { items: [item()] }, 'GET /ledger/accounts': POINTS });
  h.wx.showModal = h.wxAsync(() => ({ confirm: false, cancel: true }));
  const page = await open();
  await tap(page, '.redeem-btn');
  expect(api.post).not.toHaveBeenCalled();
});

test('the server\'s refusal is shown in Chinese; a lost answer is retried with the same key', async () => {
  const answers = [
    apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0),
    apiError(api.ApiError, 'ledger.insufficient_balance', '积分不足：需要 800，当前 500', 409),
    { id: 9 },
  ];
  route(api, {
    'GET /mall/items': { items: [item()] },
    'GET /ledger/accounts': { items: [] },
    'POST /mall/items/5/redeem': () => answers.shift(),
  });
  const page = await open();
  expect(texts(page, '.points-value')).toEqual(['0']);
  // points 0 < 800: the page says so; take the server's word in this test anyway
  page.instance.setData({ 'items[0].blocked': '' });
  await page.instance.onRedeem({ currentTarget: { dataset: { id: 5 } } });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  page.instance.setData({ 'items[0].blocked': '' });
  await page.instance.onRedeem({ currentTarget: { dataset: { id: 5 } } });
  expect(texts(page, '.gift-error')).toEqual(['积分不足：需要 800，当前 500']);
  page.instance.setData({ 'items[0].blocked': '' });
  await page.instance.onRedeem({ currentTarget: { dataset: { id: 5 } } });
  const keys = api.post.mock.calls.map((c) => c[2].idempotencyKey);
  expect(keys).toEqual(['key-1', 'key-1', 'key-2']);
});

test('兑换记录: status, points spent, paging; errors retry', async () => {
  let records = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, {
    'GET /mall/items': { items: [] },
    'GET /ledger/accounts': POINTS,
    'GET /mall/redemptions': (path, q) => (q.before ? { items: [{ id: 3, item_name: '雨伞', quantity: 1, points: 100, status: 'delivered', status_name: '已发货', created_at: '2026-01-02T00:00:00+00:00' }], next_before: null } : records),
  });
  const page = await open();
  expect(textOf(page)).toContain('积分商城暂无礼品');
  await tap(page, '.tab', 1);
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  records = { items: [{ id: 4, item_name: '净水杯', quantity: 1, points: 800, status: 'pending', status_name: '待发货', created_at: '2026-01-05T06:30:00+00:00' }], next_before: 4 };
  await tapRetry(page, '.records-state');
  expect(api.get).toHaveBeenLastCalledWith('/mall/redemptions', { limit: 20 });
  expect(texts(page, '.record-name')).toEqual(['净水杯 × 1']);
  expect(texts(page, '.record-status')).toEqual(['待发货']);
  expect(textOf(page)).toContain('2026-01-05 14:30 · -800 积分');
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/mall/redemptions', { limit: 20, before: 4 });
  expect(texts(page, '.record-status')).toEqual(['待发货', '已发货']);
});
