/**
 * One 陈列活动 as the store sees it (GET /display/store/programs/<id>): the display standard
 * with its sample photos, the products, the schedule of checks, the rewards and the places
 * left; while it is open, the agreement to read to its end, the signer's name, 我已阅读并同意
 * and 签署协议 (POST /display/programs/<id>/sign with the agreement version read, one
 * Idempotency-Key per attempt; first, WeChat asks whether the store may be reminded before a
 * check closes). Only the store's owner signs; a clerk reads a note instead.
 * A refusal (full, the agreement changed meanwhile, already signed) is said in Chinese and the
 * program is loaded again, so what shows is what holds now.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { formatShortTime } = require('../../../components/lib/format');
const { requireStore, currentRole } = require('../../../components/lib/identity');
const { createAttempts } = require('../../../components/lib/attempt');
const subscribe = require('../../../components/lib/subscribe');
const {
  SIGN_ERRORS, displayError, windowText, rewardLines, presentSamples, previewImages,
} = require('../../../components/lib/display');

const STATE_NOTES = {
  full: '名额已满，本活动已停止报名',
  closed: '报名已结束',
  signed: '本店已签约该活动',
  not_eligible: '本店不在该活动的参与范围内',
};
const NAME_MIN = 2;
const NAME_MAX = 32;

function present(p) {
  return {
    id: p.id,
    name: p.name,
    standard: p.standard || '',
    samples: presentSamples(p.sample_photos),
    skus: (p.skus || []).map((s) => ({ id: s.id, name: s.name })),
    checks: (p.checks || []).map((c) => ({ seq: c.seq, title: `第 ${c.seq} 次`, window: windowText(c.opens_at, c.closes_at) })),
    schedule: `共 ${(p.checks || []).length} 次检查，每次拍 ${p.photos_required} 张照片`,
    rewards: rewardLines(p.check_reward, p.completion_reward),
    places: `剩余 ${p.places_left} 个名额`,
    until: p.signup_until ? `${formatShortTime(p.signup_until)} 截止报名` : '',
    state: p.state,
    stateNote: STATE_NOTES[p.state] || '',
    signingId: p.signing_id || null,
    agreementVersion: p.agreement_version,
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    program: null,
    agreementText: '',
    isOwner: false,
    read: false,
    agreed: false,
    signerName: '',
    errors: {},
    signing: false,
    signError: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.id = Number((options || {}).id) || 0;
      this.attempts = createAttempts();
      this.templates = {};
      this.setData({ isOwner: currentRole() === 'store_owner' });
      return Promise.all([
        this.load(),
        subscribe.loadTemplates().then((found) => {
          this.templates = found;
        }),
      ]);
    },
    async load(options) {
      const quiet = Boolean(options && options.quiet && this.data.program);
      if (!this.id) {
        this.setData({ status: 'error', errorMessage: '没有找到该活动' });
        return;
      }
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get(`/display/store/programs/${this.id}`);
        const program = present(answer);
        const before = this.data.program;
        const patch = { status: 'ready', program };
        // Another text is another agreement: read it again and agree again.
        if (!before || before.agreementVersion !== program.agreementVersion) {
          Object.assign(patch, { read: false, agreed: false });
        }
        this.setData(patch);
        // The agreement goes on its own: it is the longest part (up to 20,000 characters).
        // Measured once drawn (the setData callback), when it is not read yet.
        const measure = () => {
          if (!this.data.read) this.measureAgreement();
        };
        const text = answer.agreement_text || '';
        if (this.data.agreementText !== text) this.setData({ agreementText: text }, measure);
        else measure();
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (quiet) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },

    /** A short agreement that fits its box has been read once it is shown. */
    measureAgreement() {
      if (typeof this.createSelectorQuery !== 'function') return;
      const query = this.createSelectorQuery();
      query.select('.agreement-box').boundingClientRect();
      query.select('.agreement-text').boundingClientRect();
      query.exec((res) => {
        const box = res && res[0];
        const text = res && res[1];
        if (box && text && box.height > 0 && text.height > 0 && text.height <= box.height) this.setData({ read: true });
      });
    },
    onAgreementEnd() {
      if (!this.data.read) this.setData({ read: true, 'errors.read': '' });
    },
    onPreviewSample(e) {
      previewImages(this.data.program.samples, e.currentTarget.dataset.url);
    },
    onName(e) {
      this.setData({ signerName: String(e.detail.value || '').slice(0, NAME_MAX), 'errors.name': '' });
    },
    onToggleAgree() {
      if (!this.data.read) {
        this.setData({ 'errors.read': '请先阅读完协议（滑动到末尾）' });
        return;
      }
      this.setData({ agreed: !this.data.agreed, 'errors.agree': '' });
    },

    validate() {
      const errors = {};
      const name = this.data.signerName.trim();
      if (name.length < NAME_MIN) errors.name = `请填写签署人姓名（${NAME_MIN}–${NAME_MAX} 个字）`;
      if (!this.data.read) errors.read = '请先阅读完协议（滑动到末尾）';
      else if (!this.data.agreed) errors.agree = '请勾选“我已阅读并同意”';
      return errors;
    },
    onSign() {
      if (!this.data.isOwner || !this.data.program || this.data.program.state !== 'open') return Promise.resolve();
      const errors = this.validate();
      if (Object.keys(errors).length) {
        this.setData({ errors, signError: '' });
        return Promise.resolve();
      }
      return api.withButtonLock(this, 'signing', async () => {
        this.setData({ errors: {}, signError: '' });
        // First thing in the tap (WeChat asks only from a tap): may we remind before a check closes?
        const template = this.templates[subscribe.KINDS.display];
        await subscribe.ask(template ? [template.templateId] : []);
        const body = { signer_name: this.data.signerName.trim(), agreement_version: this.data.program.agreementVersion, agreed: true };
        const key = this.attempts.keyFor(JSON.stringify(body));
        try {
          const signed = await api.post(`/display/programs/${this.id}/sign`, body, { idempotencyKey: key });
          this.attempts.done();
          wx.showToast({ title: '签约成功', icon: 'success' });
          wx.redirectTo({ url: `/packageDisplay/pages/signing/index?id=${signed.id}` });
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ signError: displayError(err, SIGN_ERRORS) });
          // Full, changed, closed or signed meanwhile: show the program as it is now.
          if (SIGN_ERRORS[err.code] || err.status === 409) await this.load({ quiet: true });
        }
      });
    },
    onOpenSigning() {
      const id = this.data.program && this.data.program.signingId;
      if (id) wx.navigateTo({ url: `/packageDisplay/pages/signing/index?id=${id}` });
    },
  },
});
