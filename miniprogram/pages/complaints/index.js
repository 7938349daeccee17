/**
 * 我的投诉: the store's complaints, newest first (keyset `before`), each with its category,
 * status and the start of its text; 我要投诉 files a new one.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const pagedList = require('../../components/lib/paged-list');
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
  behaviors: [pagedList],
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
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage(before) {
      const query = { limit: PAGE_SIZE };
      if (before) query.before = before;
      const answer = await api.get('/complaints', query);
      return { items: (answer.items || []).map(present), next: answer.next_before };
    },
    onOpen(e) {
      wx.navigateTo({ url: `/pages/complaint/index?id=${e.currentTarget.dataset.id}` });
    },
    onNew() {
      wx.navigateTo({ url: '/pages/complaint-new/index' });
    },
  },
});
