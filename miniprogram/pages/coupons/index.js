/**
 * 我的券包: the store's coupons and exchange vouchers (兑换券) by tab (可用 / 已用 / 已过期),
 * newest first, keyset-paged (`before`). Tapping one shows its history (发放、领取、使用、
 * 退回). Exchange vouchers name the goods they are for, when the API gives them.
 */
const api = require('../../utils/api');
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
const SOURCE_NAMES = { issuance: '品牌发放', claim: '领券中心领取', live: '直播间抢券' };
const EVENT_NAMES = { issued: '发放到券包', claimed: '领取', used: '下单使用', returned: '订单取消，券已退回' };

/** The goods an exchange voucher is for: [{sku_id, quantity, name?}] in `exchange` (or in
 * `terms.exchange`); the wallet view of today's API does not include them (see README). */
function exchangeOf(coupon) {
  const list = coupon.exchange || (coupon.terms && coupon.terms.exchange) || [];
  return list.map((e, i) => ({
    key: `${e.sku_id}-${i}`,
    text: `${[e.product_name, e.sku_name || e.name].filter(Boolean).join(' ') || `商品编号 ${e.sku_id}`} × ${e.quantity}`,
  }));
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
  data: {
    tabs: TABS,
    active: 'available',
    status: 'loading',
    errorMessage: '',
    items: [],
    nextBefore: null,
    loadingMore: false,
    moreError: '',
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
      return this.reload().then(() => wx.stopPullDownRefresh());
    },
    onReachBottom() {
      return this.loadMore();
    },

    query(before) {
      const q = { limit: PAGE_SIZE, state: this.data.active };
      if (before) q.before = before;
      return q;
    },
    async reload() {
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      this.setData({ status: 'loading', errorMessage: '', items: [], nextBefore: null, moreError: '', openId: null });
      try {
        const answer = await api.get('/coupons/wallet', this.query());
        if (seq !== this.seq) return;
        const items = (answer.items || []).map(present);
        this.setData({ items, nextBefore: answer.next_before || null, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    async loadMore() {
      const { nextBefore, loadingMore, status } = this.data;
      if (!nextBefore || loadingMore || status !== 'ready') return;
      const seq = this.seq;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const answer = await api.get('/coupons/wallet', this.query(nextBefore));
        if (seq !== this.seq) return;
        const seen = new Set(this.data.items.map((c) => c.id));
        const more = (answer.items || []).map(present).filter((c) => !seen.has(c.id));
        this.setData({ items: this.data.items.concat(more), nextBefore: answer.next_before || null });
      } catch (err) {
        if (seq === this.seq && !redirectIfSignedOut(err)) this.setData({ moreError: errorMessage(err) });
      } finally {
        if (seq === this.seq) this.setData({ loadingMore: false });
      }
    },
    onRetry() {
      return this.reload();
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
    onUse() {
      wx.switchTab({ url: '/pages/catalog/index' });
    },
    onOpenOrder(e) {
      wx.navigateTo({ url: `/pages/order/index?id=${e.currentTarget.dataset.id}` });
    },
  },
});
