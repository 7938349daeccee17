/**
 * 门店入驻: a new store joins by scanning the code in a product box (开箱码) or an invitation
 * from a salesperson or a nearby store. The page is opened by such a QR code (its URL
 * `<origin>/join/<token>` arrives as `q`; a `token` or `scene` option works too) or scans
 * one itself; it shows whose code it is (GET /onboarding/codes/<token>), takes the
 * application (POST /onboarding/applications), and shows the application's status
 * (GET /onboarding/applications/mine): 待审核, 已通过 (enter the store), 已拒绝 with the reason.
 */
const api = require('../../utils/api');
const session = require('../../utils/session');
const { errorMessage, fieldErrors, toastError } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const privacy = require('../../components/lib/privacy');

const STATUS = {
  pending: { name: '待审核', text: '品牌正在审核您的入驻申请，审核通过后即可在线订货。' },
  approved: { name: '已通过', text: '您的门店已开通，现在就可以订货了。' },
  rejected: { name: '已拒绝', text: '很抱歉，您的入驻申请未通过。' },
};
const CODE_KINDS = { box: '开箱码', salesperson_invite: '业务员邀请', store_invite: '门店邀请' };
const INVITERS = { salesperson: '业务员', store: '门店' };

const PHONE = /^1\d{10}$/;
const LICENCE = /^[0-9A-Z]{15,18}$/;

