/**
 * 拓展新门店 (salesperson): the salesperson's own invitation (POST /onboarding/invitation:
 * a signed token and its QR PNG) to show in the shop, save, or share as the join page; a
 * store that applies with it names the salesperson as its inviter, and its first paid
 * order earns the salesperson points. Below, the applications that came in through this
 * salesperson's QR code (GET /onboarding/applications/invited: newest first, keyset-paged by
 * `before`) with their review status; an approved one given to this salesperson opens its
 * store.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { endPullDown } = require('../../../components/lib/pull-down');
const { appendPatch } = require('../../../components/lib/patch');
const invitation = require('../../../components/lib/invitation');
const { formatTime } = require('../../../components/lib/format');
const { requireSalesperson, APPLICATION_STATUS } = require('../../lib/sales');

const PAGE_SIZE = 20;
const EMPTY = { status: '', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' };

function presentApplication(a) {
  return {
    id: a.id,
    storeName: a.store_name,
    contact: [a.contact_name, a.phone].filter(Boolean).join(' '),
    address: a.address || '',
    status: a.status,
    statusName: a.status_name || APPLICATION_STATUS[a.status] || a.status,
    rejectReason: a.reject_reason || '',
    createdAt: formatTime(a.created_at),
    reviewedAt: formatTime(a.reviewed_at),
    storeId: a.store_id || null,
  };
}

Component({
  behaviors: [invitation],
  data: {
    applications: EMPTY,
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return Promise.all([this.load(), this.loadApplications()]);
    },
    onPullDownRefresh() {
      return endPullDown(this.loadApplications());
    },
    onReachBottom() {
      return this.loadMoreApplications();
    },

    async loadApplications() {
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      this.setData({ applications: Object.assign({}, EMPTY, { status: 'loading' }) });
      try {
        const answer = await api.get('/onboarding/applications/invited', { limit: PAGE_SIZE });
        if (seq !== this.seq) return;
        const items = (answer.items || []).map(presentApplication);
        this.setData({
          applications: Object.assign({}, EMPTY, { status: items.length ? 'ready' : 'empty', items, nextBefore: answer.next_before || null }),
        });
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        this.setData({ applications: Object.assign({}, EMPTY, { status: 'error', message: errorMessage(err) }) });
      }
    },
    onRetryApplications() {
      return this.loadApplications();
    },
    async loadMoreApplications() {
      const { applications } = this.data;
      if (!applications.nextBefore || applications.loadingMore || applications.status !== 'ready') return;
      const seq = this.seq;
      this.setData({ 'applications.loadingMore': true, 'applications.moreError': '' });
      try {
        const answer = await api.get('/onboarding/applications/invited', { limit: PAGE_SIZE, before: applications.nextBefore });
        if (seq !== this.seq) return;
        const seen = new Set(this.data.applications.items.map((a) => a.id));
        const more = (answer.items || []).map(presentApplication).filter((a) => !seen.has(a.id));
        this.setData(Object.assign(appendPatch('applications.items', this.data.applications.items, more), { 'applications.nextBefore': answer.next_before || null }));
      } catch (err) {
        if (seq === this.seq && !redirectIfSignedOut(err)) this.setData({ 'applications.moreError': errorMessage(err) });
      } finally {
        if (seq === this.seq) this.setData({ 'applications.loadingMore': false });
      }
    },
    onOpenStore(e) {
      const id = e.currentTarget.dataset.id;
      if (id) wx.navigateTo({ url: `/packageSales/pages/store/index?id=${id}` });
    },
  },
});
