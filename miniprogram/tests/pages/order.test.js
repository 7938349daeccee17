jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, orderDetail } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
  h.wx.showActionSheet = h.wxAsync(() => ({ errMsg: 'showActionSheet:ok', tapIndex: 0 }));
});

async function openOrder(detail, extra) {
  let current = detail;
  route(api, Object.assign({ 'GET /orders/42': () => current }, extra || {}));
  const page = h.page('order');
  await page.instance.onLoad({ id: '42' });
  await flush();
  return { page, set: (next) => { current = next; } };
}

function buttons(page) {
  return texts(page, '.act');
}

test('shows lines, amounts from fen, the deadline and the timeline', async () => {
  const { page } = await openOrder(orderDetail({ coupon_discount_fen: 10000, discount_fen: 100000, payable_fen: 260000, promotion_discount_fen: 30000 }));
  const text = textOf(page);
  expect(text).toContain('待付款');
  expect(text).toContain('请在 2026-01-05 15:00 前完成支付');
  expect(text).toContain('RO 净水器');
  expect(text).toContain('¥1,500.00 × 2台');
  expect(text).toContain('商品原价¥3,600.00');
  expect(text).toContain('门店价优惠-¥600.00');
  expect(text).toContain('活动优惠-¥300.00');
  expect(text).toContain('优惠券-¥100.00');
  expect(text).toContain('应付¥2,600.00');
  expect(text).toContain('提交订单');
  expect(buttons(page)).toEqual(['取消订单', '去支付']);
});

test.each([
  ['paid', ['取消订单', '再来一单']],
  ['accepted', ['再来一单']],
  ['shipped', ['再来一单', '确认签收']],
  ['delivered', ['再来一单', '确认签收']],
  ['completed', ['再来一单']],
  ['cancelled', ['再来一单']],
])('a %s order offers %j', async (status, expected) => {
  const { page } = await openOrder(orderDetail({ status, status_name: '' }));
  expect(buttons(page)).toEqual(expected);
});

test('pay: WeChat Pay with the server parameters, then the new status', async () => {
  const prepay = deferred();
  const { page, set } = await openOrder(orderDetail(), { 'POST /orders/42/pay': () => prepay.promise });
  h.wx.requestPayment = jest.fn((o) => {
    set(orderDetail({ status: 'paid', status_name: '待接单', paid_fen: 270000 }));
    o.success({ errMsg: 'requestPayment:ok' });
  });
  await tap(page, '.act-pay');
  await tap(page, '.act-pay');
  prepay.resolve({ payment_id: 1, out_trade_no: 'P1', request_payment: { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' } });
  await flush();
  expect(h.wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining({ package: 'prepay_id=x', paySign: 's' }));
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders/42/pay')).toHaveLength(1);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '支付成功' }));
  expect(textOf(page)).toContain('待接单');
  expect(textOf(page)).toContain('已付¥2,700.00');
});

test('paid in WeChat but not yet confirmed: no second 去支付', async () => {
  require('../../components/lib/pay').settings.confirmDelaysMs = [0, 0];
  const { page } = await openOrder(orderDetail(), {
    'POST /orders/42/pay': { payment_id: 1, out_trade_no: 'P1', request_payment: {} },
  });
  h.wx.requestPayment = jest.fn((o) => o.success({ errMsg: 'requestPayment:ok' }));
  await tap(page, '.act-pay');
  await flush(5);
  expect(api.get.mock.calls.filter((c) => c[0] === '/orders/42').length).toBe(4);
  expect(texts(page, '.status-name')).toEqual(['支付确认中']);
  expect(buttons(page)).toEqual(['取消订单']);
});

test('pay cancelled in WeChat: the order stays pending', async () => {
  const { page } = await openOrder(orderDetail(), {
    'POST /orders/42/pay': { payment_id: 1, out_trade_no: 'P1', request_payment: {} },
  });
  h.wx.requestPayment = jest.fn((o) => o.fail({ errMsg: 'requestPayment:fail cancel' }));
  await tap(page, '.act-pay');
  await flush();
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已取消支付，订单已保留，可在订单详情中继续支付' }));
  expect(buttons(page)).toEqual(['取消订单', '去支付']);
});

test('cancel asks for a reason and a confirmation, then POSTs it', async () => {
  const { page, set } = await openOrder(orderDetail({ status: 'paid', status_name: '待接单' }), {
    'POST /orders/42/cancel': () => {
      set(orderDetail({ status: 'cancelled', status_name: '已取消', cancel_reason: '不想要了' }));
      return orderDetail({ status: 'cancelled' });
    },
  });
  h.wx.showModal.mockImplementationOnce((o) => o.success({ confirm: false, cancel: true }));
  await tap(page, '.act-cancel');
  await flush();
  expect(api.post).not.toHaveBeenCalled();

  await tap(page, '.act-cancel');
  await flush();
  expect(h.wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ content: '订单已付款，取消后货款将原路全额退回。确定取消吗？' }));
  expect(api.post).toHaveBeenCalledWith('/orders/42/cancel', { reason: '不想要了' });
  expect(textOf(page)).toContain('取消原因：不想要了');
});

test('a refused action shows the server message', async () => {
  const { page } = await openOrder(orderDetail({ status: 'shipped', status_name: '已发货' }), {
    'POST /orders/42/sign': apiError(api.ApiError, 'order.illegal_transition', '订单已完成，不能签收', 409),
  });
  await tap(page, '.act-sign');
  await flush();
  expect(api.post).toHaveBeenCalledWith('/orders/42/sign', {});
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '订单已完成，不能签收' }));
});

