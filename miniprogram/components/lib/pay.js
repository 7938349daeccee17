/**
 * Paying for an order: ask the server for signed wx.requestPayment parameters (the money
 * goes straight to the distributor's sub-merchant account), then let WeChat take the payment.
 *
 * An order that costs nothing (an exchange voucher covers it all) is paid by the platform
 * when it is placed: the server answers /pay with `paid: true` and no payment parameters,
 * and WeChat is never asked (it refuses 0 fen).
 *
 * The result is one of:
 *   {state: 'paid'}       WeChat took the money (the server learns it from WeChat's notice),
 *                         or there was nothing to pay ({state: 'paid', free: true});
 *   {state: 'cancelled'}  the owner closed the payment sheet: the order stays pending and can
 *                         be paid later from the order page, until its deadline;
 *   {state: 'failed', message, error?}  the server refused (error is its ApiError) or WeChat
 *                         failed.
 */

const api = require('../../utils/api');
const { errorMessage } = require('./errors');

/** Waits before asking again whether WeChat's payment notice has reached the server. */
const settings = { confirmDelaysMs: [1000, 2000, 3000] };

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const CANCELLED_MESSAGE = '已取消支付，订单已保留，可在订单详情中继续支付';
const WECHAT_FAILED_MESSAGE = '支付未完成，请稍后重试';

function requestPayment(params) {
  return new Promise((resolve) => {
    wx.requestPayment({
      timeStamp: params.timeStamp,
      nonceStr: params.nonceStr,
      package: params.package,
      signType: params.signType,
      paySign: params.paySign,
      success: () => resolve({ ok: true }),
      fail: (res) => resolve({ ok: false, errMsg: (res && res.errMsg) || '' }),
    });
  });
}

async function payOrder(orderId) {
  let answer;
  try {
    answer = await api.post(`/orders/${orderId}/pay`);
  } catch (error) {
    return { state: 'failed', message: errorMessage(error), error };
  }
  if (answer.paid) return { state: 'paid', free: true, outTradeNo: answer.out_trade_no };
  const outcome = await requestPayment(answer.request_payment || {});
  if (outcome.ok) return { state: 'paid', outTradeNo: answer.out_trade_no };
  if (/cancel/i.test(outcome.errMsg)) return { state: 'cancelled', message: CANCELLED_MESSAGE };
  return { state: 'failed', message: WECHAT_FAILED_MESSAGE };
}

/**
 * After WeChat took the money, the order turns paid when WeChat's notice reaches the
 * server, usually within a second or two: read the order until it is no longer pending (a
 * few tries). Resolves to the last order read, or null when it could not be read.
 */
async function confirmPaid(orderId) {
  let last = null;
  const delays = [0].concat(settings.confirmDelaysMs);
  for (let i = 0; i < delays.length; i += 1) {
    // eslint-disable-next-line no-await-in-loop
    if (delays[i]) await sleep(delays[i]);
    try {
      // eslint-disable-next-line no-await-in-loop
      last = await api.get(`/orders/${orderId}`);
    } catch (error) {
      return last;
    }
    if (last.status !== 'pending_payment') return last;
  }
  return last;
}

module.exports = { payOrder, confirmPaid, settings, CANCELLED_MESSAGE, WECHAT_FAILED_MESSAGE };
