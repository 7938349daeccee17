/**
 * 正品验证: a consumer scanned the code on an item (WeChat opens this page from the QR's URL,
 * or packageCodes' entry page sends them here with `code`). Signed in with WeChat alone (no
 * phone, no store), the page posts the code to POST /codes/checks once (an Idempotency-Key
 * per check, so a retry over a bad network counts once) and shows: genuine, the product and
 * its batch, the first check's time and how many checks there were (a warning when others
 * checked it before), and the e-coupon bound to this code when the brand runs a campaign,
 * with its QR for the store to scan at the till (drawn on the phone). 再扫一件 checks another
 * item here; 我的券 lists every coupon.
 */
const api = require('../../../utils/api');
const { errorMessage } = require('../../../components/lib/errors');
const privacy = require('../../../components/lib/privacy');
const consumer = require('../../lib/consumer');

const COUPONS = '/packageConsumer/pages/coupons/index';

Component({
  data: {
    status: 'loading', // loading | ready | error | empty (no code to check)
    errorMessage: '',
    result: null,
    scanning: false,
  },
  methods: {
    onLoad(options) {
      consumer.holdSignIn();
      const code = consumer.codeFrom(options);
      if (!code) {
        this.setData({ status: 'empty' });
        return Promise.resolve();
      }
      return this.check(code);
    },
    onShow() {
      consumer.holdSignIn();
    },
    onHide() {
      consumer.releaseSignIn();
    },
    onUnload() {
      consumer.releaseSignIn();
    },

    /** Check `code` (a new check: a new key); `retry` keeps the key of the check it repeats. */
    async check(code, retry) {
      if (!retry) {
        this.code = code;
        this.key = api.newIdempotencyKey();
      }
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await consumer.signedIn(() => api.post('/codes/checks', { code: this.code }, { idempotencyKey: this.key }));
        this.setData({ status: 'ready', result: consumer.presentCheck(answer) });
        wx.pageScrollTo({ scrollTop: 0, duration: 0 });
      } catch (err) {
        this.setData({ status: 'error', errorMessage: errorMessage(err, '验证失败，请稍后重试') });
      }
    },

    onRetry() {
      if (!this.code) return Promise.resolve();
      return this.check(this.code, true);
    },

    onScan() {
      return api.withButtonLock(this, 'scanning', () => new Promise((resolve) => {
        wx.scanCode({
          scanType: ['qrCode'],
          success: (res) => {
            const text = (res && (res.result || res.path)) || '';
            if (!text) {
              wx.showToast({ title: '没有识别到二维码，请重试', icon: 'none' });
              resolve();
              return;
            }
            this.check(text).then(resolve, resolve);
          },
          fail: (res) => {
            if (!privacy.explainDenied(res) && !/cancel/.test((res && res.errMsg) || '')) {
              wx.showToast({ title: '扫码失败，请重试', icon: 'none' });
            }
            resolve();
          },
        });
      }));
    },

    onCoupons() {
      wx.navigateTo({ url: COUPONS });
    },

    onPreviewImage() {
      const image = this.data.result && this.data.result.product.image;
      if (image) wx.previewImage({ urls: [image], current: image });
    },
  },
});
