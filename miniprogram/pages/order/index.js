/**
 * 订单详情: lines, amounts, status and timeline of one order, and what the viewer may do
 * now. A store: pay (待付款), cancel (before the distributor accepts; a paid order is
 * refunded in full), sign for the delivery (签收) and order the same again (再来一单).
 * A salesperson (业务员) sees the orders of the stores they serve, named by store, and may
 * only withdraw an unpaid proxy order (代下单) they placed: paying, signing and ordering
 * again are the store's (the same rules as backend/ordering/states.py).
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../components/lib/errors');
const { actionsFor, statusName, CHANNEL_NAMES } = require('../../components/lib/orders');
const { formatTime } = require('../../components/lib/format');
const { payOrder, confirmPaid } = require('../../components/lib/pay');
const { currentRole, isStoreRole } = require('../../components/lib/identity');
const { diffPatch } = require('../../components/lib/patch');

const CANCEL_REASONS = ['不想要了', '商品或数量选错了', '重复下单', '其他原因'];
const SALES_CANCEL_REASONS = ['门店不要了', '商品或数量选错了', '重复下单', '其他原因'];
const SALESPERSON = 'salesperson';

/** The buttons for a salesperson: withdraw an unpaid proxy order, nothing else. */
function salespersonActions(order) {
  return {
    canPay: false,
    canCancel: order.status === 'pending_payment' && order.channel === 'proxy',
    canSign: false,
    canReorder: false,
  };
}

function present(order, viewer) {
  const asSalesperson = viewer === SALESPERSON;
  const actions = asSalesperson ? salespersonActions(order) : actionsFor(order.status);
  return {
    id: order.id,
    orderNo: order.order_no,
    status: order.status,
    statusName: order.status_name || statusName(order.status),
    channel: CHANNEL_NAMES[order.channel] || '',
    storeName: asSalesperson ? order.store_name || '' : '',
    storeId: order.store_id,
    createdAt: formatTime(order.created_at),
    payDeadline: order.status === 'pending_payment' ? formatTime(order.pay_deadline) : '',
    lines: (order.lines || []).map((l, i) => ({
      key: `${l.sku_id}-${i}`,
      title: l.product_name,
      skuName: l.sku_name,
      unit: l.unit,
      quantity: l.quantity,
      unitPriceFen: l.unit_price_fen,
      payableFen: l.payable_fen,
      listAmountFen: l.list_amount_fen,
      gift: Boolean(l.gift),
    })),
    listFen: order.list_amount_fen,
    priceFen: order.discount_fen - (order.promotion_discount_fen || 0) - (order.coupon_discount_fen || 0),
    promotionFen: order.promotion_discount_fen || 0,
    couponFen: order.coupon_discount_fen || 0,
    rebateUsedFen: order.rebate_used_fen || 0,
    payableFen: order.payable_fen,
    paidFen: order.paid_fen || 0,
    refundedFen: order.refunded_fen || 0,
    points: order.points_earned || 0,
    rebateEarnedFen: order.rebate_fen || 0,
    logistics: order.logistics_note || '',
    cancelReason: order.cancel_reason || '',
    timeline: order.timeline || [],
    actions,
    hasActions: Object.keys(actions).some((name) => actions[name]),
    asSalesperson,
  };
}

function ask(options) {
  return new Promise((resolve) => {
    wx.showModal(Object.assign({}, options, {
      success: (res) => resolve(Boolean(res.confirm)),
      fail: () => resolve(false),
    }));
  });
}