/** The token in a scanned text or an opening option: a join URL, or the bare token. */
function tokenFrom(text) {
  let s = String(text || '').trim();
  if (!s) return '';
  try {
    s = decodeURIComponent(s);
  } catch (e) {
    // not encoded
  }
  const inUrl = /\/join\/([^/?#\s]+)/.exec(s);
  if (inUrl) return inUrl[1];
  return /^[A-Za-z0-9_\-.]{8,128}$/.test(s) ? s : '';
}

function presentApplication(a) {
  const status = STATUS[a.status] || { name: a.status, text: '' };
  return {
    id: a.id,
    status: a.status,
    statusName: status.name,
    statusText: status.text,
    storeName: a.store_name,
    contactName: a.contact_name,
    phone: a.phone,
    address: a.address,
    rejectReason: a.reject_reason || '',
    createdAt: formatTime(a.created_at),
    reviewedAt: formatTime(a.reviewed_at),
  };
}

function presentCode(token, c) {
  const inviter = c.inviter ? `${INVITERS[c.inviter.kind] || ''} ${c.inviter.name}`.trim() : '';
  return {
    token,
    kind: CODE_KINDS[c.kind] || '入驻码',
    brandName: c.brand ? c.brand.name : '',
    distributorName: c.distributor ? c.distributor.name : '',
    inviter,
    usable: Boolean(c.usable),
  };
}

function validate(form) {
  const errors = {};
  if (!form.store_name.trim()) errors.store_name = '请填写门店名称';
  if (!form.contact_name.trim()) errors.contact_name = '请填写联系人姓名';
  if (!PHONE.test(form.phone.trim())) errors.phone = '请填写 11 位手机号';
  const licence = form.business_licence_no.trim().toUpperCase();
  if (licence && !LICENCE.test(licence)) errors.business_licence_no = '营业执照号为 15 到 18 位数字或大写字母';
  if (!form.address.trim()) errors.address = '请填写门店地址';
  return errors;
}

function emptyForm() {
  return { store_name: '', contact_name: '', phone: '', business_licence_no: '', address: '', latitude: null, longitude: null };
}

Component({
  data: {
    view: 'loading', // loading | error | scan | code | status
    errorMessage: '',
    scanError: '',
    application: null,
    code: null,
    form: emptyForm(),
    errors: {},
    submitError: '',
    submitting: false,
    scanning: false,
  },
  methods: {
    onLoad(options) {
      const o = options || {};
      this.token = tokenFrom(o.token) || tokenFrom(o.q) || tokenFrom(o.scene);
      return this.load();
    },

    async load() {
      this.setData({ view: 'loading', errorMessage: '' });
      try {
        // Opened straight from a scanned QR code by someone not signed in yet: wx.login
        // needs no tap, so sign in here rather than lose the code on the way to 登录.
        if (!session.getSession()) await api.login();
        const mine = await api.get('/onboarding/applications/mine');
        const latest = (mine.items || [])[0];
        if (latest && (latest.status === 'pending' || latest.status === 'approved' || !this.token)) {
          this.setData({ view: 'status', application: presentApplication(latest) });
          return;
        }
        if (this.token) {
          await this.describe(this.token);
          return;
        }
        this.setData({ view: 'scan' });
      } catch (err) {
        if (err && typeof err.code === 'string' && err.code.indexOf('onboarding.code') === 0) {
          // A bad or used code: scanning another is the way on, not 重试.
          this.token = '';
          this.setData({ view: 'scan', scanError: errorMessage(err) });
          return;
        }
        this.setData({ view: 'error', errorMessage: errorMessage(err) });
      }
    },

    async describe(token) {
      const code = await api.get(`/onboarding/codes/${encodeURIComponent(token)}`);
      this.token = token;
      this.setData({ view: 'code', code: presentCode(token, code), errors: {}, submitError: '', scanError: '' });
    },

    onRetry() {
      return this.load();
    },

    onScan() {
      return api.withButtonLock(this, 'scanning', () => new Promise((resolve) => {
        wx.scanCode({
          scanType: ['qrCode'],
          success: async (res) => {
            const token = tokenFrom(res.result || res.path || '');
            if (!token) {
              wx.showToast({ title: '这不是入驻二维码，请扫描商品箱内或邀请人的二维码', icon: 'none' });
              resolve();
              return;
            }
            try {
              await this.describe(token);
            } catch (err) {
              this.setData({ view: 'scan', scanError: errorMessage(err) });
            }
            resolve();
          },
          fail: (res) => {
            if (privacy.explainDenied(res)) {
              resolve();
              return;
            }
            if (!/cancel/.test((res && res.errMsg) || '')) wx.showToast({ title: '扫码失败，请重试', icon: 'none' });
            resolve();
          },
        });
      }));
    },

    onField(e) {
      const field = e.currentTarget.dataset.field;
      this.setData({ [`form.${field}`]: e.detail.value, [`errors.${field}`]: '' });
    },
    onChooseLocation() {
      return new Promise((resolve) => {
        wx.chooseLocation({
          success: (res) => {
            const patch = { 'form.latitude': res.latitude, 'form.longitude': res.longitude, 'errors.address': '' };
            if (!this.data.form.address.trim()) patch['form.address'] = `${res.address || ''}${res.name || ''}`;
            this.setData(patch);
            resolve();
          },
          fail: (res) => {
            privacy.explainDenied(res);
            resolve();
          },
        });
      });
    },

    onSubmit() {
      return api.withButtonLock(this, 'submitting', async () => {
        const { form } = this.data;
        const errors = validate(form);
        if (Object.keys(errors).length) {
          this.setData({ errors, submitError: '请检查标红的内容' });
          return;
        }
        const body = {
          code: this.token,
          store_name: form.store_name.trim(),
          contact_name: form.contact_name.trim(),
          phone: form.phone.trim(),
          address: form.address.trim(),
        };
        const licence = form.business_licence_no.trim().toUpperCase();
        if (licence) body.business_licence_no = licence;
        if (form.latitude !== null && form.longitude !== null) {
          body.latitude = form.latitude;
          body.longitude = form.longitude;
        }
        this.setData({ submitError: '', errors: {} });
        try {
          const application = await api.post('/onboarding/applications', body);
          this.setData({ view: 'status', application: presentApplication(application) });
          wx.showToast({ title: '已提交，请等待审核', icon: 'none' });
        } catch (err) {
          if (err && err.code === 'onboarding.application_pending') {
            await this.load();
            toastError(err);
            return;
          }
          this.setData({ errors: fieldErrors(err), submitError: errorMessage(err) });
        }
      });
    },

    onApplyAgain() {
      this.token = '';
      this.setData({ view: 'scan', code: null, form: emptyForm(), errors: {}, submitError: '' });
    },
    onEnterStore() {
      // The sign-in page enters the new store identity (POST /auth/switch) and goes home.
      wx.reLaunch({ url: '/pages/login/index' });
    },
    onRefreshStatus() {
      return this.load();
    },
  },
});
