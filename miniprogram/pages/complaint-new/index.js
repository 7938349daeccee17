/**
 * 我要投诉: category, optionally one of the store's orders, what happened, how to be
 * contacted, and up to 9 photos. Each photo is uploaded as soon as it is chosen
 * (wx.chooseMedia → POST /complaints/photos, multipart field `file`); the complaint then
 * names their ids (POST /complaints, one Idempotency-Key per attempt). Before filing, the
 * owner is asked once whether WeChat may tell them about each step (订阅消息).
 */
const api = require('../../utils/api');
const { formatFen } = require('../../utils/money');
const { errorMessage, fieldErrors, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatShortTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { createAttempts } = require('../../components/lib/attempt');
const { uploadFile } = require('../../components/lib/upload');
const subscribe = require('../../components/lib/subscribe');
const { CATEGORIES, CONTACTS } = require('../../components/lib/complaints');
const privacy = require('../../components/lib/privacy');

const MAX_PHOTOS = 9;
const MAX_TEXT = 2000;
const NO_ORDER = '不关联订单';

let photoKeys = 0;

function chooseImages(count) {
  return new Promise((resolve) => {
    wx.chooseMedia({
      count,
      mediaType: ['image'],
      sourceType: ['album', 'camera'],
      sizeType: ['compressed'],
      success: (res) => resolve(((res && res.tempFiles) || []).map((f) => f.tempFilePath).filter(Boolean)),
      fail: (res) => {
        privacy.explainDenied(res); // refused the privacy guide: say so; cancelled: nothing
        resolve([]);
      },
    });
  });
}

Component({
  data: {
    categories: CATEGORIES,
    contacts: CONTACTS,
    category: '',
    contact: 'phone',
    text: '',
    textLength: 0,
    maxText: MAX_TEXT,
    orders: [], // [{id, label}]
    ordersStatus: 'loading', // loading | ready | error: the 相关订单 picker's own state
    ordersMessage: '',
    orderLabels: [NO_ORDER],
    orderIndex: 0,
    photos: [], // [{key, path, status: uploading | done | failed, id, message}]
    maxPhotos: MAX_PHOTOS,
    errors: {},
    submitting: false,
    submitError: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.attempts = createAttempts();
      this.templates = {};
      this.wantedOrder = Number((options || {}).order_id) || null;
      const category = (options || {}).category;
      if (CATEGORIES.some((c) => c.value === category)) this.setData({ category });
      return Promise.all([
        this.loadOrders(),
        subscribe.loadTemplates().then((found) => {
          this.templates = found;
        }),
      ]);
    },

    async loadOrders() {
      this.setData({ ordersStatus: 'loading' });
      try {
        const answer = await api.get('/orders', { limit: 20 });
        const orders = (answer.items || []).map((o) => ({
          id: o.id,
          label: `${o.order_no} · ${formatShortTime(o.created_at)} · ${formatFen(o.payable_fen)}`,
        }));
        let orderIndex = 0;
        if (this.wantedOrder) {
          const at = orders.findIndex((o) => o.id === this.wantedOrder);
          if (at >= 0) orderIndex = at + 1;
        }
        this.setData({
          orders,
          orderLabels: [NO_ORDER].concat(orders.map((o) => o.label)),
          orderIndex,
          ordersStatus: 'ready',
        });
      } catch (err) {
        // Filing without an order still works: the error (with 重试) stays in the orders card.
        if (redirectIfSignedOut(err)) return;
        this.setData({ ordersStatus: 'error', ordersMessage: `${errorMessage(err)}；也可以不关联订单直接提交` });
      }
    },
    onRetryOrders() {
      return this.loadOrders();
    },

    onCategory(e) {
      this.setData({ category: e.currentTarget.dataset.value, 'errors.category': '' });
    },
    onContact(e) {
      this.setData({ contact: e.currentTarget.dataset.value });
    },
    onPickOrder(e) {
      this.setData({ orderIndex: Number(e.detail.value) || 0 });
    },
    onText(e) {
      const text = String(e.detail.value || '').slice(0, MAX_TEXT);
      this.setData({ text, textLength: text.length, 'errors.text': '' });
    },

    // ---- photos ----------------------------------------------------------------------------

    async onAddPhotos() {
      const room = MAX_PHOTOS - this.data.photos.length;
      if (room <= 0) return;
      const paths = await chooseImages(room);
      if (!paths.length) return;
      const added = paths.slice(0, room).map((path) => {
        photoKeys += 1;
        return { key: `p${photoKeys}`, path, status: 'uploading', id: null, message: '' };
      });
      this.setData({ photos: this.data.photos.concat(added), 'errors.photos': '' });
      // One at a time: a weak network does better, and the order stays the owner's.
      for (let i = 0; i < added.length; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        await this.upload(added[i].key);
      }
    },
    async upload(key) {
      const at = () => this.data.photos.findIndex((p) => p.key === key);
      if (at() < 0) return;
      this.setData({ [`photos[${at()}].status`]: 'uploading', [`photos[${at()}].message`]: '' });
      try {
        const photo = await uploadFile('/complaints/photos', this.data.photos[at()].path);
        if (at() < 0) return; // removed meanwhile
        this.setData({ [`photos[${at()}].status`]: 'done', [`photos[${at()}].id`]: photo.id });
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
      this.setData({ photos: this.data.photos.filter((p) => p.key !== key) });
    },
    onPreview(e) {
      const urls = this.data.photos.map((p) => p.path);
      wx.previewImage({ urls, current: e.currentTarget.dataset.path });
    },

    // ---- filing ----------------------------------------------------------------------------

    validate() {
      const errors = {};
      if (!this.data.category) errors.category = '请选择投诉类型';
      if (!this.data.text.trim()) errors.text = '请描述遇到的问题';
      if (this.data.photos.some((p) => p.status === 'uploading')) errors.photos = '图片还在上传，请稍候';
      else if (this.data.photos.some((p) => p.status === 'failed')) errors.photos = '有图片上传失败，请重试或删除';
      return errors;
    },
    body() {
      const { category, text, contact, orders, orderIndex, photos } = this.data;
      const body = {
        category,
        text: text.trim(),
        contact_preference: contact,
        photo_ids: photos.filter((p) => p.status === 'done').map((p) => p.id),
      };
      if (orderIndex > 0 && orders[orderIndex - 1]) body.order_id = orders[orderIndex - 1].id;
      return body;
    },

    onSubmit() {
      const errors = this.validate();
      if (Object.keys(errors).length) {
        this.setData({ errors, submitError: '' });
        return Promise.resolve();
      }
      return api.withButtonLock(this, 'submitting', async () => {
        this.setData({ errors: {}, submitError: '' });
        // First thing in the tap: WeChat only asks for subscriptions from a tap.
        const template = this.templates[subscribe.KINDS.complaint];
        await subscribe.ask(template ? [template.templateId] : []);
        const body = this.body();
        const key = this.attempts.keyFor(JSON.stringify(body));
        try {
          const filed = await api.post('/complaints', body, { idempotencyKey: key });
          this.attempts.done();
          wx.showToast({ title: '投诉已提交', icon: 'success' });
          wx.redirectTo({ url: `/pages/complaint/index?id=${filed.id}` });
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          const fields = fieldErrors(err);
          const shown = {};
          ['category', 'text', 'order_id', 'photo_ids'].forEach((f) => {
            if (fields[f]) shown[f === 'photo_ids' ? 'photos' : f] = fields[f];
          });
          if (err.code === 'complaint.photos_unavailable') shown.photos = errorMessage(err);
          this.setData({ errors: shown, submitError: errorMessage(err) });
        }
      });
    },
  },
});
