/**
 * The caller's own invitation to show, save and share, as a Behavior for the pages that show
 * one (a store inviting a store, a salesperson onboarding one). POST /onboarding/invitation
 * gives the caller's invitation (made on the first request): a signed token, the join URL and
 * a QR PNG. A store that applies with it names the caller as its inviter.
 *
 * Data: status ('loading' | 'ready' | 'error'), errorMessage, invite ({token, url, qrUrl, uses}).
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('./errors');
const privacy = require('./privacy');

const SHARE_TITLE = '邀请您入驻品牌订货平台：品牌直供，在线订货';

module.exports = Behavior({
  data: {
    status: 'loading',
    errorMessage: '',
    invite: null,
  },
  methods: {
    async load() {
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const code = await api.post('/onboarding/invitation');
        const invite = { token: code.token, url: code.url, qrUrl: code.qr_png_url, uses: code.uses || 0 };
        this.setData({ status: 'ready', invite });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onCopyLink() {
      if (this.data.invite) wx.setClipboardData({ data: this.data.invite.url, fail: (res) => privacy.explainDenied(res) });
    },
    /** Shared, the mini-program opens at the join page with the token. */
    onShareAppMessage() {
      const invite = this.data.invite;
      if (!invite) return { title: SHARE_TITLE, path: '/pages/login/index' };
      return { title: SHARE_TITLE, path: `/pages/join/index?token=${encodeURIComponent(invite.token)}` };
    },
  },
});
