/**
 * 积分与返利: the store's accounts (积分, 返利余额, 红包现金) and the statement of the one
 * chosen: each entry's cause, the change and the balance after it, newest first
 * (`order=desc`, keyset-paged by `before` = the last id shown). Points are whole numbers;
 * the other accounts hold fen, shown through formatFen.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { goShopping } = require('../../components/lib/links');
const { formatFen } = require('../../utils/money');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { appendPatch } = require('../../components/lib/patch');

const PAGE_SIZE = 20;
const ORDER = { points: 0, rebate: 1, cash: 2 };
const NOTES = {
  points: '可在积分商城兑换礼品',
  rebate: '下单时可抵扣未参加活动的商品',
  cash: '直播红包、首单返现等现金奖励',
};

function amountText(kind, value, signed) {
  const sign = signed && value > 0 ? '+' : '';
  if (kind === 'points') return `${sign}${value}`;
  return `${sign}${formatFen(value)}`;
}

function presentAccount(a) {
  return {
    id: a.id,
    kind: a.kind,
    name: a.kind_name,
    balance: amountText(a.kind, a.balance, false),
    unit: a.kind === 'points' ? '积分' : '',
    note: NOTES[a.kind] || '',
  };
}

function presentEntry(kind, e) {
  return {
    id: e.id,
    cause: e.cause_name || e.cause,
    time: formatTime(e.at),
    amount: amountText(kind, e.amount, true),
    incoming: e.amount > 0,
    balanceAfter: amountText(kind, e.balance_after, false),
    orderId: e.order_id || null,
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    accounts: [],
    activeId: null,
    activeKind: '',
    entries: { status: '', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' },
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.wantedKind = (options || {}).kind || 'points';
      return this.load();
    },
    onPullDownRefresh() {
      return endPullDown(this.load());
    },
    onReachBottom() {
      return this.loadMore();
    },

    async load() {
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get('/ledger/accounts');
        const accounts = (answer.items || [])
          .slice()
          .sort((a, b) => (ORDER[a.kind] === undefined ? 9 : ORDER[a.kind]) - (ORDER[b.kind] === undefined ? 9 : ORDER[b.kind]))
          .map(presentAccount);
        if (!accounts.length) {
          this.setData({ accounts, status: 'empty' });
          return;
        }
        const keep = accounts.find((a) => a.id === this.data.activeId);
        const chosen = keep || accounts.find((a) => a.kind === this.wantedKind) || accounts[0];
        this.setData({ accounts, status: 'ready', activeId: chosen.id, activeKind: chosen.kind });
        await this.loadEntries();
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onPick(e) {
      const id = Number(e.currentTarget.dataset.id);
      const account = this.data.accounts.find((a) => a.id === id);
      if (!account || id === this.data.activeId) return Promise.resolve();
      this.setData({ activeId: id, activeKind: account.kind });
      return this.loadEntries();
    },

    async loadEntries() {
      const id = this.data.activeId;
      const kind = this.data.activeKind;
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      this.setData({ entries: { status: 'loading', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      try {
        const answer = await api.get(`/ledger/accounts/${id}/entries`, { limit: PAGE_SIZE, order: 'desc' });
        if (seq !== this.seq) return;
        const items = (answer.items || []).map((e) => presentEntry(kind, e));
        this.setData({
          entries: { status: items.length ? 'ready' : 'empty', message: '', items, nextBefore: answer.next_before || null, loadingMore: false, moreError: '' },
        });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        this.setData({ entries: { status: 'error', message: errorMessage(err), items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      }
    },
    onRetryEntries() {
      return this.loadEntries();
    },
    async loadMore() {
      const { entries, activeId, activeKind } = this.data;
      if (!entries.nextBefore || entries.loadingMore || entries.status !== 'ready') return;
      const seq = this.seq;
      this.setData({ 'entries.loadingMore': true, 'entries.moreError': '' });
      try {
        const answer = await api.get(`/ledger/accounts/${activeId}/entries`, { limit: PAGE_SIZE, order: 'desc', before: entries.nextBefore });
        if (seq !== this.seq) return;
        const seen = new Set(this.data.entries.items.map((e) => e.id));
        const more = (answer.items || []).map((e) => presentEntry(activeKind, e)).filter((e) => !seen.has(e.id));
        this.setData(Object.assign(appendPatch('entries.items', this.data.entries.items, more), { 'entries.nextBefore': answer.next_before || null }));
      } catch (err) {
        if (seq === this.seq && !redirectIfSignedOut(err)) this.setData({ 'entries.moreError': errorMessage(err) });
      } finally {
        if (seq === this.seq) this.setData({ 'entries.loadingMore': false });
      }
    },

    onOpenOrder(e) {
      wx.navigateTo({ url: `/pages/order/index?id=${e.currentTarget.dataset.id}` });
    },
    onGo(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url });
    },
    onGoShopping() {
      goShopping();
    },
  },
});
