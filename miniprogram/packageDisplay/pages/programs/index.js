/**
 * 陈列活动: two tabs. 可报名 (GET /display/open): the programs this store may still sign, with
 * what they pay and until when; one opens its page (read and sign). 我的陈列 (GET
 * /display/mine): the programs it signed, newest first, with the progress (已通过 2/8) and
 * the next check that is due. Coming back (after signing or taking photos) reloads quietly.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { endPullDown } = require('../../../components/lib/pull-down');
const { formatShortTime } = require('../../../components/lib/format');
const { requireStore } = require('../../../components/lib/identity');
const { presentSigning, rewardLines } = require('../../../components/lib/display');

const TABS = [
  { key: 'open', name: '可报名' },
  { key: 'mine', name: '我的陈列' },
];

function presentOpen(p) {
  const checks = (p.checks || []).length;
  return {
    id: p.id,
    name: p.name,
    rewards: rewardLines(p.check_reward, p.completion_reward),
    schedule: checks ? `共 ${checks} 次检查，每次拍 ${p.photos_required} 张照片` : '',
    places: `剩余 ${p.places_left} 个名额`,
    until: p.signup_until ? `${formatShortTime(p.signup_until)} 截止报名` : '',
  };
}

Component({
  behaviors: [pagedList],
  data: {
    tabs: TABS,
    active: 'open',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const wanted = (options || {}).tab;
      if (TABS.some((t) => t.key === wanted)) this.setData({ active: wanted });
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
      // Both lists are short (a store signs a few programs) and come whole.
      if (this.data.active === 'mine') {
        const answer = await api.get('/display/mine');
        return { items: (answer.items || []).map(presentSigning), next: null };
      }
      const answer = await api.get('/display/open');
      return { items: (answer.items || []).map(presentOpen), next: null };
    },
    onTab(e) {
      const key = e.currentTarget.dataset.key;
      if (!key || key === this.data.active) return Promise.resolve();
      this.setData({ active: key });
      return this.reload();
    },
    onOpenProgram(e) {
      wx.navigateTo({ url: `/packageDisplay/pages/program/index?id=${e.currentTarget.dataset.id}` });
    },
    onOpenSigning(e) {
      wx.navigateTo({ url: `/packageDisplay/pages/signing/index?id=${e.currentTarget.dataset.id}` });
    },
  },
});
