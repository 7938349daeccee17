/**
 * 首页: the store's name, quick entries, the promotions running for it now (GET
 * /promotions/current), the coupons it can claim now (领券中心), the live order meetings it
 * is invited to, and its latest notices. Each block loads (and fails, and retries) on its
 * own, so one slow service never blanks the page. Pull down to refresh.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { errorMessage, redirectIfSignedOut, toastError } = require('../../components/lib/errors');
const { formatShortTime, formatDate } = require('../../components/lib/format');
const { pageFor } = require('../../components/lib/links');
const { requireStore } = require('../../components/lib/identity');
const { diffPatch } = require('../../components/lib/patch');
const { setIntent } = require('../../components/lib/intent');
const { presentCurrent } = require('../../components/lib/promotions');
const track = require('../../utils/track');

const LIVE_STATUS = { scheduled: '即将开始', live: '直播中', ended: '已结束' };

function section() {
  return { status: 'loading', message: '', items: [] };
}

function presentCoupon(t) {
  let note = '';
  if (t.left === 0) note = '已领完';
  else if (!t.can_claim) note = '已领取';
  return {
    id: t.id,
    name: t.name,
    description: t.description || '',
    validUntil: t.valid_until ? `${formatDate(t.valid_until)} 前有效` : (t.valid_days ? `领取后 ${t.valid_days} 天内有效` : ''),
    canClaim: Boolean(t.can_claim),
    note,
  };
}

function presentLive(s) {
  return {
    id: s.id,
    title: s.title,
    cover: s.cover_url || '',
    status: s.status,
    statusName: LIVE_STATUS[s.status] || '',
    startsAt: formatShortTime(s.starts_at),
  };
}

function presentNotice(n) {
  return {
    id: n.id,
    title: n.title,
    body: n.body,
    time: formatShortTime(n.created_at),
    read: Boolean(n.read),
    url: pageFor(n.link),
  };
}

Component({
  data: {
    storeName: '',
    brandName: '',
    promotions: section(),
    coupons: section(),
    live: section(),
    notices: section(),
    claiming: {},
  },
  methods: {
    onLoad() {
      if (!requireStore()) return Promise.resolve();
      return this.loadAll();
    },
    onShow() {
      track.pageView('pages/home/index');
    },
    onPullDownRefresh() {
      return endPullDown(this.loadAll());
    },

    loadAll() {
      return Promise.all([this.loadMe(), this.loadPromotions(), this.loadCoupons(), this.loadLive(), this.loadNotices()]);
    },
    async loadMe() {
      try {
        const me = await api.get('/me');
        const current = (me.memberships || []).find((m) => m.id === (me.current && me.current.membership_id));
        this.setData({
          storeName: (current && current.store && current.store.name) || '',
          brandName: (current && current.brand && current.brand.name) || '',
        });
      } catch (err) {
        redirectIfSignedOut(err); // the header is a nicety; the blocks below say what failed
      }
    },
    async loadSection(key, fetch, present) {
      this.setData({ [`${key}.status`]: 'loading', [`${key}.message`]: '' });
      try {
        const answer = await fetch();
        const items = (answer.items || []).map(present);
        // Reloaded after a claim: only the rows that changed (已领取) go to the view.
        this.setData(diffPatch(key, this.data[key], { status: items.length ? 'ready' : 'empty', message: '', items }));
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        this.setData({ [key]: { status: 'error', message: errorMessage(err), items: [] } });
      }
    },
    loadPromotions() {
      return this.loadSection('promotions', () => api.get('/promotions/current'), presentCurrent);
    },
    loadCoupons() {
      return this.loadSection('coupons', () => api.get('/coupons/claimable'), presentCoupon);
    },
    loadLive() {
      return this.loadSection('live', () => api.get('/live/sessions', { limit: 5 }), presentLive);
    },
    loadNotices() {
      return this.loadSection('notices', () => api.get('/notifications', { limit: 5 }), presentNotice);
    },
    onRetryPromotions() {
      return this.loadPromotions();
    },
    onRetryCoupons() {
      return this.loadCoupons();
    },
    onRetryLive() {
      return this.loadLive();
    },
    onRetryNotices() {
      return this.loadNotices();
    },

    onClaim(e) {
      const id = Number(e.currentTarget.dataset.id);
      const coupon = this.data.coupons.items.find((c) => c.id === id);
      if (!coupon || !coupon.canClaim) return Promise.resolve();
      return api.withButtonLock(this, `claiming.${id}`, async () => {
        try {
          await api.post(`/coupons/templates/${id}/claim`, {}, { idempotencyKey: api.newIdempotencyKey() });
          wx.showToast({ title: '领取成功，已放入券包', icon: 'none' });
        } catch (err) {
          if (redirectIfSignedOut(err)) return;
          toastError(err);
        }
        await this.loadCoupons();
      });
    },
    onOpenPromotion(e) {
      const id = Number(e.currentTarget.dataset.id);
      const promotion = this.data.promotions.items.find((p) => p.id === id);
      if (!promotion) return;
      // A promotion on one product opens it; any other is shopped for in the catalog.
      if (promotion.productId) wx.navigateTo({ url: `/pages/product/index?product_id=${promotion.productId}` });
      else wx.switchTab({ url: '/pages/catalog/index' });
    },
    onOpenLive(e) {
      wx.navigateTo({ url: `/packageLive/pages/room/index?id=${e.currentTarget.dataset.id}` });
    },
    async onOpenNotice(e) {
      const id = Number(e.currentTarget.dataset.id);
      const notice = this.data.notices.items.find((n) => n.id === id);
      if (!notice) return;
      if (notice.url) wx.navigateTo({ url: notice.url });
      if (!notice.read) {
        const index = this.data.notices.items.indexOf(notice);
        this.setData({ [`notices.items[${index}].read`]: true });
        try {
          await api.post(`/notifications/${id}/read`);
        } catch (err) {
          // Still unread on the server: it shows as unread next time, nothing is lost.
        }
      }
    },

    onGo(e) {
      // A tab page's entry: what it should show travels as an intent. `page`: not a tab page.
      const { url, intent, page } = e.currentTarget.dataset;
      if (page) {
        wx.navigateTo({ url });
        return;
      }
      if (intent) setIntent(url, intent);
      wx.switchTab({ url });
    },
  },
});
