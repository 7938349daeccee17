/**
 * 拍照上报: the photos of one check of a signed program. Only the camera (wx.chooseMedia with
 * sourceType ['camera'], never the album, so a photo is of the shelf as it is now), one
 * photo at a time; the moment of capture (Date.now() when WeChat hands the photo back) and
 * where the phone is (wx.getLocation, gcj02) go with it. Without location (refused, or
 * location turned off) the page says that the check then goes to a person and lets the
 * store go on. Each photo is uploaded at once (POST /display/photos, multipart `file` with
 * taken_at, latitude, longitude), with its progress; a failed one can be retried or removed.
 * With exactly the photos the program asks for, 提交 sends their ids (POST
 * /display/checks/<id>/submissions, one Idempotency-Key per attempt; WeChat first asks whether
 * to remind before the next check closes) and shows the verdict:
 * passed with its reward, waiting for review, or failed with each reason and 重新拍照.
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { formatShortTime } = require('../../../components/lib/format');
const { requireStore } = require('../../../components/lib/identity');
const { createAttempts } = require('../../../components/lib/attempt');
const { uploadFile } = require('../../../components/lib/upload');
const privacy = require('../../../components/lib/privacy');
const subscribe = require('../../../components/lib/subscribe');
const {
  SUBMIT_ERRORS, displayError, windowText, reasonLines, presentSamples, previewImages,
} = require('../../../components/lib/display');

const NO_LOCATION_NOTE = '未能获取位置：没有位置的照片会转人工审核，仍可继续拍照提交。';
const CLOSED_NOTES = {
  upcoming: '本次检查还没开始，请在拍照时间内再来',
  review: '本次检查已提交，正在审核',
  passed: '本次检查已通过',
  missed: '本次检查已过截止时间',
};

let photoKeys = 0;

/** One photo from the camera: {path, takenAt} or null (cancelled or refused). */
function takePhoto() {
  return new Promise((resolve) => {
    wx.chooseMedia({
      count: 1,
      mediaType: ['image'],
      sourceType: ['camera'], // never the album: an old or forwarded photo proves nothing
      sizeType: ['compressed'],
      camera: 'back',
      success: (res) => {
        const takenAt = Date.now(); // the capture: WeChat answers as the shutter closes
        const file = ((res && res.tempFiles) || [])[0];
        resolve(file && file.tempFilePath ? { path: file.tempFilePath, takenAt } : null);
      },
      fail: (res) => {
        privacy.explainDenied(res); // refused the privacy guide: say so; cancelled: nothing
        resolve(null);
      },
    });
  });
}

/** Where the phone is now, {latitude, longitude}, or null when it cannot or may not say. */
function locate() {
  return new Promise((resolve) => {
    wx.getLocation({
      type: 'gcj02', // the coordinates WeChat's maps and the stores' own locations use
      success: (res) => resolve(res && typeof res.latitude === 'number' ? { latitude: res.latitude, longitude: res.longitude } : null),
      fail: () => resolve(null),
    });
  });
}

