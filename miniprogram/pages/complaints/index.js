/**
 * 我的投诉: the store's complaints, newest first (keyset `before`), each with its category,
 * status and the start of its text; 我要投诉 files a new one.
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { categoryName, statusName } = require('../../components/lib/complaints');

const PAGE_SIZE = 20;

function present(c) {
  return {
    id: c.id,
    category: categoryName(c.category),
    status: c.status,
    statusName: statusName(c),
    text: c.text || '',
    createdAt: formatTime(c.created_at),
    orderId: c.order_id || null,
    waitingForMe: c.status === 'resolved',
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    items: [],
    nextBefore: null,
    loadingMore: false,
    moreError: '',
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      this.loadedOnce = true;
      return this.reload();
    },
    onShow() {
      // Back from filing or from a complaint confirmed or reopened: show what changed.
      if (!this.shownOnce) {
        this.shownOnce = true;
        return Promise.resolve();
      }
      return this.reload({ quiet: true });
    },
    onPullDownRefresh() {
      return this.reload({ quiet: true }).then(() => wx.stopPullDownRefresh());
    },
    onReachBottom() {
      return this.loadMore();
    },

    async reload(options) {
      const quiet = options && options.quiet && this.data.status === 'ready';
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      if (!quiet) this.setData({ status: 'loading', errorMessage: '', items: [], nextBefore: null });
      this.setData({ moreError: '' });
      try {
        const answer = await api.get('/complaints', { limit: PAGE_SIZE });
        if (seq !== this.seq) return;
        const items = (answer.items || []).map(present);
        this.setData({ items, nextBefore: answer.next_before || null, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        if (quiet) wx.showToast({ title: errorMessage(err), icon: 'none' });
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    async loadMore() {
      const { nextBefore, loadingMore, status } = this.data;
      if (!nextBefore || loadingMore || status !== 'ready') return;
      const seq = this.seq;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const answer = await api.get('/complaints', { limit: PAGE_SIZE, before: nextBefore });
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
    onOpen(e) {
      wx.navigateTo({ url: `/pages/complaint/index?id=${e.currentTarget.dataset.id}` });
    },
    onNew() {
      wx.navigateTo({ url: '/pages/complaint-new/index' });
    },
  },
});
