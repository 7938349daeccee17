/**
 * 业务员工作台: the salesperson's stores (GET /stores: the server keeps a salesperson to
 * the stores they serve), searched by name and paged by id (`after`); their points from
 * onboarding stores (GET /ledger/party-accounts); 拓展新门店 (their invitation QR and the
 * applications); 陈列初审 (display photos of their stores to look at first); 补货任务 (stores due
 * to reorder) and 门店动态 (their stores' recent views, carts and orders). A store opens its page,
 * where 代下单 starts.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { endPullDown } = require('../../../components/lib/pull-down');
const { requireSalesperson, STORE_STATUS, tierName } = require('../../lib/sales');

const PAGE_SIZE = 20;

function present(s) {
  return {
    id: s.id,
    name: s.name,
    contact: [s.contact_name, s.phone].filter(Boolean).join(' '),
    address: s.address || '',
    tier: tierName(s.tier),
    status: s.status,
    statusName: s.status === 'active' ? '' : STORE_STATUS[s.status] || s.status,
    tags: s.tags || [],
  };
}

Component({
  behaviors: [pagedList],
  data: {
    name: '',
    brandName: '',
    points: null,
    input: '',
    keyword: '',
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return Promise.all([this.loadMe(), this.loadPoints(), this.reload()]);
    },
    onPullDownRefresh() {
      return endPullDown(Promise.all([this.loadPoints(), this.reload()]));
    },

    async loadMe() {
      try {
        const me = await api.get('/me');
        const current = (me.memberships || []).find((m) => m.id === (me.current && me.current.membership_id));
        this.setData({
          name: (current && current.salesperson && current.salesperson.name) || me.display_name || '',
          brandName: (current && current.brand && current.brand.name) || '',
        });
      } catch (err) {
        redirectIfSignedOut(err); // the header is a nicety
      }
    },
    async loadPoints() {
      try {
        const answer = await api.get('/ledger/party-accounts');
        const account = (answer.items || []).find((a) => a.kind === 'points');
        this.setData({ points: account ? account.balance : 0 });
      } catch (err) {
        this.setData({ points: null });
      }
    },

    async fetchPage(after) {
      const query = { limit: PAGE_SIZE };
      if (this.data.keyword) query.name = this.data.keyword;
      if (after) query.after = after;
      const answer = await api.get('/stores', query);
      return { items: (answer.items || []).map(present), next: answer.next_after };
    },
    onInput(e) {
      this.setData({ input: e.detail.value });
    },
    onSearch() {
      this.setData({ keyword: this.data.input.trim() });
      return this.reload();
    },
    onClear() {
      this.setData({ keyword: '', input: '' });
      return this.reload();
    },

    onOpen(e) {
      wx.navigateTo({ url: `/packageSales/pages/store/index?id=${e.currentTarget.dataset.id}` });
    },
    onOnboard() {
      wx.navigateTo({ url: '/packageSales/pages/onboard/index' });
    },
    onDisplayReview() {
      wx.navigateTo({ url: '/packageSales/pages/display-review/index' });
    },
    onTasks() {
      wx.navigateTo({ url: '/packageSales/pages/tasks/index' });
    },
    onFeed() {
      wx.navigateTo({ url: '/packageSales/pages/feed/index' });
    },
    onSignOut() {
      return api.logout().then(() => wx.reLaunch({ url: '/pages/login/index' }));
    },
  },
});
