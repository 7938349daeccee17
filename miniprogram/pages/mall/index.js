/**
 * 积分商城: the brand's gifts at a points price, the store's points, redeeming one gift
 * (POST /mall/items/<id>/redeem under one Idempotency-Key, kept for a retry after a lost
 * answer), and the store's redemptions (兑换记录) with their status and where they go.
 *
 * A physical gift (`physical`, posted by the brand) asks for a delivery contact (收货人,
 * 手机号, 地址; the server's limits) in a sheet prefilled with the last one used, which is
 * remembered in storage; any other gift asks for a confirmation only.
 */
const api = require('../../utils/api');
const { endPullDown } = require('../../components/lib/pull-down');
const { goShopping } = require('../../components/lib/links');
const { errorMessage, redirectIfSignedOut } = require('../../components/lib/errors');
const privacy = require('../../components/lib/privacy');
const { formatTime } = require('../../components/lib/format');
const { requireStore } = require('../../components/lib/identity');
const { appendPatch } = require('../../components/lib/patch');
const { createAttempts } = require('../../components/lib/attempt');

const PAGE_SIZE = 20;
const DELIVERY_KEY = 'b2bc.mallDelivery';
const PHONE = /^1\d{10}$/;
const LIMITS = { name: 32, phone: 11, address: 200 };
const NO_SHEET = { open: false, itemId: null, title: '', form: { name: '', phone: '', address: '' }, errors: {} };

/** The delivery contact used last (in storage), or an empty one. */
function lastDelivery() {
  let saved = null;
  try {
    saved = wx.getStorageSync(DELIVERY_KEY);
  } catch (e) {
    saved = null;
  }
  const ok = saved && typeof saved === 'object';
  return {
    name: (ok && saved.name) || '',
    phone: (ok && saved.phone) || '',
    address: (ok && saved.address) || '',
  };
}

function rememberDelivery(delivery) {
  try {
    wx.setStorageSync(DELIVERY_KEY, delivery);
  } catch (e) {
    // asked for again next time
  }
}

/** The contact trimmed, and what is wrong with each field (the server's rules). */
function checkDelivery(form) {
  const delivery = {
    name: String(form.name || '').trim(),
    phone: String(form.phone || '').trim(),
    address: String(form.address || '').trim(),
  };
  const errors = {};
  if (!delivery.name) errors.name = '请填写收货人';
  else if (delivery.name.length > LIMITS.name) errors.name = `收货人最多 ${LIMITS.name} 个字`;
  if (!PHONE.test(delivery.phone)) errors.phone = '请填写 11 位手机号';
  if (delivery.address.length < 5) errors.address = '请填写详细地址（省市区街道门牌号）';
  else if (delivery.address.length > LIMITS.address) errors.address = `地址最多 ${LIMITS.address} 个字`;
  return { delivery, errors };
}

function presentItem(item, points) {
  let blocked = '';
  if (item.stock <= 0) blocked = '已兑完';
  else if (points !== null && points < item.points_price) blocked = '积分不足';
  return {
    id: item.id,
    name: item.name,
    description: item.description || '',
    image: item.image_url || '',
    price: item.points_price,
    stock: item.stock,
    physical: item.physical !== false,
    blocked,
  };
}

function presentRedemption(r) {
  return {
    id: r.id,
    name: r.item_name,
    quantity: r.quantity,
    points: r.points,
    status: r.status,
    statusName: r.status_name || '',
    createdAt: formatTime(r.created_at),
    deliveredAt: formatTime(r.delivered_at),
    delivery: r.delivery ? `${r.delivery.name} ${r.delivery.phone} ${r.delivery.address}` : '',
  };
}

function confirm(title, content) {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText: '确认兑换',
      cancelText: '再想想',
      success: (res) => resolve(Boolean(res && res.confirm)),
      fail: () => resolve(false),
    });
  });
}

