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
    { id: 5, name: '净水杯', description: '便携', image_url: '', points_price: 800, stock: 10, status: 'on_sale', physical: true, created_at: '2026-01-01T00:00:00+00:00' },
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
    'GET /mall/items': { items: [item({ physical: false })] },
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
  route(api, { 'GET /mall/items': { items: [item({ physical: false })] }, 'GET /ledger/accounts': POINTS });
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
    'GET /mall/items': { items: [item({ physical: false })] },
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
    'GET /mall/redemptions': (path, q) => (q.before ? { items: [{ id: 3, item_name: '雨伞', quantity: 1, points: 100, status: 'delivered', status_name: '已发货', delivery: null, created_at: '2026-01-02T00:00:00+00:00' }], next_before: null } : records),
  });
  const page = await open();
  expect(textOf(page)).toContain('积分商城暂无礼品');
  await tap(page, '.tab', 1);
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  records = { items: [{ id: 4, item_name: '净水杯', quantity: 1, points: 800, status: 'pending', status_name: '待发货', delivery: { name: '张三', phone: '13800001111', address: '杭州市西湖区文一西路1号' }, created_at: '2026-01-05T06:30:00+00:00' }], next_before: 4 };
  await tapRetry(page, '.records-state');
  expect(api.get).toHaveBeenLastCalledWith('/mall/redemptions', { limit: 20 });
  expect(texts(page, '.record-name')).toEqual(['净水杯 × 1']);
  expect(texts(page, '.record-status')).toEqual(['待发货']);
  expect(textOf(page)).toContain('2026-01-05 14:30 · -800 积分');
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/mall/redemptions', { limit: 20, before: 4 });
  expect(texts(page, '.record-status')).toEqual(['待发货', '已发货']);
  expect(texts(page, '.record-delivery')).toEqual(['寄至：张三 13800001111 杭州市西湖区文一西路1号']);
});

// ---- physical gifts: where to send them ---------------------------------------------------------

const DELIVERY = { name: '张三', phone: '13800001111', address: '杭州市西湖区文一西路1号' };

async function type(page, field, value) {
  page.instance.onSheetInput({ currentTarget: { dataset: { field } }, detail: { value } });
  await flush();
}

test('a physical gift asks where to send it, checks the contact, and remembers it', async () => {
  route(api, {
    'GET /mall/items': { items: [item()] },
    'GET /ledger/accounts': POINTS,
    'POST /mall/items/5/redeem': { id: 9, item_name: '净水杯', quantity: 1, points: 800, status: 'pending', status_name: '待发货', delivery: DELIVERY },
  });
  const page = await open();
  await tap(page, '.redeem-btn');
  expect(h.wx.showModal).not.toHaveBeenCalled();
  expect(texts(page, '.sheet-title')).toEqual(['使用 800 积分兑换「净水杯」']);

  await tap(page, '.sheet-confirm'); // empty: each field says what it needs
  expect(texts(page, '.field-error')).toEqual(['请填写收货人', '请填写 11 位手机号', '请填写详细地址（省市区街道门牌号）']);
  await type(page, 'name', '  张三 ');
  await type(page, 'phone', '0571888');
  await type(page, 'address', '杭州');
  await tap(page, '.sheet-confirm');
  expect(texts(page, '.field-error')).toEqual(['请填写 11 位手机号', '请填写详细地址（省市区街道门牌号）']);
  expect(api.post).not.toHaveBeenCalled();

  await type(page, 'phone', DELIVERY.phone);
  await type(page, 'address', DELIVERY.address);
  await tap(page, '.sheet-confirm');
  await flush(6);
  expect(api.post.mock.calls).toEqual([['/mall/items/5/redeem', { quantity: 1, delivery: DELIVERY }, { idempotencyKey: 'key-1' }]]);
  expect(page.querySelectorAll('.delivery-sheet')).toHaveLength(0);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '兑换成功' }));
  expect(h.storage.get('b2bc.mallDelivery')).toEqual(DELIVERY);

  // The next physical gift starts from the contact used last.
  await tap(page, '.redeem-btn');
  expect(page.instance.data.sheet.form).toEqual(DELIVERY);
  await tap(page, '.sheet-cancel');
  expect(page.querySelectorAll('.delivery-sheet')).toHaveLength(0);
  expect(api.post).toHaveBeenCalledTimes(1);
});

