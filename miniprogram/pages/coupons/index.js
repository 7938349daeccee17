/**
 * 我的券包: the store's coupons and exchange vouchers (兑换券) by tab (可用 / 已用 / 已过期),
 * newest first, keyset-paged (`before`). Tapping one shows its history (发放、领取、使用、
 * 退回). Exchange vouchers (兑换券) name the SKUs they exchange and how many (`exchange` in
 * the wallet: product, SKU and unit); each links to its product, and 去兑换 opens the
 * product of a voucher's first SKU.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { goShopping, goHome } = require('../../components/lib/links');
const pagedList = require('../../components/lib/paged-list');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatDate, formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');

const PAGE_SIZE = 20;
const TABS = [
  { state: 'available', name: '可用' },
  { state: 'used', name: '已用' },
  { state: 'expired', name: '已过期' },
];
const KIND_NAMES = { reduction: '满减券', discount: '折扣券', exchange: '兑换券' };
const SOURCE_NAMES = { issuance: '品牌发放', claim: '领券中心领取', live: '直播间抢券', display: '陈列活动奖励' };
const EVENT_NAMES = { issued: '发放到券包', claimed: '领取', used: '下单使用', returned: '订单取消，券已退回' };

/** The goods an exchange voucher gives: `exchange` [{sku_id, quantity, product_id,
 * product_name, sku_name, unit}] of the wallet (coupons.service.exchange_view). */
function exchangeOf(coupon) {
  const list = coupon.exchange || [];
  return list.map((e, i) => ({
    key: `${e.sku_id}-${i}`,
    skuId: e.sku_id,
    productId: e.product_id || null,
    text: `${[e.product_name, e.sku_name].filter(Boolean).join(' ') || `商品编号 ${e.sku_id}`} × ${e.quantity}${e.unit || ''}`,
  }));
}

function productUrl(goods) {
  return `/pages/product/index?product_id=${goods.productId}&sku_id=${goods.skuId}`;
}

function validity(coupon) {
  const from = formatDate(coupon.valid_from);
  const until = formatDate(coupon.valid_until);
  if (from && until) return `${from} 至 ${until}`;
  return until ? `${until} 前有效` : '';
}

function present(coupon) {
  return {
    id: coupon.id,
    name: coupon.name,
    kind: coupon.kind,
    kindName: KIND_NAMES[coupon.kind] || '优惠券',
    description: coupon.description || '',
    state: coupon.state,
    stateLabel: coupon.state_label || '',
    validity: validity(coupon),
    source: SOURCE_NAMES[coupon.source] || '',
    orderId: coupon.order_id || null,
    exchange: exchangeOf(coupon),
    usable: coupon.state === 'available',
  };
}

function presentEvent(event, index) {
  return {
    key: `${index}-${event.at}`,
    name: EVENT_NAMES[event.kind] || event.kind,
    orderId: event.order_id || null,
    time: formatTime(event.at),
  };
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: TABS,
    active: 'available',
    openId: null,
    history: { status: '', message: '', items: [] },
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const wanted = (options || {}).state;
      if (TABS.some((t) => t.state === wanted)) this.setData({ active: wanted });
      return this.reload();
    },
    onPullDownRefresh() {
      return endPullDown(this.reload());
    },

    async fetchPage(before) {
      if (!before) this.setData({ openId: null }); // a fresh list: nothing unfolded
      const query = { limit: PAGE_SIZE, state: this.data.active };
      if (before) query.before = before;
      const answer = await api.get('/coupons/wallet', query);
      return { items: (answer.items || []).map(present), next: answer.next_before };
    },
    onTab(e) {
      const state = e.currentTarget.dataset.state;
      if (!state || state === this.data.active) return Promise.resolve();
      this.setData({ active: state });
      return this.reload();
    },

    async onToggle(e) {
      const id = Number(e.currentTarget.dataset.id);
      if (this.data.openId === id) {
        this.setData({ openId: null });
        return;
      }
      this.setData({ openId: id, history: { status: 'loading', message: '', items: [] } });
      await this.loadHistory(id);
    },
    async loadHistory(id) {
      this.setData({ history: { status: 'loading', message: '', items: [] } });
      try {
        const answer = await api.get(`/coupons/wallet/${id}/history`);
        if (this.data.openId !== id) return;
        const items = (answer.items || []).map(presentEvent).reverse();
        this.setData({ history: { status: items.length ? 'ready' : 'empty', message: '', items } });
      } catch (err) {
        if (this.data.openId !== id || redirectIfSignedOut(err)) return;
        this.setData({ history: { status: 'error', message: errorMessage(err), items: [] } });
      }
    },
    onRetryHistory() {
      return this.data.openId ? this.loadHistory(this.data.openId) : Promise.resolve();
    },
    onUse(e) {
      const id = Number(e && e.currentTarget && e.currentTarget.dataset.id);
      const coupon = this.data.items.find((c) => c.id === id);
      const goods = coupon && coupon.exchange.find((g) => g.productId);
      // A voucher is used by ordering what it exchanges: open that product.
      if (goods) wx.navigateTo({ url: productUrl(goods) });
      else wx.switchTab({ url: '/pages/catalog/index' });
    },
    onOpenGoods(e) {
      const { product, sku } = e.currentTarget.dataset;
      if (!product) return;
      wx.navigateTo({ url: productUrl({ productId: product, skuId: sku }) });
    },
    onOpenOrder(e) {
      wx.navigateTo({ url: `/pages/order/index?id=${e.currentTarget.dataset.id}` });
    },
    onGoClaim() {
      goHome();
    },
    onGoShopping() {
      goShopping();
    },
  },
});
