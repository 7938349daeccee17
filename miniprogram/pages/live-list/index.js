/**
 * 直播订货会: the sessions the store is invited to, by tab (直播中 / 即将开始 / 已结束),
 * newest first (keyset `before`). A session that has not started offers 预约提醒: WeChat
 * asks the owner (wx.requestSubscribeMessage, the live-reminder template) and the answer
 * goes to POST /notifications/subscriptions; the server then reminds them 15 minutes before
 * it starts. Tapping a session opens its room.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { goShopping } = require('../../components/lib/links');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const { formatShortTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const subscribe = require('../../components/lib/subscribe');
const { diffPatch } = require('../../components/lib/patch');

const PAGE_SIZE = 20;
const TABS = [
  { key: 'live', name: '直播中' },
  { key: 'scheduled', name: '即将开始' },
  { key: 'ended', name: '已结束' },
];
const STATUS_NAMES = { scheduled: '即将开始', live: '直播中', ended: '已结束' };

function present(s) {
  return {
    id: s.id,
    title: s.title,
    cover: s.cover_url || '',
    status: s.status,
    statusName: STATUS_NAMES[s.status] || '',
    startsAt: formatShortTime(s.starts_at),
    endsAt: formatShortTime(s.ends_at),
    startsMs: Date.parse(s.starts_at || '') || 0,
  };
}

function visible(all, tab) {
  const shown = all.filter((s) => s.status === tab);
  // Upcoming ones soonest first; the others newest first, as the server pages them.
  if (tab === 'scheduled') shown.sort((a, b) => a.startsMs - b.startsMs);
  return shown;
}

Component({
  data: {
    tabs: TABS,
    active: 'scheduled',
    status: 'loading',
    errorMessage: '',
    items: [],
    nextBefore: null,
    loadingMore: false,
    moreError: '',
    reminded: {},
    reminding: {},
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.all = [];
      this.templates = {};
      const wanted = (options || {}).tab;
      if (TABS.some((t) => t.key === wanted)) this.setData({ active: wanted });
      this.autoTab = !wanted;
      subscribe.loadTemplates().then((found) => {
        this.templates = found;
      });
      return this.reload();
    },
    onPullDownRefresh() {
      return endPullDown(this.reload());
    },
    onReachBottom() {
      return this.loadMore();
    },

    show() {
      const items = visible(this.all, this.data.active);
      // The next page mostly adds rows at the end: send what changed, not the list again.
      this.setData(Object.assign(diffPatch('items', this.data.items, items), { status: items.length ? 'ready' : 'empty' }));
    },
    async reload() {
      this.seq = (this.seq || 0) + 1;
      const seq = this.seq;
      this.setData({ status: 'loading', errorMessage: '', items: [], nextBefore: null, moreError: '' });
      try {
        const answer = await api.get('/live/sessions', { limit: PAGE_SIZE, include_ended: true });
        if (seq !== this.seq) return;
        this.all = (answer.items || []).map(present);
        // A session on air now is what the owner came for.
        if (this.autoTab && this.all.some((s) => s.status === 'live')) this.setData({ active: 'live' });
        this.autoTab = false;
        this.setData({ nextBefore: answer.next_before || null });
        this.show();
      } catch (err) {
        if (seq !== this.seq || redirectIfSignedOut(err)) return;
        this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    async loadMore() {
      const { nextBefore, loadingMore } = this.data;
      if (!nextBefore || loadingMore || this.data.status === 'loading' || this.data.status === 'error') return;
      const seq = this.seq;
      this.setData({ loadingMore: true, moreError: '' });
      try {
        const answer = await api.get('/live/sessions', { limit: PAGE_SIZE, include_ended: true, before: nextBefore });
        if (seq !== this.seq) return;
        const seen = new Set(this.all.map((s) => s.id));
        this.all = this.all.concat((answer.items || []).map(present).filter((s) => !seen.has(s.id)));
        this.setData({ nextBefore: answer.next_before || null });
        this.show();
      } catch (err) {
        if (seq === this.seq && !redirectIfSignedOut(err)) this.setData({ moreError: errorMessage(err) });
      } finally {
        if (seq === this.seq) this.setData({ loadingMore: false });
      }
    },
    onRetry() {
      return this.reload();
    },
    onTab(e) {
      const key = e.currentTarget.dataset.key;
      if (!key || key === this.data.active) return;
      this.setData({ active: key });
      if (this.data.status !== 'loading' && this.data.status !== 'error') this.show();
    },

    onOpen(e) {
      wx.navigateTo({ url: `/packageLive/pages/room/index?id=${e.currentTarget.dataset.id}` });
    },
    onRemind(e) {
      const id = Number(e.currentTarget.dataset.id);
      const template = this.templates[subscribe.KINDS.live];
      if (!template) {
        wx.showToast({ title: '暂时无法预约提醒，请稍后再试', icon: 'none' });
        return Promise.resolve();
      }
      return api.withButtonLock(this, `reminding.${id}`, async () => {
        const answer = await subscribe.ask([template.templateId]);
        if (answer.accepted.length) {
          this.setData({ [`reminded.${id}`]: true });
          wx.showToast({ title: '预约成功，开播前15分钟提醒您', icon: 'none' });
        } else if (answer.rejected.length) {
          wx.showToast({ title: '您未允许开播提醒，可在小程序设置中开启', icon: 'none' });
        }
      });
    },
    onGoShopping() {
      goShopping();
    },
  },
});