function presentResult(submission) {
  const lines = reasonLines(submission);
  if (submission.status === 'passed') {
    const reward = submission.reward ? `获得奖励：${submission.reward.text}` : '';
    return { status: 'passed', title: '检查通过', text: reward, reasons: lines };
  }
  if (submission.status === 'review') {
    return { status: 'review', title: '已提交，等待审核', text: '审核结果会在“我的陈列”中显示，通过后奖励自动发放', reasons: lines };
  }
  return { status: 'failed', title: '未通过', text: '请按以下原因调整陈列后重新拍照', reasons: lines };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    check: null, // {id, title, window, closes, required, canSubmit, closedNote}
    standard: '',
    samples: [],
    lastReasons: [],
    photos: [], // [{key, path, time, latitude, longitude, status: locating | uploading | done | failed, progress, id, message}]
    noLocation: false,
    noLocationNote: NO_LOCATION_NOTE,
    submitting: false,
    submitError: '',
    result: null, // {status, title, text, reasons}
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      const o = options || {};
      this.signingId = Number(o.signing) || 0;
      this.checkId = Number(o.check) || 0;
      this.attempts = createAttempts();
      this.templates = {};
      return Promise.all([
        this.load(),
        subscribe.loadTemplates().then((found) => {
          this.templates = found;
        }),
      ]);
    },
    async load() {
      if (!this.signingId || !this.checkId) {
        this.setData({ status: 'error', errorMessage: '没有找到这次检查' });
        return;
      }
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const signing = await api.get(`/display/mine/${this.signingId}`);
        const check = (signing.checks || []).find((c) => c.id === this.checkId);
        if (!check) {
          this.setData({ status: 'error', errorMessage: '没有找到这次检查' });
          return;
        }
        const terms = signing.terms || {};
        this.setData({
          status: 'ready',
          check: {
            id: check.id,
            title: `${(signing.program && signing.program.name) || terms.name || ''} · 第 ${check.seq} 次检查`,
            window: windowText(check.opens_at, check.closes_at),
            closes: formatShortTime(check.closes_at),
            required: terms.photos_required || 1,
            canSubmit: Boolean(check.can_submit),
            closedNote: check.can_submit ? '' : CLOSED_NOTES[check.state] || '本次检查现在不能拍照',
          },
          standard: terms.standard || '',
          samples: presentSamples(terms.sample_photos),
          // Trying again: why the last photos did not pass, to fix before shooting.
          lastReasons: check.submission && ['failed', 'rejected'].indexOf(check.submission.status) >= 0 ? reasonLines(check.submission) : [],
        });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onPreviewSample(e) {
      previewImages(this.data.samples, e.currentTarget.dataset.url);
    },
    onPreviewPhoto(e) {
      previewImages(this.data.photos, e.currentTarget.dataset.path);
    },

    // ---- photos ----------------------------------------------------------------------------

    async onTake() {
      const { check, photos } = this.data;
      if (!check || !check.canSubmit || photos.length >= check.required) return;
      const shot = await takePhoto();
      if (!shot) return;
      photoKeys += 1;
      const key = `p${photoKeys}`;
      // Shown at once; the location (a second or two) is asked for before the upload.
      this.setData({
        [`photos[${this.data.photos.length}]`]: {
          key,
          path: shot.path,
          takenAt: shot.takenAt,
          time: `${formatShortTime(new Date(shot.takenAt).toISOString())} 拍摄`,
          latitude: null,
          longitude: null,
          status: 'locating',
          progress: 0,
          id: null,
          message: '',
        },
        submitError: '',
      });
      const where = await locate();
      const at = this.data.photos.findIndex((p) => p.key === key);
      if (at < 0) return; // removed meanwhile
      const patch = { noLocation: this.data.noLocation || !where };
      if (where) Object.assign(patch, { [`photos[${at}].latitude`]: where.latitude, [`photos[${at}].longitude`]: where.longitude });
      this.setData(patch);
      await this.upload(key);
    },
    async upload(key) {
      const at = () => this.data.photos.findIndex((p) => p.key === key);
      if (at() < 0) return;
      this.setData({ [`photos[${at()}].status`]: 'uploading', [`photos[${at()}].progress`]: 0, [`photos[${at()}].message`]: '' });
      const photo = this.data.photos[at()];
      const formData = { taken_at: String(photo.takenAt) };
      if (photo.latitude !== null && photo.longitude !== null) {
        formData.latitude = String(photo.latitude);
        formData.longitude = String(photo.longitude);
      }
      const onProgress = (percent) => {
        // Only now and then: every percent would be a setData each.
        if (at() >= 0 && percent - this.data.photos[at()].progress >= 10) this.setData({ [`photos[${at()}].progress`]: percent });
      };
      try {
        const uploaded = await uploadFile('/display/photos', photo.path, { formData, onProgress });
        if (at() < 0) return; // removed meanwhile
        this.setData({ [`photos[${at()}].status`]: 'done', [`photos[${at()}].id`]: uploaded.id, [`photos[${at()}].progress`]: 100 });
      } catch (err) {
        if (redirectIfSignedOut(err) || at() < 0) return;
        this.setData({ [`photos[${at()}].status`]: 'failed', [`photos[${at()}].message`]: errorMessage(err) });
      }
    },
    onRetryPhoto(e) {
      return this.upload(e.currentTarget.dataset.key);
    },
    onRemovePhoto(e) {
      const key = e.currentTarget.dataset.key;
      this.setData({ photos: this.data.photos.filter((p) => p.key !== key), submitError: '' });
    },
    onOpenSetting() {
      wx.openSetting({});
    },

    // ---- submitting --------------------------------------------------------------------------

    problem() {
      const { photos, check } = this.data;
      if (photos.some((p) => p.status === 'uploading' || p.status === 'locating')) return '照片还在上传，请稍候';
      if (photos.some((p) => p.status === 'failed')) return '有照片上传失败，请重试或删除';
      if (photos.length < check.required) return `还需拍 ${check.required - photos.length} 张照片`;
      return '';
    },
    onSubmit() {
      if (!this.data.check || !this.data.check.canSubmit || this.data.result) return Promise.resolve();
      const problem = this.problem();
      if (problem) {
        this.setData({ submitError: problem });
        return Promise.resolve();
      }
      return api.withButtonLock(this, 'submitting', async () => {
        this.setData({ submitError: '' });
        // Each accept lets one reminder through: ask again at each report, for the next check.
        const template = this.templates[subscribe.KINDS.display];
        await subscribe.ask(template ? [template.templateId] : []);
        const body = { photo_ids: this.data.photos.map((p) => p.id) };
        const key = this.attempts.keyFor(JSON.stringify(body));
        try {
          const submission = await api.post(`/display/checks/${this.checkId}/submissions`, body, { idempotencyKey: key });
          this.attempts.done();
          this.setData({ result: presentResult(submission) });
          wx.pageScrollTo({ scrollTop: 0, duration: 0 });
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ submitError: displayError(err, SUBMIT_ERRORS) });
        }
      });
    },
    /** After a failed verdict: new photos (the ones sent are used), while the window is open. */
    onRetake() {
      this.setData({ result: null, photos: [], submitError: '' });
    },
    onBack() {
      wx.navigateBack({ delta: 1 });
    },
  },
});
