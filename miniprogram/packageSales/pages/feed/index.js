/**
 * 门店动态: what the salesperson's stores did lately (GET /sales-feed, the last 7 days by
 * default, newest first): products they looked at, carts left without an order, orders
 * placed, so the salesperson knows whom to call and about what. 近 7 天 / 近 30 天 switch the
 * window. A row opens the store's page.
 */
const api = require('../../../utils/api');
const { endPullDown } = require('../../../components/lib/pull-down');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../../components/lib/errors');
const { formatShortTime } = require('../../../components/lib/format');
const { formatFen } = require('../../../utils/money');
const { requireSalesperson } = require('../../lib/sales');

const KINDS = { view: '浏览', cart: '加购', order: '下单' };
const WINDOWS = [7, 30];

function present(item, index) {
  return {
    key: `f${index}`,
    kind: item.kind,
    kindName: KINDS[item.kind] || '动态',
    storeId: (item.store && item.store.id) || null,
    store: (item.store && item.store.name) || '',
    text: item.text || '',
    at: formatShortTime(item.at),
    amount: item.kind === 'order' && Number.isSafeInteger(item.amount_fen) ? formatFen(item.amount_fen) : '',
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    items: [],
    days: WINDOWS[0],
    windows: WINDOWS.map((d) => ({ days: d, label: `近 ${d} 天` })),
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return this.load();
    },
    onPullDownRefresh() {
      return endPullDown(this.load({ quiet: true }));
    },
    onRetry() {
      return this.load();
    },
    async load(options) {
      const quiet = Boolean(options && options.quiet && this.data.status === 'ready');
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get('/sales-feed', { days: this.data.days });
        if (seq !== this.seq) return; // the window was switched meanwhile
        const items = (answer.items || []).map(present);
        this.setData({ items, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        if (quiet) toastError(err);
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onWindow(e) {
      const days = Number(e.currentTarget.dataset.days);
      if (days === this.data.days) return Promise.resolve();
      this.setData({ days });
      return this.load();
    },
    onOpen(e) {
      const row = this.data.items.find((i) => i.key === e.currentTarget.dataset.key);
      if (row && row.storeId) wx.navigateTo({ url: `/packageSales/pages/store/index?id=${row.storeId}` });
    },
  },
});
