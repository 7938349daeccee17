/**
 * 邀请门店: the store's own invitation (邀请有礼). POST /onboarding/invitation gives the
 * store's one invitation (made on first request): a signed token, the join URL and a QR
 * PNG. The owner shows the QR, saves it to the album, or shares the mini-program's join page
 * with the token; the invited store's application then names this store as its inviter.
 */
const api = require('../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { requireStore } = require('../../components/lib/identity');

const SHARE_TITLE = '邀请您入驻品牌订货平台：品牌直供，在线订货';

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    invite: null,
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      return this.load();
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
