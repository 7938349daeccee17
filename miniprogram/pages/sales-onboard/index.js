/**
 * 拓展新门店 (salesperson): the salesperson's own invitation (POST /onboarding/invitation:
 * a signed token and its QR PNG) to show in the shop, save, or share as the join page; a
 * store that applies with it names the salesperson as its inviter, and its first paid
 * order earns the salesperson points. Below, the applications the salesperson submitted
 * themselves (GET /onboarding/applications/mine) with their review status.
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const { requireSalesperson, APPLICATION_STATUS } = require('../../components/lib/sales');

const SHARE_TITLE = '邀请您入驻品牌订货平台：品牌直供，在线订货';

function presentApplication(a) {
  return {
    id: a.id,
    storeName: a.store_name,
    contact: [a.contact_name, a.phone].filter(Boolean).join(' '),
    status: a.status,
    statusName: APPLICATION_STATUS[a.status] || a.status,
    rejectReason: a.reject_reason || '',
    createdAt: formatTime(a.created_at),
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    invite: null,
    applications: { status: '', message: '', items: [] },
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return Promise.all([this.load(), this.loadApplications()]);
    },
    onPullDownRefresh() {
      return this.loadApplications().then(() => wx.stopPullDownRefresh());
    },

    async load() {
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const code = await api.post('/onboarding/invitation');
        this.setData({ status: 'ready', invite: { token: code.token, url: code.url, qrUrl: code.qr_png_url, uses: code.uses || 0 } });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    async loadApplications() {
      this.setData({ applications: { status: 'loading', message: '', items: [] } });
      try {
        const answer = await api.get('/onboarding/applications/mine');
        const items = (answer.items || []).map(presentApplication);
        this.setData({ applications: { status: items.length ? 'ready' : 'empty', message: '', items } });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ applications: { status: 'error', message: errorMessage(err), items: [] } });
      }
    },
    onRetryApplications() {
      return this.loadApplications();
    },
    onCopyLink() {
      if (this.data.invite) wx.setClipboardData({ data: this.data.invite.url });
    },
    onShareAppMessage() {
      const invite = this.data.invite;
      if (!invite) return { title: SHARE_TITLE, path: '/pages/login/index' };
      return { title: SHARE_TITLE, path: `/pages/join/index?token=${encodeURIComponent(invite.token)}` };
    },
  },
});
