/**
 * 我的 (store): the way into the store's other pages (券包, 积分与返利, 积分商城, 抽奖,
 * 直播订货会, 陈列活动, 投诉, 邀请门店, 扫码入库/动销 and 我的库存 of 一物一码), with the store's balances at the top
 * (GET /ledger/accounts; the page works without them).
 */
const api = require('../../utils/api');
const { formatFen } = require('../../utils/money');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { requireStore } = require('../../components/lib/identity');
const track = require('../../utils/track');

const ENTRIES = [
  { key: 'scan', name: '扫码入库/动销', icon: '扫', url: '/packageCodes/pages/scan/index' },
  { key: 'stock', name: '我的库存', icon: '存', url: '/packageCodes/pages/stock/index' },
  { key: 'coupons', name: '我的券包', icon: '券', url: '/pages/coupons/index' },
  { key: 'ledger', name: '积分与返利', icon: '积', url: '/pages/ledger/index' },
  { key: 'mall', name: '积分商城', icon: '兑', url: '/pages/mall/index' },
  { key: 'lottery', name: '幸运抽奖', icon: '奖', url: '/pages/lottery/index' },
  { key: 'live', name: '直播订货会', icon: '播', url: '/pages/live-list/index' },
  { key: 'display', name: '陈列活动', icon: '陈', url: '/packageDisplay/pages/programs/index' },
  { key: 'complaints', name: '我的投诉', icon: '诉', url: '/pages/complaints/index' },
  { key: 'invite', name: '邀请门店', icon: '邀', url: '/pages/invite/index' },
];

function balanceText(account) {
  return account.kind === 'points' ? String(account.balance) : formatFen(account.balance);
}

Component({
  data: {
    entries: ENTRIES,
    balances: { status: 'loading', message: '', items: [] },
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      return this.loadBalances();
    },
    onShow() {
      track.pageView('pages/mine/index');
      if (this.shownOnce) this.loadBalances();
      this.shownOnce = true;
    },
    async loadBalances() {
      this.setData({ 'balances.status': this.data.balances.items.length ? 'ready' : 'loading', 'balances.message': '' });
      try {
        const answer = await api.get('/ledger/accounts');
        const items = (answer.items || [])
          .filter((a) => a.kind === 'points' || a.kind === 'rebate' || a.kind === 'cash')
          .map((a) => ({ key: a.kind, name: a.kind_name, value: balanceText(a) }));
        this.setData({ balances: { status: items.length ? 'ready' : 'empty', message: '', items } });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ balances: { status: 'error', message: errorMessage(err), items: [] } });
      }
    },
    onRetryBalances() {
      return this.loadBalances();
    },
    onBalance(e) {
      wx.navigateTo({ url: `/pages/ledger/index?kind=${e.currentTarget.dataset.kind}` });
    },
    onGo(e) {
      wx.navigateTo({ url: e.currentTarget.dataset.url });
    },
  },
});
