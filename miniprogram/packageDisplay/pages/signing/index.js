/**
 * 我的陈列 · one signed program (GET /display/mine/<id>): the progress, each check with its
 * window and where it stands (未开始, 待拍照 until its deadline, 审核中, 已通过 with its reward,
 * 未通过 with each reason and 重新拍照, 已错过), the rewards received, and the signed
 * agreement. Back from taking photos, it reloads quietly.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../../components/lib/errors');
const { endPullDown } = require('../../../components/lib/pull-down');
const { diffPatch } = require('../../../components/lib/patch');
const { formatTime } = require('../../../components/lib/format');
const { requireStore } = require('../../../components/lib/identity');
const {
  SIGNING_STATUS, progressText, totalsText, presentCheck, presentReward,
} = require('../../../components/lib/display');

function present(s) {
  const terms = s.terms || {};
  return {
    id: s.id,
    name: (s.program && s.program.name) || terms.name || '',
    status: s.status,
    statusName: SIGNING_STATUS[s.status] || '',
    progress: progressText(s.passed_checks, s.check_count),
    percent: s.check_count ? Math.round((100 * (s.passed_checks || 0)) / s.check_count) : 0,
    totals: totalsText(s.reward_totals),
    signedAt: formatTime(s.signed_at),
    photosRequired: terms.photos_required || 0,
    checks: (s.checks || []).map(presentCheck),
    rewards: (s.rewards || []).map(presentReward),
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    signing: null,
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.id = Number((options || {}).id) || 0;
      return this.load();
    },
    onShow() {
      if (!this.shownOnce) {
        this.shownOnce = true;
        return Promise.resolve();
      }
      return this.load({ quiet: true });
    },
    onPullDownRefresh() {
      return endPullDown(this.load({ quiet: true }));
    },
    async load(options) {
      const quiet = Boolean(options && options.quiet && this.data.signing);
      if (!this.id) {
        this.setData({ status: 'error', errorMessage: '没有找到该陈列活动' });
        return;
      }
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const signing = present(await api.get(`/display/mine/${this.id}`));
        // A quiet reload sends only what changed (a check's state, a reward).
        this.setData(Object.assign(diffPatch('signing', this.data.signing, signing), { status: 'ready' }));
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (quiet) toastError(err);
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onTake(e) {
      wx.navigateTo({ url: `/packageDisplay/pages/check/index?signing=${this.id}&check=${e.currentTarget.dataset.id}` });
    },
    onAgreement() {
      wx.navigateTo({ url: `/packageDisplay/pages/agreement/index?id=${this.id}` });
    },
  },
});
