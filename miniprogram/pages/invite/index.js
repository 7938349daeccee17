/**
 * 邀请门店: the store's own invitation (邀请有礼). POST /onboarding/invitation gives the
 * store's one invitation (made on first request): a signed token, the join URL and a QR
 * PNG. The owner shows the QR, saves it to the album, or shares the mini-program's join page
 * with the token; the invited store's application then names this store as its inviter.
 */
const invitation = require('../../components/lib/invitation');
const { requireStore } = require('../../components/lib/identity');

Component({
  behaviors: [invitation],
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      return this.load();
    },
  },
});
