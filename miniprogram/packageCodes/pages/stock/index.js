/**
 * 我的库存: what this store holds by SKU, from its own scans (GET /codes/stock): received
 * (扫码入库), sold (动销) and on hand, with the totals on top. Orders do not count here: a
 * box is in stock once it is scanned in. Pull down or come back from the scanner to reload;
 * the empty state leads to 扫码入库.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { endPullDown } = require('../../../components/lib/pull-down');
const { requireStore } = require('../../../components/lib/identity');

function presentRow(row) {
  const received = Number(row.received) || 0;
  const sold = Number(row.sold) || 0;
  const onHand = row.on_hand !== undefined ? Number(row.on_hand) : received - sold;
  return {
    id: row.sku_id,
    name: row.name || '',
    spec: row.spec || '',
    image: row.image_url || '',
    received,
    sold,
    onHand,
    sellThrough: received ? `${Math.round((sold * 100) / received)}%` : '—',
  };
}

function summaryOf(items) {
  const sum = (key) => items.reduce((total, row) => total + row[key], 0);
  return { skus: items.length, received: sum('received'), sold: sum('sold'), onHand: sum('onHand') };
}

Component({
  behaviors: [pagedList],
  data: {
    summary: null,
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      return this.reload();
    },
    onShow() {
      if (!this.shownOnce) {
        this.shownOnce = true;
        return Promise.resolve();
      }
      return this.reload({ quiet: true });
    },
    onPullDownRefresh() {
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage() {
      // One row per SKU the store ever scanned in: short, and it comes whole.
      const answer = await api.get('/codes/stock');
      const items = (answer.items || []).map(presentRow).sort((a, b) => b.onHand - a.onHand);
      return { items, next: null };
    },
    afterPage() {
      const summary = summaryOf(this.data.items);
      const same = this.data.summary && Object.keys(summary).every((k) => summary[k] === this.data.summary[k]);
      if (!same) this.setData({ summary });
    },
    onScan(e) {
      const mode = e.currentTarget.dataset.mode || 'receive';
      wx.navigateTo({ url: `/packageCodes/pages/scan/index?mode=${mode}` });
    },
  },
});
