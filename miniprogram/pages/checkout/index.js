/**
 * 确认订单 → 下单 → 支付.
 *
 * The order is placed from the server-side cart (POST /orders with the chosen coupon and
 * rebate) under one Idempotency-Key per attempt: a retry after a lost answer or a server
 * hiccup sends the same key, so the server places the order at most once; a definitive
 * refusal (stock gone, coupon used) ends the attempt, and the next tap is a new one.
 * Once placed, the order is paid with WeChat Pay (POST /orders/<id>/pay →
 * wx.requestPayment). A cancelled payment leaves the order pending: it can be paid later
 * from the order page until its deadline. An order that costs nothing (an exchange voucher
 * covers it all) comes back already paid: it shows as paid, and WeChat Pay is never opened.
 * Once paid, an owner who has not allowed it yet is offered 开启补货提醒: a WeChat message
 * when a product the store buys regularly is due again (the reorder_reminder template).
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { presentPriced } = require('../../components/lib/priced');
const { payOrder } = require('../../components/lib/pay');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const subscribe = require('../../components/lib/subscribe');

// After these the same request may still succeed: keep the key so the retry is the same one.
function keepsAttempt(err) {
  if (!err || !err.code) return true;
  if (err.code === 'network.failed' || err.code === 'idempotency.in_progress') return true;
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    cart: null,
    couponId: null,
    useRebate: false,
    stage: 'confirm', // confirm | paying | paid | cancelled | failed
    submitting: false,
    submitError: '',
    payMessage: '',
    order: null,
    remind: '', // '' (not offered) | 'ask' | 'on' (a reorder reminder is allowed)
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const query = options || {};
      this.setData({
        couponId: Number(query.coupon_id) || null,
        useRebate: query.use_rebate === '1' || query.use_rebate === 'true',
      });
      return this.load();
    },

    async load() {
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const { couponId, useRebate } = this.data;
        const answer = await api.get('/cart', couponId ? { coupon_id: couponId } : undefined);
        const cart = presentPriced(answer, { useRebate });
        this.setData({ cart, status: cart.hasLines ? 'ready' : 'empty' });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },

    orderBody() {
      const body = {};
      const { cart, couponId, useRebate } = this.data;
      // A coupon the quote refused would only be refused again: order without it is the
      // owner's call, so it is sent and the server's reason shown.
      if (couponId) body.coupon_id = couponId;
      if (useRebate && cart && cart.rebate.usableFen > 0) body.use_rebate = true;
      return body;
    },

    onSubmit() {
      return api.withButtonLock(this, 'submitting', async () => {
        if (!this.data.order) {
          const placed = await this.place();
          if (!placed) return;
        }
        if (this.data.order.free) {
          this.setData({ stage: 'paid', payMessage: '' });
        } else {
          await this.pay();
        }
        if (this.data.stage === 'paid') await this.offerReminder();
      });
    },

    async place() {
      const body = this.orderBody();
      const signature = JSON.stringify(body);
      if (!this.attempt || this.attempt.signature !== signature) {
        this.attempt = { key: api.newIdempotencyKey(), signature };
      }
      this.setData({ submitError: '' });
      try {
        const order = await api.post('/orders', body, { idempotencyKey: this.attempt.key });
        this.attempt = null;
        this.setData({
          order: {
            id: order.id,
            orderNo: order.order_no,
            payableFen: order.payable_fen,
            payDeadline: formatTime(order.pay_deadline),
            // Paid by the platform when placed: nothing was left to pay.
            free: order.payable_fen === 0 && order.status !== 'pending_payment',
          },
        });
        return true;
      } catch (err) {
        if (redirectIfSignedOut(err)) return false;
        if (!keepsAttempt(err)) {
          this.attempt = null;
          // What changed (stock, prices, the coupon) shows in the refreshed cart.
          this.load();
        }
        this.setData({ submitError: errorMessage(err) });
        return false;
      }
    },

    async pay() {
      const { order } = this.data;
      this.setData({ stage: 'paying', payMessage: '' });
      const result = await payOrder(order.id);
      if (result.error && redirectIfSignedOut(result.error)) return;
      this.setData({ stage: result.state, payMessage: result.message || '', 'order.free': !!result.free });
    },

    /** The reorder reminder's template, read now so that the tap can ask at once. */
    async offerReminder() {
      const found = await subscribe.loadTemplates();
      this.reminder = found[subscribe.KINDS.reorder] || null;
      if (this.reminder) this.setData({ remind: this.reminder.remaining > 0 ? 'on' : 'ask' });
    },
    onRemind() {
      if (!this.reminder) return Promise.resolve();
      // First thing in the tap: WeChat only asks for subscriptions from a tap.
      return subscribe.ask([this.reminder.templateId]).then((answer) => {
        if (answer.accepted.length) {
          this.setData({ remind: 'on' });
          wx.showToast({ title: '已开启补货提醒', icon: 'success' });
        } else if (answer.rejected.length) {
          wx.showToast({ title: '您未允许补货提醒，可在小程序设置中开启', icon: 'none' });
        }
      });
    },

    onViewOrder() {
      wx.redirectTo({ url: `/pages/order/index?id=${this.data.order.id}` });
    },
    onContinueShopping() {
      wx.switchTab({ url: '/pages/catalog/index' });
    },
    onBackToCart() {
      wx.navigateBack();
    },
  },
});
