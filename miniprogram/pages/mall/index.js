/**
 * 积分商城: the brand's gifts at a points price, the store's points, redeeming one gift
 * (a confirmation, then POST /mall/items/<id>/redeem under one Idempotency-Key, kept for a
 * retry after a lost answer), and the store's redemptions (兑换记录) with their status.
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { createAttempts } = require('../../components/lib/attempt');

const PAGE_SIZE = 20;

function presentItem(item, points) {
  let blocked = '';
  if (item.stock <= 0) blocked = '已兑完';
  else if (points !== null && points < item.points_price) blocked = '积分不足';
  return {
    id: item.id,
    name: item.name,
    description: item.description || '',
    image: item.image_url || '',
    price: item.points_price,
    stock: item.stock,
    blocked,
  };
}

function presentRedemption(r) {
  return {
    id: r.id,
    name: r.item_name,
    quantity: r.quantity,
    points: r.points,
    status: r.status,
    statusName: r.status_name || '',
    createdAt: formatTime(r.created_at),
    deliveredAt: formatTime(r.delivered_at),
  };
}

function confirm(title, content) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText: '确认兑换',
      cancelText: '再想想',
      success: (res) => resolve(Boolean(res && res.confirm)),
      fail: () => resolve(false),
    });
  });
}

Component({
  data: {
    tab: 'items', // items | redemptions
    status: 'loading',
    errorMessage: '',
    points: null,
    items: [],
    redeeming: {},
    itemErrors: {},
    records: { status: '', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' },
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.attempts = createAttempts();
      this.rawItems = [];
      if ((options || {}).tab === 'redemptions') {
        this.setData({ tab: 'redemptions' });
        return Promise.all([this.load(), this.loadRecords()]);
      }
      return this.load();
    },
    onPullDownRefresh() {
      const work = [this.load()];
      if (this.data.tab === 'redemptions') work.push(this.loadRecords());
      return Promise.all(work).then(() => wx.stopPullDownRefresh());
    },
    onReachBottom() {
      return this.data.tab === 'redemptions' ? this.loadMoreRecords() : Promise.resolve();
    },

    async loadPoints() {
      try {
        const answer = await api.get('/ledger/accounts');
        const account = (answer.items || []).find((a) => a.kind === 'points');
        return account ? account.balance : 0;
      } catch (err) {
        if (redirectIfSignedOut(err)) throw err;
        return null; // unknown: the server still checks at redemption
      }
    },
    async load(options) {
      const quiet = options && options.quiet && this.data.status === 'ready';
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const [answer, points] = await Promise.all([api.get('/mall/items'), this.loadPoints()]);
        this.rawItems = answer.items || [];
        const items = this.rawItems.map((item) => presentItem(item, points));
        this.setData({ items, points, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (!quiet) this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onTab(e) {
      const tab = e.currentTarget.dataset.tab;
      if (!tab || tab === this.data.tab) return Promise.resolve();
      this.setData({ tab });
      return tab === 'redemptions' ? this.loadRecords() : Promise.resolve();
    },

    onRedeem(e) {
      const id = Number(e.currentTarget.dataset.id);
      const item = this.data.items.find((i) => i.id === id);
      if (!item || item.blocked) return Promise.resolve();
      return api.withButtonLock(this, `redeeming.${id}`, async () => {
        this.setData({ [`itemErrors.${id}`]: '' });
        const sure = await confirm('确认兑换', `使用 ${item.price} 积分兑换「${item.name}」？兑换后积分立即扣除，礼品由品牌寄出。`);
        if (!sure) return;
        const key = this.attempts.keyFor(`item:${id}`);
        try {
          await api.post(`/mall/items/${id}/redeem`, { quantity: 1 }, { idempotencyKey: key });
          this.attempts.done();
          wx.showToast({ title: '兑换成功', icon: 'success' });
          await this.load({ quiet: true });
          if (this.data.records.status) await this.loadRecords();
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ [`itemErrors.${id}`]: errorMessage(err) });
          if (err.code === 'mall.out_of_stock' || err.code === 'ledger.insufficient_balance') this.load({ quiet: true });
        }
      });
    },

    async loadRecords() {
      this.recordSeq = (this.recordSeq || 0) + 1;
      const seq = this.recordSeq;
      this.setData({ records: { status: 'loading', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      try {
        const answer = await api.get('/mall/redemptions', { limit: PAGE_SIZE });
        if (seq !== this.recordSeq) return;
        const items = (answer.items || []).map(presentRedemption);
        this.setData({ records: { status: items.length ? 'ready' : 'empty', message: '', items, nextBefore: answer.next_before || null, loadingMore: false, moreError: '' } });
      } catch (err) {
        if (seq !== this.recordSeq || redirectIfSignedOut(err)) return;
        this.setData({ records: { status: 'error', message: errorMessage(err), items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      }
    },
    onRetryRecords() {
      return this.loadRecords();
    },
    async loadMoreRecords() {
      const { records } = this.data;
      if (!records.nextBefore || records.loadingMore || records.status !== 'ready') return;
      const seq = this.recordSeq;
      this.setData({ 'records.loadingMore': true, 'records.moreError': '' });
      try {
        const answer = await api.get('/mall/redemptions', { limit: PAGE_SIZE, before: records.nextBefore });
        if (seq !== this.recordSeq) return;
        const seen = new Set(this.data.records.items.map((r) => r.id));
        const more = (answer.items || []).map(presentRedemption).filter((r) => !seen.has(r.id));
        this.setData({ 'records.items': this.data.records.items.concat(more), 'records.nextBefore': answer.next_before || null });
      } catch (err) {
        if (seq === this.recordSeq && !redirectIfSignedOut(err)) this.setData({ 'records.moreError': errorMessage(err) });
      } finally {
        if (seq === this.recordSeq) this.setData({ 'records.loadingMore': false });
      }
    },
    onOpenLedger() {
      wx.navigateTo({ url: '/pages/ledger/index?kind=points' });
    },
  },
});
