jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, priced, order } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

const payParams = {
  payment_id: 5,
  out_trade_no: 'P2026010500001',
  request_payment: { timeStamp: '1767594600', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2lnbg==', prepay_id: 'wx123' },
};

function payWith(result) {
  h.wx.requestPayment = jest.fn((o) => Promise.resolve().then(() => (result.ok ? o.success({ errMsg: 'requestPayment:ok' }) : o.fail({ errMsg: result.errMsg }))));
}

async function openCheckout(options) {
  const page = h.page('checkout');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('shows what will be ordered and paid, formatted from fen', async () => {
  route(api, { 'GET /cart': priced() });
  const page = await openCheckout();
  const text = textOf(page);
  expect(text).toContain('RO 净水器');
  expect(text).toContain('活动优惠-¥300.00');
  expect(text).toContain('应付 ¥2,700.00');
  expect(texts(page, '.submit-btn')).toEqual(['提交订单']);
});

test('a double tap places one order with one Idempotency-Key, then pays it', async () => {
  const placed = deferred();
  route(api, {
    'GET /cart': priced(),
    'POST /orders': () => placed.promise,
    'POST /orders/42/pay': payParams,
  });
  payWith({ ok: true });
  const page = await openCheckout({ coupon_id: '31' });

  await tap(page, '.submit-btn');
  await tap(page, '.submit-btn');
  placed.resolve(order());
  await flush(6);

  expect(api.post.mock.calls.filter((c) => c[0] === '/orders')).toEqual([['/orders', { coupon_id: 31 }, { idempotencyKey: 'key-1' }]]);
  expect(api.newIdempotencyKey).toHaveBeenCalledTimes(1);
  expect(api.post).toHaveBeenCalledWith('/orders/42/pay');
  expect(h.wx.requestPayment).toHaveBeenCalledWith(expect.objectContaining({ timeStamp: '1767594600', nonceStr: 'n0nce', package: 'prepay_id=wx123', signType: 'RSA', paySign: 'c2lnbg==' }));
  const text = textOf(page);
  expect(text).toContain('支付成功');
  expect(text).toContain('实付 ¥2,700.00');

  await tap(page, '.result-btn');
  expect(h.wx.redirectTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
});

test('a retry after a lost answer sends the same key; after a refusal the next attempt is new', async () => {
  const answers = [
    apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0),
    apiError(api.ApiError, 'order.lines_unavailable', '部分商品暂时无法订购', 409),
    order(),
  ];
  route(api, {
    'GET /cart': priced(),
    'POST /orders': () => answers.shift(),
    'POST /orders/42/pay': payParams,
  });
  payWith({ ok: true });
  const page = await openCheckout();

  await page.instance.onSubmit();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  await page.instance.onSubmit();
  await flush();
  expect(textOf(page)).toContain('部分商品暂时无法订购');
  await page.instance.onSubmit();
  await flush();

  const keys = api.post.mock.calls.filter((c) => c[0] === '/orders').map((c) => c[2].idempotencyKey);
  expect(keys).toEqual(['key-1', 'key-1', 'key-2']);
  expect(textOf(page)).toContain('支付成功');
});

test('use_rebate is sent when chosen and the quote has rebate to use', async () => {
  route(api, {
    'GET /cart': priced({ rebate: { balance_fen: 50000, usable_fen: 10000, rule: '' } }),
    'POST /orders': order({ payable_fen: 260000 }),
    'POST /orders/42/pay': payParams,
  });
  payWith({ ok: true });
  const page = await openCheckout({ use_rebate: '1' });
  expect(textOf(page)).toContain('返利抵扣-¥100.00');
  expect(textOf(page)).toContain('应付 ¥2,600.00');
  await page.instance.onSubmit();
  expect(api.post).toHaveBeenCalledWith('/orders', { use_rebate: true }, { idempotencyKey: 'key-1' });
});

test('a cancelled payment keeps the order pending and pays again without placing again', async () => {
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order(),
    'POST /orders/42/pay': payParams,
  });
  payWith({ ok: false, errMsg: 'requestPayment:fail cancel' });
  const page = await openCheckout();
  await page.instance.onSubmit();
  await flush();
  const text = textOf(page);
  expect(text).toContain('支付已取消');
  expect(text).toContain('订单已保留，可在订单详情中继续支付');
  expect(text).toContain('待付款 ¥2,700.00');
  expect(text).toContain('2026-01-05 15:00 前完成支付');

  payWith({ ok: true });
  await tap(page, '.pay-again');
  await flush();
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders')).toHaveLength(1);
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders/42/pay')).toHaveLength(2);
  expect(textOf(page)).toContain('支付成功');
});

