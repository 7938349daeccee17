/**
 * 幸运抽奖: the brand's running wheels (抽奖转盘) and the store's chances (one per paid
 * order over the wheel's threshold). The server draws the prize (POST
 * /lottery/wheels/<id>/spin, one Idempotency-Key per spin); the wheel then turns and stops
 * on that prize's sector, and only then says what was won. Below, the store's spins with
 * the random roll each was drawn with (anyone can recompute the prize from it).
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { formatFen } = require('../../utils/money');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatDate, formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { appendPatch } = require('../../components/lib/patch');
const { createAttempts } = require('../../components/lib/attempt');
const wheel = require('../../components/lib/wheel');

const PAGE_SIZE = 20;

function presentWheel(w) {
  const count = (w.prizes || []).length;
  return {
    id: w.id,
    name: w.name,
    chances: w.chances || 0,
    rule: `单笔支付满${formatFen(w.threshold_fen)}可抽奖一次`,
    period: `${formatDate(w.starts_at)} 至 ${formatDate(w.ends_at)}`,
    background: count ? wheel.background(count) : '',
    prizes: (w.prizes || []).map((p, i) => ({
      id: p.id,
      name: p.name,
      kind: p.kind,
      angle: wheel.labelAngle(i, count),
      chance: p.chance_percent,
      soldOut: p.stock !== null && p.stock !== undefined && p.stock <= 0,
    })),
  };
}

function outcomeOf(spin) {
  const prize = spin.prize || {};
  if (prize.kind === 'nothing') return { title: '谢谢参与', text: '下次好运！', won: false };
  if (prize.kind === 'points') return { title: `恭喜获得 ${prize.points} 积分`, text: '积分已到账，可在积分商城兑换礼品', won: true };
  return { title: `恭喜抽中「${prize.name}」`, text: '品牌将尽快为您安排发放', won: true };
}

function presentSpin(s) {
  return {
    id: s.id,
    prize: (s.prize && s.prize.name) || '',
    statusName: (s.prize && s.prize.kind === 'nothing') ? '' : s.status_name || '',
    createdAt: formatTime(s.created_at),
    roll: s.audit && s.audit.roll !== undefined && s.audit.roll !== null ? String(s.audit.roll) : '',
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Component({
  data: {
    status: 'loading',
    errorMessage: '',
    wheels: [],
    activeIndex: 0,
    rotation: 0,
    spinMs: wheel.settings.spinMs,
    turning: false,
    spinning: false,
    spinError: '',
    outcome: null,
    spins: { status: '', message: '', items: [], nextBefore: null, loadingMore: false },
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      this.attempts = createAttempts();
      return Promise.all([this.load(), this.loadSpins()]);
    },
    onPullDownRefresh() {
      return endPullDown(Promise.all([this.load({ quiet: true }), this.loadSpins()]));
    },
    onReachBottom() {
      return this.loadMoreSpins();
    },

    async load(options) {
      const quiet = options && options.quiet && this.data.status === 'ready';
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const answer = await api.get('/lottery/wheels');
        const wheels = (answer.items || []).filter((w) => (w.prizes || []).length).map(presentWheel);
        const activeIndex = Math.min(this.data.activeIndex, Math.max(0, wheels.length - 1));
        this.setData({ wheels, activeIndex, status: wheels.length ? 'ready' : 'empty' });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (!quiet) this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onPickWheel(e) {
      if (this.data.spinning) return;
      const index = Number(e.currentTarget.dataset.index) || 0;
      this.setData({ activeIndex: index, rotation: 0, spinError: '', outcome: null });
    },

    onSpin() {
      const current = this.data.wheels[this.data.activeIndex];
      if (!current || current.chances <= 0) return Promise.resolve();
      return api.withButtonLock(this, 'spinning', async () => {
        this.setData({ spinError: '', outcome: null });
        const key = this.attempts.keyFor(`wheel:${current.id}`);
        let spin;
        try {
          spin = await api.post(`/lottery/wheels/${current.id}/spin`, {}, { idempotencyKey: key });
          this.attempts.done();
        } catch (err) {
          this.attempts.failed(err);
          if (redirectIfSignedOut(err)) return;
          this.setData({ spinError: errorMessage(err) });
          if (err.code === 'lottery.no_chance' || err.code === 'lottery.sold_out') this.load({ quiet: true });
          return;
        }
        await this.land(current, spin);
        this.setData({ outcome: outcomeOf(spin) });
        await Promise.all([this.load({ quiet: true }), this.loadSpins()]);
      });
    },
    /** Turn the wheel so that the prize the server drew stops under the pointer. */
    async land(current, spin) {
      const index = current.prizes.findIndex((p) => p.id === (spin.prize && spin.prize.id));
      if (index < 0) return; // the wheel changed meanwhile: the result still shows
      const rotation = wheel.landingRotation(this.data.rotation, index, current.prizes.length);
      this.setData({ turning: true, spinMs: wheel.settings.spinMs, rotation });
      await sleep(wheel.settings.spinMs);
      this.setData({ turning: false });
    },
    onCloseOutcome() {
      this.setData({ outcome: null });
    },

    async loadSpins() {
      this.spinSeq = (this.spinSeq || 0) + 1;
      const seq = this.spinSeq;
      this.setData({ 'spins.status': this.data.spins.items.length ? this.data.spins.status : 'loading', 'spins.message': '' });
      try {
        const answer = await api.get('/lottery/spins', { limit: PAGE_SIZE });
        if (seq !== this.spinSeq) return;
        const items = (answer.items || []).map(presentSpin);
        this.setData({ spins: { status: items.length ? 'ready' : 'empty', message: '', items, nextBefore: answer.next_before || null, loadingMore: false } });
      } catch (err) {
        if (seq !== this.spinSeq || redirectIfSignedOut(err)) return;
        this.setData({ spins: { status: 'error', message: errorMessage(err), items: [], nextBefore: null, loadingMore: false } });
      }
    },
    onRetrySpins() {
      return this.loadSpins();
    },
    async loadMoreSpins() {
      const { spins } = this.data;
      if (!spins.nextBefore || spins.loadingMore || spins.status !== 'ready') return;
      const seq = this.spinSeq;
      this.setData({ 'spins.loadingMore': true });
      try {
        const answer = await api.get('/lottery/spins', { limit: PAGE_SIZE, before: spins.nextBefore });
        if (seq !== this.spinSeq) return;
        const seen = new Set(this.data.spins.items.map((s) => s.id));
        const more = (answer.items || []).map(presentSpin).filter((s) => !seen.has(s.id));
        this.setData(Object.assign(appendPatch('spins.items', this.data.spins.items, more), { 'spins.nextBefore': answer.next_before || null }));
      } catch (err) {
        if (seq === this.spinSeq && !redirectIfSignedOut(err)) wx.showToast({ title: errorMessage(err), icon: 'none' });
      } finally {
        if (seq === this.spinSeq) this.setData({ 'spins.loadingMore': false });
      }
    },
    onGoShopping() {
      wx.switchTab({ url: '/pages/catalog/index' });
    },
  },
});