test('sign for the delivery', async () => {
  const { page, set } = await openOrder(orderDetail({ status: 'delivered', status_name: '已送达' }), {
    'POST /orders/42/sign': () => {
      set(orderDetail({ status: 'completed', status_name: '已完成' }));
      return {};
    },
  });
  await tap(page, '.act-sign');
  await flush();
  expect(api.post).toHaveBeenCalledWith('/orders/42/sign', {});
  expect(texts(page, '.status-name')).toEqual(['已完成']);
  expect(buttons(page)).toEqual(['再来一单']);
});

test('order again puts the lines back in the cart and opens it', async () => {
  const reorder = deferred();
  const { page } = await openOrder(orderDetail({ status: 'completed', status_name: '已完成' }), {
    'POST /orders/42/reorder': () => reorder.promise,
  });
  await tap(page, '.act-reorder');
  await tap(page, '.act-reorder');
  reorder.resolve({ lines: [{ sku_id: 1, orderable: true }] });
  await flush();
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders/42/reorder')).toHaveLength(1);
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/cart/index' }));
});

test('a failed load shows the message and 重试', async () => {
  let fail = true;
  route(api, { 'GET /orders/42': () => (fail ? apiError(api.ApiError, 'order.not_found', '找不到该订单', 404) : orderDetail()) });
  const page = h.page('order');
  await page.instance.onLoad({ id: '42' });
  await flush();
  expect(textOf(page)).toContain('找不到该订单');
  fail = false;
  await tapRetry(page);
  expect(textOf(page)).toContain('O20260105000042');
});

// ---- a salesperson's view of the orders of their stores --------------------------------------------

const SALESPERSON = { identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } };

function asSalesperson() {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore(SALESPERSON);
  h.wx.showActionSheet = h.wxAsync(() => ({ errMsg: 'showActionSheet:ok', tapIndex: 0 }));
}

function proxyOrder(overrides) {
  return orderDetail(Object.assign({ channel: 'proxy', salesperson_id: 4, placed_by_user_id: 9, store_name: '鑫旺五金店' }, overrides || {}));
}

test('a salesperson sees a proxy order of their store, named, and may only withdraw it while unpaid', async () => {
  asSalesperson();
  const { page, set } = await openOrder(proxyOrder(), {
    'POST /orders/42/cancel': () => {
      set(proxyOrder({ status: 'cancelled', status_name: '已取消', cancel_reason: '门店不要了' }));
      return {};
    },
  });
  expect(h.wx.reLaunch).not.toHaveBeenCalled();
  const text = textOf(page);
  expect(text).toContain('门店鑫旺五金店');
  expect(text).toContain('业务员代下单');
  expect(text).toContain('等待门店在 2026-01-05 15:00 前完成支付');
  expect(text).not.toContain('请在 2026-01-05 15:00 前完成支付');
  expect(buttons(page)).toEqual(['撤回代下单']);
  expect(page.querySelectorAll('.act-pay')).toHaveLength(0);

  await tap(page, '.act-cancel');
  await flush();
  expect(h.wx.showActionSheet).toHaveBeenCalledWith(expect.objectContaining({ itemList: expect.arrayContaining(['门店不要了']) }));
  expect(h.wx.showModal).toHaveBeenLastCalledWith(expect.objectContaining({ title: '撤回代下单' }));
  expect(api.post).toHaveBeenCalledWith('/orders/42/cancel', { reason: '门店不要了' });
  expect(textOf(page)).toContain('取消原因：门店不要了');
  expect(page.querySelectorAll('.action-bar')).toHaveLength(0); // nothing left to do

  await tap(page, '.store-link');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/store/index?id=3' }));
});

test.each([
  ['a paid proxy order', { status: 'paid', status_name: '待接单' }],
  ['a shipped proxy order', { status: 'shipped', status_name: '已发货' }],
  ['the store\'s own unpaid order', { channel: 'self', salesperson_id: 4, placed_by_user_id: 7 }],
  ['a completed order', { status: 'completed', status_name: '已完成' }],
])('a salesperson gets no buttons on %s', async (name, overrides) => {
  asSalesperson();
  const { page } = await openOrder(proxyOrder(overrides));
  expect(buttons(page)).toEqual([]);
  expect(page.querySelectorAll('.action-bar')).toHaveLength(0);
  // and the handlers refuse too, should one be called anyway
  await page.instance.onPay();
  await page.instance.onSign();
  await page.instance.onReorder();
  await page.instance.onCancel();
  expect(api.post).not.toHaveBeenCalled();
});

test('another salesperson\'s order answers 404 with its message', async () => {
  asSalesperson();
  route(api, { 'GET /orders/42': apiError(api.ApiError, 'order.not_found', '找不到该订单', 404) });
  const page = h.page('order');
  await page.instance.onLoad({ id: '42' });
  await flush();
  expect(textOf(page)).toContain('找不到该订单');
  expect(page.querySelectorAll('.act')).toHaveLength(0);
});

test('a store sees no store row, and someone who is neither store nor salesperson signs in again', async () => {
  const { page } = await openOrder(orderDetail({ store_name: '鑫旺五金店' }));
  expect(page.querySelectorAll('.store-link')).toHaveLength(0);

  h = fresh();
  api = require('../../utils/api');
  signInAsStore({ identity: { user_id: 5, role: 'distributor_admin', membership_id: 30, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: null } });
  const other = h.page('order');
  await other.instance.onLoad({ id: '42' });
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});