test('a payment the server refuses shows its Chinese message', async () => {
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order(),
    'POST /orders/42/pay': apiError(api.ApiError, 'payments.distributor_not_onboarded', '该经销商尚未开通微信支付，请联系经销商线下付款', 409),
  });
  h.wx.requestPayment = jest.fn();
  const page = await openCheckout();
  await page.instance.onSubmit();
  await flush();
  expect(textOf(page)).toContain('支付未完成');
  expect(textOf(page)).toContain('该经销商尚未开通微信支付，请联系经销商线下付款');
  expect(h.wx.requestPayment).not.toHaveBeenCalled();
});

test('an order a voucher pays in full is placed paid: shown as paid, WeChat Pay never opened', async () => {
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order({ payable_fen: 0, status: 'paid', status_name: '待接单', coupon_discount_fen: 270000 }),
  });
  h.wx.requestPayment = jest.fn();
  const page = await openCheckout({ coupon_id: '31' });
  await tap(page, '.submit-btn');
  await flush(4);
  const text = textOf(page);
  expect(text).toContain('下单成功，无需支付');
  expect(text).toContain('实付 ¥0.00');
  expect(text).toContain('优惠已全额抵扣，订单已支付');
  expect(api.post.mock.calls.filter((c) => c[0] === '/orders/42/pay')).toHaveLength(0);
  expect(h.wx.requestPayment).not.toHaveBeenCalled();
});

test('a 0-fen order the server reports paid on /pay shows as paid without wx.requestPayment', async () => {
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order({ payable_fen: 0 }),
    'POST /orders/42/pay': { paid: true, payment_id: 9, out_trade_no: 'Z2601050000001', request_payment: null },
  });
  h.wx.requestPayment = jest.fn();
  const page = await openCheckout();
  await page.instance.onSubmit();
  await flush();
  expect(api.post).toHaveBeenCalledWith('/orders/42/pay');
  expect(h.wx.requestPayment).not.toHaveBeenCalled();
  expect(textOf(page)).toContain('下单成功，无需支付');
});

test('an empty cart has nothing to order', async () => {
  route(api, { 'GET /cart': priced({ lines: [], promotions: null }) });
  const page = await openCheckout();
  expect(textOf(page)).toContain('购物车是空的');
  expect(page.querySelector('.submit-btn')).toBeFalsy();
});

function reminderTemplate(remaining) {
  return { items: [{ kind: 'reorder_reminder', template_id: 'TPL-R', title: '补货提醒', remaining }] };
}

test('once paid, 开启补货提醒 asks WeChat for the reorder reminder and reports the answer', async () => {
  h.wx.requestSubscribeMessage = h.wxAsync(() => ({ errMsg: 'requestSubscribeMessage:ok', 'TPL-R': 'accept' }));
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order(),
    'POST /orders/42/pay': payParams,
    'GET /notifications/subscriptions': reminderTemplate(0),
    'POST /notifications/subscriptions': reminderTemplate(1),
  });
  payWith({ ok: true });
  const page = await openCheckout();
  expect(api.get).not.toHaveBeenCalledWith('/notifications/subscriptions');
  await page.instance.onSubmit();
  await flush();
  expect(textOf(page)).toContain('常买的商品到了该补货的时候，用微信提醒我');
  await tap(page, '.remind-btn');
  await flush();
  expect(h.wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL-R']);
  expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: ['TPL-R'], rejected: [] });
  expect(texts(page, '.remind-on')).toEqual(['已开启补货提醒']);
  expect(page.querySelectorAll('.remind-btn')).toHaveLength(0);
});

test('an owner who allowed the reorder reminder already is not asked again', async () => {
  route(api, {
    'GET /cart': priced(),
    'POST /orders': order(),
    'POST /orders/42/pay': payParams,
    'GET /notifications/subscriptions': reminderTemplate(2),
  });
  payWith({ ok: true });
  const page = await openCheckout();
  await page.instance.onSubmit();
  await flush();
  expect(texts(page, '.remind-on')).toEqual(['已开启补货提醒']);
  expect(page.querySelectorAll('.remind-btn')).toHaveLength(0);
});