test('the WeChat address fills the sheet; a refusal is shown and a lost answer retried with the same key', async () => {
  h.storage.set('b2bc.mallDelivery', DELIVERY);
  h.wx.chooseAddress = h.wxAsync(() => ({ userName: '李四', telNumber: '13900002222', provinceName: '浙江省', cityName: '杭州市', countyName: '西湖区', detailInfo: '文二路2号' }));
  const answers = [
    apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0),
    { id: 9 },
  ];
  route(api, {
    'GET /mall/items': { items: [item()] },
    'GET /ledger/accounts': POINTS,
    'POST /mall/items/5/redeem': () => answers.shift(),
  });
  const page = await open();
  await tap(page, '.redeem-btn');
  await page.instance.onChooseAddress();
  await flush();
  const chosen = { name: '李四', phone: '13900002222', address: '浙江省杭州市西湖区文二路2号' };
  expect(page.instance.data.sheet.form).toEqual(chosen);
  await tap(page, '.sheet-confirm');
  await flush(6);
  expect(texts(page, '.gift-error')).toEqual(['网络不给力，请稍后重试']);
  await tap(page, '.redeem-btn');
  expect(page.instance.data.sheet.form).toEqual(chosen); // remembered even though the answer was lost
  await tap(page, '.sheet-confirm');
  await flush(6);
  const sent = api.post.mock.calls.map((c) => [c[1], c[2].idempotencyKey]);
  expect(sent).toEqual([
    [{ quantity: 1, delivery: chosen }, 'key-1'],
    [{ quantity: 1, delivery: chosen }, 'key-1'],
  ]);
});

test('a gift the brand no longer posts refreshes the list when the server says so', async () => {
  let items = { items: [item()] };
  route(api, {
    'GET /mall/items': () => items,
    'GET /ledger/accounts': POINTS,
    'POST /mall/items/5/redeem': () => {
      items = { items: [item({ physical: false })] };
      return apiError(api.ApiError, 'mall.delivery_not_needed', '该礼品无需邮寄，不用填写收货信息', 422);
    },
  });
  const page = await open();
  await tap(page, '.redeem-btn');
  page.instance.setData({ 'sheet.form': DELIVERY });
  await tap(page, '.sheet-confirm');
  await flush(6);
  expect(texts(page, '.gift-error')).toEqual(['该礼品无需邮寄，不用填写收货信息']);
  expect(page.instance.data.items[0].physical).toBe(false);
  await tap(page, '.redeem-btn');
  expect(h.wx.showModal).toHaveBeenCalledTimes(1); // now a confirmation only
});

// ---- issue 23: what an empty page offers ----------------------------------------------------

const ux = require('./support/harness');

test('积分商城, no gifts: 去订货攒积分; no redemptions: 去兑换礼品 shows the gifts', async () => {
  route(api, {
    'GET /mall/items': { items: [] },
    'GET /ledger/accounts': { items: [] },
    'GET /mall/redemptions': { items: [], next_before: null },
  });
  const page = await open();
  expect(textOf(page)).toContain('积分商城暂无礼品');
  await tap(page, '.empty-shop');
  expect(ux.switchedTo(h.wx)).toEqual(['/pages/catalog/index']);

  await tap(page, '.tab', 1);
  await flush();
  expect(textOf(page)).toContain('还没有兑换记录');
  await tap(page, '.empty-items');
  expect(page.data.tab).toBe('items');
});
