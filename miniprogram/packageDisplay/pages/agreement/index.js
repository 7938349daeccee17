/**
 * 陈列协议 as signed (GET /display/signings/<id>/document): the parties (the brand, the
 * store), who signed and when, which version of the text, the text itself and the terms the
 * store signed up to (the snapshot kept with the signing, not the program as it is now).
 */
const api = require('../../../utils/api');
const { errorMessage, redirectIfSignedOut } = require('../../../components/lib/errors');
const { formatTime } = require('../../../components/lib/format');
const { requireStore } = require('../../../components/lib/identity');
const { windowText, rewardLines, maskPhone } = require('../../../components/lib/display');

function termLines(terms) {
  const t = terms || {};
  const checks = t.checks || [];
  const lines = [];
  if (t.standard) lines.push({ key: 'standard', label: '陈列标准', text: t.standard });
  if ((t.skus || []).length) lines.push({ key: 'skus', label: '陈列商品', text: t.skus.map((s) => s.name).join('、') });
  if (checks.length) {
    const first = checks[0];
    const last = checks[checks.length - 1];
    lines.push({ key: 'checks', label: '检查安排', text: `共 ${checks.length} 次检查，每次拍 ${t.photos_required} 张照片；第 1 次 ${windowText(first.opens_at, first.closes_at)}，最后一次 ${windowText(last.opens_at, last.closes_at)}` });
  }
  if (t.distance_limit_m) lines.push({ key: 'distance', label: '拍摄地点', text: `门店周边 ${t.distance_limit_m} 米以内` });
  rewardLines(t.check_reward, t.completion_reward).forEach((r) => lines.push({ key: `reward-${r.key}`, label: r.label, text: r.text }));
  return lines;
}

function present(d) {
  const store = d.store || {};
  return {
    program: (d.program && d.program.name) || '',
    brand: (d.brand && d.brand.name) || '',
    store: store.name || '',
    address: store.address || '',
    contact: store.contact_name || '',
    signer: [d.signer_name, maskPhone(d.signer_phone)].filter(Boolean).join(' '),
    signedAt: formatTime(d.signed_at),
    version: `第 ${d.agreement_version} 版`,
    terms: termLines(d.terms),
  };
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    doc: null,
    text: '',
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.id = Number((options || {}).id) || 0;
      return this.load();
    },
    async load() {
      if (!this.id) {
        this.setData({ status: 'error', errorMessage: '没有找到该协议' });
        return;
      }
      this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get(`/display/signings/${this.id}/document`);
        this.setData({ status: 'ready', doc: present(answer) });
        // The text on its own: the longest part (up to 20,000 characters).
        this.setData({ text: answer.agreement_text || '' });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
  },
});