Component({
  data: {
    tab: 'items', // items | redemptions
    status: 'loading',
    errorMessage: '',
    points: null,
    items: [],
    redeeming: {},
    itemErrors: {},
    sheet: NO_SHEET,
    records: { status: '', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' },
  },
  methods: {
    onLoad(options) {
      if (!requireStore()) return Promise.resolve();
      this.attempts = createAttempts();
      this.rawItems = [];
      if ((options || {}).tab === 'redemptions') {
        this.setData({ tab: 'redemptions' });
        return Promise.all([this.load(), this.loadRecords()]);
      }
      return this.load();
    },
    onPullDownRefresh() {
      const work = [this.load()];
      if (this.data.tab === 'redemptions') work.push(this.loadRecords());
      return endPullDown(Promise.all(work));
    },
    onReachBottom() {
      return this.data.tab === 'redemptions' ? this.loadMoreRecords() : Promise.resolve();
    },

    async loadPoints() {
      try {
        const answer = await api.get('/ledger/accounts');
        const account = (answer.items || []).find((a) => a.kind === 'points');
        return account ? account.balance : 0;
      } catch (err) {
        if (redirectIfSignedOut(err)) throw err;
        return null; // unknown: the server still checks at redemption
      }
    },
    async load(options) {
      const quiet = options && options.quiet && this.data.status === 'ready';
      if (!quiet) this.setData({ status: 'loading', errorMessage: '' });
      try {
        const [answer, points] = await Promise.all([api.get('/mall/items'), this.loadPoints()]);
        this.rawItems = answer.items || [];
        const items = this.rawItems.map((item) => presentItem(item, points));
        this.setData({ items, points, status: items.length ? 'ready' : 'empty' });
      } catch (err) {
        if (redirectIfSignedOut(err)) return;
        if (!quiet) this.setData({ status: 'error', errorMessage: errorMessage(err) });
      }
    },
    onRetry() {
      return this.load();
    },
    onTab(e) {
      const tab = e.currentTarget.dataset.tab;
      if (!tab || tab === this.data.tab) return Promise.resolve();
      this.setData({ tab });
      return tab === 'redemptions' ? this.loadRecords() : Promise.resolve();
    },

    onRedeem(e) {
      const id = Number(e.currentTarget.dataset.id);
      const item = this.data.items.find((i) => i.id === id);
      if (!item || item.blocked) return Promise.resolve();
      this.setData({ [`itemErrors.${id}`]: '' });
      if (item.physical) {
        // Posted to the store: ask where to, starting from the contact used last time.
        this.setData({
          sheet: { open: true, itemId: id, title: `使用 ${item.price} 积分兑换「${item.name}」`, form: lastDelivery(), errors: {} },
        });
        return Promise.resolve();
      }
      return api.withButtonLock(this, `redeeming.${id}`, async () => {
        const sure = await confirm('确认兑换', `使用 ${item.price} 积分兑换「${item.name}」？兑换后积分立即扣除。`);
        if (!sure) return;
        await this.redeem(id, { quantity: 1 });
      });
    },
    onSheetInput(e) {
      const field = e.currentTarget.dataset.field;
      if (!LIMITS[field]) return;
      this.setData({ [`sheet.form.${field}`]: e.detail.value, [`sheet.errors.${field}`]: '' });
    },
    onSheetCancel() {
      this.setData({ sheet: NO_SHEET });
    },
    onChooseAddress() {
      if (typeof wx.chooseAddress !== 'function') return Promise.resolve();
      return new Promise((resolve) => {
        wx.chooseAddress({
          success: (res) => {
            const address = [res.provinceName, res.cityName, res.countyName, res.detailInfo].filter(Boolean).join('');
            this.setData({
              'sheet.form': { name: res.userName || '', phone: res.telNumber || '', address },
              'sheet.errors': {},
            });
            resolve();
          },
          fail: (res) => {
            privacy.explainDenied(res); // cancelled or not allowed: the form stays as it is
            resolve();
          },
        });
      });
    },
    onSheetConfirm() {
      const { sheet } = this.data;
      if (!sheet.open) return Promise.resolve();
      const { delivery, errors } = checkDelivery(sheet.form);
      if (Object.keys(errors).length) {
        this.setData({ 'sheet.errors': errors });
        return Promise.resolve();
      }
      const id = sheet.itemId;
      rememberDelivery(delivery);
      this.setData({ sheet: NO_SHEET });
      return api.withButtonLock(this, `redeeming.${id}`, () => this.redeem(id, { quantity: 1, delivery }));
    },
    async redeem(id, body) {
      // Another address is another redemption: it gets a key of its own.
      const key = this.attempts.keyFor(JSON.stringify({ id, body }));
      try {
        await api.post(`/mall/items/${id}/redeem`, body, { idempotencyKey: key });
        this.attempts.done();
        wx.showToast({ title: '兑换成功', icon: 'success' });
        await this.load({ quiet: true });
        if (this.data.records.status) await this.loadRecords();
      } catch (err) {
        this.attempts.failed(err);
        if (redirectIfSignedOut(err)) return;
        this.setData({ [`itemErrors.${id}`]: errorMessage(err) });
        const stale = ['mall.out_of_stock', 'ledger.insufficient_balance', 'mall.delivery_not_needed', 'mall.item_not_found'];
        if (stale.indexOf(err.code) >= 0) this.load({ quiet: true });
      }
    },

    async loadRecords() {
      this.recordSeq = (this.recordSeq || 0) + 1;
      const seq = this.recordSeq;
      this.setData({ records: { status: 'loading', message: '', items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      try {
        const answer = await api.get('/mall/redemptions', { limit: PAGE_SIZE });
        if (seq !== this.recordSeq) return;
        const items = (answer.items || []).map(presentRedemption);
        this.setData({ records: { status: items.length ? 'ready' : 'empty', message: '', items, nextBefore: answer.next_before || null, loadingMore: false, moreError: '' } });
      } catch (err) {
        if (seq !== this.recordSeq || redirectIfSignedOut(err)) return;
        this.setData({ records: { status: 'error', message: errorMessage(err), items: [], nextBefore: null, loadingMore: false, moreError: '' } });
      }
    },
    onRetryRecords() {
      return this.loadRecords();
    },
    async loadMoreRecords() {
      const { records } = this.data;
      if (!records.nextBefore || records.loadingMore || records.status !== 'ready') return;
      const seq = this.recordSeq;
      this.setData({ 'records.loadingMore': true, 'records.moreError': '' });
      try {
        const answer = await api.get('/mall/redemptions', { limit: PAGE_SIZE, before: records.nextBefore });
        if (seq !== this.recordSeq) return;
        const seen = new Set(this.data.records.items.map((r) => r.id));
        const more = (answer.items || []).map(presentRedemption).filter((r) => !seen.has(r.id));
        this.setData(Object.assign(appendPatch('records.items', this.data.records.items, more), { 'records.nextBefore': answer.next_before || null }));
      } catch (err) {
        if (seq === this.recordSeq && !redirectIfSignedOut(err)) this.setData({ 'records.moreError': errorMessage(err) });
      } finally {
        if (seq === this.recordSeq) this.setData({ 'records.loadingMore': false });
      }
    },
    onOpenLedger() {
      wx.navigateTo({ url: '/pages/ledger/index?kind=points' });
    },
    onGoShopping() {
      goShopping();
    },
  },
});
