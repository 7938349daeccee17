/**
 * 我的券: the e-coupons this WeChat user got by checking items (GET /codes/consumer-coupons,
 * every brand, newest first), in three tabs: 可使用, 已核销, 已过期. Tapping a usable coupon
 * shows its QR for the store to scan (drawn on the phone when opened, one at a time, so the
 * list stays light); 扫码验真 opens the check page. Signed in with WeChat alone.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { endPullDown } = require('../../../components/lib/pull-down');
const consumer = require('../../lib/consumer');
const { qrDataUrl } = require('../../lib/qr');

const TABS = [
  { key: 'issued', name: '可使用' },
  { key: 'redeemed', name: '已核销' },
  { key: 'expired', name: '已过期' },
];
const EMPTY = {
  issued: '还没有可使用的券，扫商品上的码验真即可领取',
  redeemed: '还没有核销过的券',
  expired: '没有过期的券',
};

Component({
  behaviors: [pagedList],
  data: {
    tabs: TABS,
    active: 'issued',
    emptyText: EMPTY.issued,
    opened: 0, // the coupon whose QR is shown
  },
  methods: {
    onLoad(options) {
      consumer.holdSignIn();
      const wanted = (options || {}).tab;
      if (TABS.some((t) => t.key === wanted)) this.setData({ active: wanted, emptyText: EMPTY[wanted] });
      return this.reload();
    },
    onShow() {
      consumer.holdSignIn();
      if (!this.shownOnce) {
        this.shownOnce = true;
        return Promise.resolve();
      }
      return this.reload({ quiet: true });
    },
    onHide() {
      consumer.releaseSignIn();
    },
    onUnload() {
      consumer.releaseSignIn();
    },
    onPullDownRefresh() {
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage(cursor) {
      const query = { state: this.data.active, limit: 20 };
      if (cursor) query.before = cursor;
      const answer = await consumer.signedIn(() => api.get('/codes/consumer-coupons', query));
      return {
        items: (answer.items || []).map((c) => consumer.presentCoupon(c, false)),
        next: answer.next_before || null,
      };
    },
    onTab(e) {
      const key = e.currentTarget.dataset.key;
      if (!key || key === this.data.active) return Promise.resolve();
      this.setData({ active: key, emptyText: EMPTY[key], opened: 0 });
      return this.reload();
    },
    /** Show (or hide again) a usable coupon's QR. */
    onToggle(e) {
      const id = Number(e.currentTarget.dataset.id);
      const index = this.data.items.findIndex((c) => c.id === id);
      if (index < 0 || !this.data.items[index].usable) return;
      if (this.data.opened === id) {
        this.setData({ opened: 0 });
        return;
      }
      const patch = { opened: id };
      if (!this.data.items[index].qrSrc) patch[`items[${index}].qrSrc`] = qrDataUrl(this.data.items[index].qrText);
      this.setData(patch);
    },
    onScan() {
      wx.navigateTo({ url: '/packageConsumer/pages/check/index' });
    },
  },
});
