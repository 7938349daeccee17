/**
 * 投诉详情: the complaint, its photos and its timeline (every step with who took it); when
 * the brand has resolved it, the owner confirms (确认解决) or reopens it (重新打开, within 7
 * days of the resolution, with what is still wrong), and rates the outcome once (1–5 星).
 * The steps offered are the server's (`actions` in GET /complaints/<id>).
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const subscribe = require('../../components/lib/subscribe');
const { CONTACTS, REOPEN_DAYS, categoryName, statusName, describeEvent } = require('../../components/lib/complaints');

const DAY_MS = 24 * 60 * 60 * 1000;
const STARS = [1, 2, 3, 4, 5];
const RATING_WORDS = ['', '很不满意', '不满意', '一般', '满意', '非常满意'];

function reopenDeadline(resolvedAt) {
  const ms = Date.parse(resolvedAt || '');
  if (Number.isNaN(ms)) return '';
  return formatTime(new Date(ms + REOPEN_DAYS * DAY_MS).toISOString());
}

function present(c) {
  const actions = c.actions || [];
  const contact = CONTACTS.find((x) => x.value === c.contact_preference);
  const rateable = (c.status === 'resolved' || c.status === 'closed') && (c.rating === null || c.rating === undefined);
  return {
    id: c.id,
    status: c.status,
    statusName: statusName(c),
    category: categoryName(c.category),
    text: c.text || '',
    orderId: c.order_id || null,
    contact: contact ? contact.name : '',
    createdAt: formatTime(c.created_at),
    distributorName: c.distributor_name || '',
    photos: (c.photos || []).map((p) => ({ id: p.id, url: p.url })),
    timeline: (c.timeline || []).map((e) => Object.assign(describeEvent(e), { time: formatTime(e.at) })).reverse(),
    canConfirm: actions.indexOf('confirm') >= 0,
    canReopen: actions.indexOf('reopen') >= 0,
    deadline: actions.indexOf('reopen') >= 0 ? reopenDeadline(c.resolved_at) : '',
    rateable,
    rating: c.rating || 0,
    ratingText: c.rating ? RATING_WORDS[c.rating] : '',
    ratingComment: c.rating_comment || '',
  };
}

function confirmModal(title, content, confirmText) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText,
      success: (res) => resolve(Boolean(res && res.confirm)),
      fail: () => resolve(false),
    });
  });
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    complaint: null,
    stars: STARS,
    reopening: false, // the reopen form is open
    reopenText: '',
    acting: false,
    actionError: '',
    rating: 0,
    ratingWord: '',
    ratingComment: '',
    ratingSending: false,
    ratingError: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.complaintId = Number((options || {}).id);
      this.templates = {};
      subscribe.loadTemplates().then((found) => {
        this.templates = found;
      });
      return this.load();
    },
    onPullDownRefresh() {
      return endPullDown(this.load({ quiet: true }));
    },

    async load(options) {
      const quiet = options && options.quiet && this.data.status === 'ready';
      if (!this.complaintId) {
        this.setData({ status: 'error', errorMessage: '找不到该投诉' });
        return;
      }
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get(`/complaints/${this.complaintId}`);
        this.show(answer);
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (quiet) wx.showToast({ title: errorMessage(err), icon: 'none' });
        else this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    show(answer) {
      this.setData({ complaint: present(answer), status: 'ready' });
    },
    onRetry() {
      return this.load();
    },

    onPreview(e) {
      const urls = this.data.complaint.photos.map((p) => p.url);
      wx.previewImage({ urls, current: e.currentTarget.dataset.url });
    },
    onOpenOrder() {
      wx.navigateTo({ url: `/pages/order/index?id=${this.data.complaint.orderId}` });
    },

    /** One step of the workflow: confirm or reopen. */
    act(action, message) {
      return api.withButtonLock(this, 'acting', async () => {
        this.setData({ actionError: '' });
        if (action === 'reopen') {
          // From the tap: the owner may want to hear about the next steps too.
          const template = this.templates[subscribe.KINDS.complaint];
          await subscribe.ask(template ? [template.templateId] : []);
        }
        try {
          const body = message ? { message } : {};
          const answer = await api.post(`/complaints/${this.complaintId}/${action}`, body);
          this.setData({ reopening: false, reopenText: '' });
          this.show(answer);
          wx.showToast({ title: action === 'confirm' ? '已确认解决' : '已重新打开', icon: 'success' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          this.setData({ actionError: errorMessage(err) });
          if (err.code === 'complaint.status_changed' || err.code === 'complaint.illegal_transition' || err.code === 'complaint.reopen_window_passed') {
            this.load({ quiet: true });
          }
        }
      });
    },
    async onConfirm() {
      if (this.data.acting) return;
      const sure = await confirmModal('确认解决', '确认问题已经解决？确认后投诉将关闭。', '确认解决');
      if (sure) await this.act('confirm');
    },
    onShowReopen() {
      this.setData({ reopening: true, actionError: '' });
    },
    onCancelReopen() {
      this.setData({ reopening: false });
    },
    onReopenText(e) {
      this.setData({ reopenText: String(e.detail.value || '').slice(0, 2000) });
    },
    onReopen() {
      const text = this.data.reopenText.trim();
      if (!text) {
        this.setData({ actionError: '请说明仍未解决的问题' });
        return Promise.resolve();
      }
      return this.act('reopen', text);
    },

    onStar(e) {
      const rating = Number(e.currentTarget.dataset.value) || 0;
      this.setData({ rating, ratingWord: RATING_WORDS[rating] || '', ratingError: '' });
    },
    onRatingComment(e) {
      this.setData({ ratingComment: String(e.detail.value || '').slice(0, 200) });
    },
    onRate() {
      if (!this.data.rating) {
        this.setData({ ratingError: '请先选择星级' });
        return Promise.resolve();
      }
      return api.withButtonLock(this, 'ratingSending', async () => {
        this.setData({ ratingError: '' });
        try {
          const answer = await api.post(`/complaints/${this.complaintId}/rating`, {
            rating: this.data.rating,
            comment: this.data.ratingComment.trim(),
          });
          this.show(answer);
          wx.showToast({ title: '感谢您的评价', icon: 'success' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          this.setData({ ratingError: errorMessage(err) });
          if (err.code === 'complaint.already_rated') this.load({ quiet: true });
        }
      });
    },
  },
});
