jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, order } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
  h.wx.makePhoneCall = jest.fn();
  h.wx.openLocation = jest.fn();
});

function store(overrides) {
  return Object.assign(
    { id: 3, name: '赵记水站', contact_name: '赵老板', phone: '13800000003', address: '东城区幸福路 8 号', location: { latitude: 39.9, longitude: 116.4 }, tier: 'B', tags: ['社区店', '重点'], status: 'active', created_at: '2025-12-01T00:00:00+00:00' },
    overrides || {},
  );
}

async function open(routes) {
  route(api, routes);
  const page = h.page('packageSales/pages/store');
  await page.instance.onLoad({ id: '3' });
  await flush();
  return page;
}

test('the store, its latest orders of every channel, a call, the map and 代下单', async () => {
  const page = await open({
    'GET /stores/3': store(),
    'GET /orders': { items: [order({ channel: 'proxy', payable_fen: 99 }), order({ id: 41, order_no: 'O41', status: 'completed', status_name: '已完成' })], next_before: null },
  });
  expect(api.get).toHaveBeenCalledWith('/orders', { store_id: 3, limit: 10 });
  expect(texts(page, '.store-name')).toEqual(['赵记水站']);
  const text = textOf(page);
  expect(text).toContain('社区店');
  expect(text).toContain('2025-12-01');
  expect(texts(page, '.order-status')).toEqual(['待付款', '已完成']);
  expect(text).toContain('业务员代下单');
  expect(text).toContain('¥0.99');
  await tap(page, '.call');
  expect(h.wx.makePhoneCall).toHaveBeenCalledWith({ phoneNumber: '13800000003' });
  await tap(page, '.address');
  expect(h.wx.openLocation).toHaveBeenCalledWith(expect.objectContaining({ latitude: 39.9, longitude: 116.4 }));
  await tap(page, '.proxy-btn');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/order/index?store_id=3' }));
  await tap(page, '.order', 1);
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/order/index?id=41' }));
});

test('a suspended store cannot be ordered for; no orders yet', async () => {
  const page = await open({ 'GET /stores/3': store({ status: 'suspended' }), 'GET /orders': { items: [], next_before: null } });
  expect(texts(page, '.proxy-btn')).toEqual(['门店已停用，不能代下单']);
  expect(textOf(page)).toContain('这家门店还没有订单');
  page.instance.onProxyOrder();
  expect(h.wx.navigateTo).not.toHaveBeenCalled();
});

test('a store that is not theirs answers 404: the message and 重试', async () => {
  let answer = apiError(api.ApiError, 'org.store_not_found', '找不到该门店', 404);
  const page = await open({ 'GET /stores/3': () => answer, 'GET /orders': { items: [], next_before: null } });
  expect(textOf(page)).toContain('找不到该门店');
  answer = store();
  await tapRetry(page);
  expect(texts(page, '.store-name')).toEqual(['赵记水站']);
});