function pick(itemList) {
  return new Promise((resolve) => {
    wx.showActionSheet({
      itemList,
      success: (res) => resolve(itemList[res.tapIndex] || null),
      fail: () => resolve(null),
    });
  });
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    order: null,
    paying: false,
    cancelling: false,
    signing: false,
    reordering: false,
  },
  methods: {
    onLoad(options) {
      const role = currentRole();
      if (!isStoreRole(role) && role !== SALESPERSON) {
        wx.reLaunch({ url: '/pages/login/index' });
        return Promise.resolve();
      }
      this.viewer = role;
      this.orderId = Number((options || {}).id);
      return this.load();
    },
    onPullDownRefresh() {
      return endPullDown(this.load({ quiet: true }));
    },

    async load(options) {
      if (!this.orderId) {
        this.setData({ status: 'error', errorMessage: '找不到该订单' });
        return;
      }
      const quiet = options && options.quiet && this.data.order;
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const order = await api.get(`/orders/${this.orderId}`);
        this.setData(Object.assign(diffPatch('order', this.data.order, present(order, this.viewer)), { status: 'ready' }));
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (quiet) toastError(err);
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },

    onPay() {
      if (!this.data.order || !this.data.order.actions.canPay) return Promise.resolve();
      return api.withButtonLock(this, 'paying', async () => {
        const result = await payOrder(this.orderId);
        if (result.error && redirectIfSignedOut(result.error)) return;
        if (result.state !== 'paid') {
          wx.showToast({ title: result.message, icon: 'none', duration: 3000 });
          await this.load({ quiet: true });
          return;
        }
        wx.showToast({ title: '支付成功', icon: 'success' });
        const order = await confirmPaid(this.orderId);
        if (!order) {
          await this.load({ quiet: true });
          return;
        }
        // The order as it is now: its status and actions changed, its lines did not.
        this.setData(diffPatch('order', this.data.order, present(order, this.viewer)));
        if (order.status === 'pending_payment') {
          // Paid in WeChat, not yet confirmed to us: say so rather than offer to pay again.
          this.setData({ 'order.actions.canPay': false, 'order.payDeadline': '', 'order.statusName': '支付确认中' });
        }
      });
    },

    onCancel() {
      if (!this.data.order || !this.data.order.actions.canCancel) return Promise.resolve();
      const asSalesperson = this.data.order.asSalesperson;
      return api.withButtonLock(this, 'cancelling', async () => {
        const reason = await pick(asSalesperson ? SALES_CANCEL_REASONS : CANCEL_REASONS);
        if (!reason) return;
        const paid = this.data.order.status === 'paid';
        let content = paid ? '订单已付款，取消后货款将原路全额退回。确定取消吗？' : '确定取消该订单吗？';
        if (asSalesperson) content = '撤回后门店将无法支付这笔代下单订单。确定撤回吗？';
        const confirmed = await ask({
          title: asSalesperson ? '撤回代下单' : '取消订单',
          content,
          confirmText: '取消订单',
          cancelText: '再想想',
          confirmColor: '#e4393c',
        });
        if (!confirmed) return;
        try {
          await api.post(`/orders/${this.orderId}/cancel`, { reason });
          wx.showToast({ title: paid ? '已取消，货款将原路退回' : '订单已取消', icon: 'none' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          toastError(err);
        }
        await this.load({ quiet: true });
      });
    },

    onSign() {
      if (!this.data.order || !this.data.order.actions.canSign) return Promise.resolve();
      return api.withButtonLock(this, 'signing', async () => {
        const confirmed = await ask({
          title: '确认签收',
          content: '请确认已收到全部商品且数量无误。签收后订单完成。',
          confirmText: '确认签收',
        });
        if (!confirmed) return;
        try {
          await api.post(`/orders/${this.orderId}/sign`, {});
          wx.showToast({ title: '已签收', icon: 'success' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          toastError(err);
        }
        await this.load({ quiet: true });
      });
    },

    onReorder() {
      if (!this.data.order || !this.data.order.actions.canReorder) return Promise.resolve();
      return api.withButtonLock(this, 'reordering', async () => {
        try {
          const cart = await api.post(`/orders/${this.orderId}/reorder`);
          const blocked = (cart.lines || []).filter((l) => !l.orderable).length;
          wx.showToast({ title: blocked ? '已加入购物车，部分商品暂不能下单' : '已加入购物车', icon: 'none' });
          wx.switchTab({ url: '/pages/cart/index' });
        } catch (err) {
          if (!redirectIfSignedOut(err)) toastError(err);
        }
      });
    },
    onOpenStore() {
      const { order } = this.data;
      if (order && order.asSalesperson && order.storeId) wx.navigateTo({ url: `/packageSales/pages/store/index?id=${order.storeId}` });
    },
  },
});
