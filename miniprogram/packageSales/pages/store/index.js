/**
 * 门店详情 (salesperson): one of the salesperson's stores (GET /stores/<id>) with its latest
 * orders (GET /orders?store_id=: every channel, the store's own and the proxy ones; each
 * opens its detail), a call or a map to reach it, and 代下单 to order on its behalf.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { endPullDown } = require('../../../components/lib/pull-down');
const { formatDate, formatTime } = require('../../../components/lib/format');
const { CHANNEL_NAMES, statusName } = require('../../../components/lib/orders');
const { requireSalesperson, STORE_STATUS, tierName } = require('../../lib/sales');

function presentStore(s) {
  return {
    id: s.id,
    name: s.name,
    contactName: s.contact_name || '',
    phone: s.phone || '',
    address: s.address || '',
    location: s.location || null,
    tier: tierName(s.tier),
    tags: s.tags || [],
    status: s.status,
    statusName: STORE_STATUS[s.status] || s.status,
    active: s.status === 'active',
    since: formatDate(s.created_at),
  };
}

function presentOrder(o) {
  return {
    id: o.id,
    orderNo: o.order_no,
    status: o.status,
    statusName: o.status_name || statusName(o.status),
    channel: CHANNEL_NAMES[o.channel] || '',
    createdAt: formatTime(o.created_at),
    payableFen: o.payable_fen,
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    store: null,
    orders: { status: '', message: '', items: [] },
  },
  methods: {
    onLoad(options) {
      if (!requireSalesperson()) return Promise.resolve();
      this.storeId = Number((options || {}).id);
      return this.load();
    },
    onShow() {
      // Back from 代下单: the new order shows.
      if (this.shownOnce && this.data.status === 'ready') this.loadOrders();
      this.shownOnce = true;
    },
    onPullDownRefresh() {
      return endPullDown(this.load());
    },

    async load() {
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const store = await api.get(`/stores/${this.storeId}`);
        this.setData({ store: presentStore(store), status: 'ready' });
        wx.setNavigationBarTitle({ title: store.name });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
        return;
      }
      await this.loadOrders();
    },
    onRetry() {
      return this.load();
    },
    async loadOrders() {
      this.setData({ orders: { status: 'loading', message: '', items: [] } });
      try {
        const answer = await api.get('/orders', { store_id: this.storeId, limit: 10 });
        const items = (answer.items || []).map(presentOrder);
        this.setData({ orders: { status: items.length ? 'ready' : 'empty', message: '', items } });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ orders: { status: 'error', message: errorMessage(err), items: [] } });
      }
    },
    onRetryOrders() {
      return this.loadOrders();
    },

    onCall() {
      if (this.data.store && this.data.store.phone) wx.makePhoneCall({ phoneNumber: this.data.store.phone });
    },
    onMap() {
      const { store } = this.data;
      if (!store || !store.location) return;
      wx.openLocation({ latitude: store.location.latitude, longitude: store.location.longitude, name: store.name, address: store.address });
    },
    onOpenOrder(e) {
      const id = e.currentTarget.dataset.id;
      if (id) wx.navigateTo({ url: `/pages/order/index?id=${id}` });
    },
    onProxyOrder() {
      if (!this.data.store || !this.data.store.active) return;
      wx.navigateTo({ url: `/packageSales/pages/order/index?store_id=${this.storeId}` });
    },
  },
});
