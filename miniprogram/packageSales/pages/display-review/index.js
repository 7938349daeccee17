/**
 * 陈列初审: the display photos of the salesperson's stores waiting for a first look (GET
 * /display/sales/reviews, oldest first; only programs whose brand lets the salesperson review
 * first). Each shows the store, the program's standard and sample photos beside the photos
 * sent (with how far from the store each was taken) and the automatic reasons. 通过 (POST
 * /display/submissions/<id>/approve) passes it on to the brand, which decides; 驳回 with a
 * reason (POST .../reject) is final and the store may take new photos while the window is
 * open. A decided row stays in the list, marked, until the next reload.
 */
const api = require('../../../utils/api');
const pagedList = require('../../../components/lib/paged-list');
const { endPullDown } = require('../../../components/lib/pull-down');
const { redirectIfSignedOut, toastError, errorMessage } = require('../../../components/lib/errors');
const { formatShortTime } = require('../../../components/lib/format');
const { windowText, presentSamples, previewImages, distanceText } = require('../../../components/lib/display');
const { requireSalesperson } = require('../../lib/sales');

const PAGE_SIZE = 20;
const REASON_MIN = 2;
const REASON_MAX = 200;

function present(item) {
  const store = item.store || {};
  const program = item.program || {};
  const check = item.check || {};
  return {
    id: item.id,
    store: store.name || '',
    address: store.address || '',
    program: program.name || '',
    standard: program.standard || '',
    samples: presentSamples(program.sample_photos),
    check: `第 ${check.seq || item.check_seq} 次检查 · ${windowText(check.opens_at, check.closes_at)}`,
    submitted: `${formatShortTime(item.submitted_at)} 提交${item.attempt > 1 ? `（第 ${item.attempt} 次提交）` : ''}`,
    photos: (item.photos || []).map((p) => ({
      key: `p${p.id}`,
      url: p.url,
      note: [formatShortTime(p.taken_at) ? `${formatShortTime(p.taken_at)} 拍摄` : '', p.latitude === null || p.latitude === undefined ? '无位置' : distanceText(p.distance_m)].filter(Boolean).join(' · '),
    })),
    reasons: (item.reasons || []).filter((r) => r && r.message).map((r, i) => ({ key: `r${i}`, text: r.message })),
    rejecting: false,
    reason: '',
    reasonError: '',
    decided: '',
  };
}

Component({
  behaviors: [pagedList],
  data: {
    deciding: false,
  },
  methods: {
    onLoad() {
      if (!requireSalesperson()) return Promise.resolve();
      return this.reload();
    },
    onPullDownRefresh() {
      return endPullDown(this.reload({ quiet: true }));
    },
    async fetchPage(cursor) {
      const query = { limit: PAGE_SIZE };
      // The queue is oldest first: whichever keyset cursor the page names is passed back.
      if (cursor) query[this.cursorKey || 'before'] = cursor;
      const answer = await api.get('/display/sales/reviews', query);
      this.cursorKey = answer.next_after !== undefined ? 'after' : 'before';
      const next = answer.next_after !== undefined ? answer.next_after : answer.next_before;
      return { items: (answer.items || []).map(present), next: next || null };
    },
    at(id) {
      return this.data.items.findIndex((i) => i.id === Number(id));
    },
    onPreviewPhoto(e) {
      const row = this.data.items[this.at(e.currentTarget.dataset.id)];
      if (row) previewImages(row.photos, e.currentTarget.dataset.url);
    },
    onPreviewSample(e) {
      const row = this.data.items[this.at(e.currentTarget.dataset.id)];
      if (row) previewImages(row.samples, e.currentTarget.dataset.url);
    },
    onStartReject(e) {
      const i = this.at(e.currentTarget.dataset.id);
      if (i >= 0) this.setData({ [`items[${i}].rejecting`]: true, [`items[${i}].reasonError`]: '' });
    },
    onCancelReject(e) {
      const i = this.at(e.currentTarget.dataset.id);
      if (i >= 0) this.setData({ [`items[${i}].rejecting`]: false, [`items[${i}].reasonError`]: '' });
    },
    onReason(e) {
      const i = this.at(e.currentTarget.dataset.id);
      if (i >= 0) this.setData({ [`items[${i}].reason`]: String(e.detail.value || '').slice(0, REASON_MAX), [`items[${i}].reasonError`]: '' });
    },
    onApprove(e) {
      return this.decide(e.currentTarget.dataset.id, 'approve');
    },
    onReject(e) {
      const i = this.at(e.currentTarget.dataset.id);
      if (i < 0) return Promise.resolve();
      const reason = this.data.items[i].reason.trim();
      if (reason.length < REASON_MIN) {
        this.setData({ [`items[${i}].reasonError`]: `请填写驳回原因（${REASON_MIN}–${REASON_MAX} 个字）` });
        return Promise.resolve();
      }
      return this.decide(e.currentTarget.dataset.id, 'reject', reason);
    },
    decide(id, action, reason) {
      return api.withButtonLock(this, 'deciding', async () => {
        const i = this.at(id);
        if (i < 0 || this.data.items[i].decided) return;
        const body = action === 'approve' ? { note: '' } : { reason };
        try {
          await api.post(`/display/submissions/${id}/${action}`, body);
          const decided = action === 'approve' ? '已初审通过，等待品牌审核' : '已驳回，门店可在拍照时间内重新拍照';
          this.setData({ [`items[${i}].decided`]: decided, [`items[${i}].rejecting`]: false });
          wx.showToast({ title: action === 'approve' ? '已通过' : '已驳回', icon: 'success' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          if (err && err.code === 'display.already_reviewed') {
            this.setData({ [`items[${i}].decided`]: '已被他人审核', [`items[${i}].rejecting`]: false });
          }
          if (err && err.code === 'display.invalid' && action === 'reject') {
            this.setData({ [`items[${i}].reasonError`]: errorMessage(err) });
            return;
          }
          toastError(err);
        }
      });
    },
  },
});
