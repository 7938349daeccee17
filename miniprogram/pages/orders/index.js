/**
 * 我的订单: the store's orders, newest first, by status tab, each with what it bought in a
 * line, paged by keyset (`before` = the last id shown) with "加载更多" and on reaching the
 * bottom.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const pagedList = require('../../components/lib/paged-list');
const { STATUS_TABS, CHANNEL_NAMES, statusName } = require('../../components/lib/orders');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { takeIntent } = require('../../components/lib/intent');
const track = require('../../utils/track');

const THIS_PAGE = '/pages/orders/index';

const PAGE_SIZE = 20;

function present(order) {
  return {
    id: order.id,
    orderNo: order.order_no,
    status: order.status,
    statusName: order.status_name || statusName(order.status),
    channel: CHANNEL_NAMES[order.channel] || '',
    createdAt: formatTime(order.created_at),
    payableFen: order.payable_fen,
    discountFen: order.discount_fen,
    points: order.points_earned,
    // What was bought, in a line (GET /orders gives each order's summary).
    summary: (order.summary && order.summary.text) || '',
    gifts: order.summary && order.summary.gift_quantity ? `含赠品 ${order.summary.gift_quantity} 件` : '',
  };
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: STATUS_TABS,
    active: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const wanted = (options || {}).status || this.intendedTab() || '';
      if (STATUS_TABS.some((t) => t.status === wanted)) this.setData({ active: wanted });
      this.loadedOnce = true;
      return this.reload();
    },
    /** The tab the home page asked for ('all' is 全部), if any. */
    intendedTab() {
      const intent = takeIntent(THIS_PAGE);
      if (intent === null) return null;
      return intent === 'all' ? '' : intent;
    },
    onShow() {
      track.pageView('pages/orders/index');
      const first = !this.shownOnce;
      this.shownOnce = true;
      const wanted = this.intendedTab();
      if (wanted !== null && wanted !== this.data.active && STATUS_TABS.some((t) => t.status === wanted)) {
        this.setData({ active: wanted });
        return this.reload();
      }
      if (first && this.loadedOnce) return Promise.resolve(); // onLoad has just loaded
      // Back from an order that was paid or cancelled: show its new status.
      return this.reload({ quiet: true });
    },
    onPullDownRefresh() {
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage(before) {
      const query = { limit: PAGE_SIZE };
      if (this.data.active) query.status = this.data.active;
      if (before) query.before = before;
      const answer = await api.get('/orders', query);
      return { items: (answer.items || []).map(present), next: answer.next_before };
    },
    onTab(e) {
      const status = e.currentTarget.dataset.status || '';
      if (status === this.data.active) return Promise.resolve();
      this.setData({ active: status });
      return this.reload();
    },
    onOpen(e) {
      wx.navigateTo({ url: `/pages/order/index?id=${e.currentTarget.dataset.id}` });
    },
    onGoShopping() {
      wx.switchTab({ url: '/pages/catalog/index' });
    },
  },
});
