jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, currentPromotion } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

const me = {
  id: 7,
  display_name: '',
  phone: '13800000000',
  username: null,
  current: { membership_id: 11, role: 'store_owner' },
  memberships: [{ id: 11, role: 'store_owner', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '一号经销商' }, store: { id: 3, name: '赵记水站' }, salesperson: null }],
};
const claimable = {
  items: [
    { id: 8, name: '95折券', description: '全场95折，最高减200元', valid_until: '2026-02-28T16:00:00+00:00', valid_days: null, left: 10, claimed: 0, can_claim: true },
    { id: 9, name: '满5000减300', description: '满5000元减300元', valid_until: null, valid_days: 30, left: 0, claimed: 0, can_claim: false },
  ],
};
const promotions = {
  items: [
    currentPromotion(),
    currentPromotion({
      id: 6,
      name: '滤芯买赠',
      kind: 'gift',
      kind_name: '赠品',
      description: '满10件送RO 净水器 滤芯 × 1支',
      exclusive: true,
      scope: { all_products: false, bundle: false, skus: [{ sku_id: 4, product_id: 10, product_name: 'RO 净水器', sku_name: '滤芯套装', unit: '套' }], categories: [] },
      per_store_limit: 1,
      uses_left: 1,
    }),
  ],
};
const sessions = {
  items: [{ id: 3, title: '年终直播订货会', cover_url: null, starts_at: '2026-01-10T12:00:00+00:00', status: 'scheduled' }],
  next_before: null,
};
const notices = {
  items: [{ id: 21, kind: 'live.reminder', title: '直播即将开始', body: '年终直播订货会 15 分钟后开始', link: 'live:3', created_at: '2026-01-10T11:45:00+00:00', read: false }],
  next_before: null,
};

function standard(overrides) {
  route(api, Object.assign({
    'GET /me': me,
    'GET /promotions/current': promotions,
    'GET /coupons/claimable': claimable,
    'GET /live/sessions': sessions,
    'GET /notifications': notices,
  }, overrides || {}));
}

test('the store, claimable coupons, invited live sessions and notices', async () => {
  standard();
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();

  expect(texts(page, '.hero-store')).toEqual(['赵记水站']);
  expect(texts(page, '.coupon-name')).toEqual(['95折券', '满5000减300']);
  expect(texts(page, '.coupon-note')).toEqual(['已领完']);
  expect(texts(page, '.live-title')).toEqual(['年终直播订货会']);
  expect(texts(page, '.live-time')).toEqual(['01-10 20:00 开始']);
  expect(texts(page, '.notice-title')).toEqual(['直播即将开始']);
  expect(textOf(page)).toContain('2026-03-01 前有效');
  expect(textOf(page)).toContain('领取后 30 天内有效');
  expect(api.get).toHaveBeenCalledWith('/live/sessions', { limit: 5 });
  expect(api.get).toHaveBeenCalledWith('/notifications', { limit: 5 });
});

test('one failing block shows its own error and 重试 reloads only it', async () => {
  let fail = true;
  standard({ 'GET /live/sessions': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : sessions) });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  expect(texts(page, '.coupon-name')).toEqual(['95折券', '满5000减300']);
  expect(textOf(page)).toContain('网络不给力，请稍后重试');

  fail = false;
  const before = api.get.mock.calls.length;
  await tapRetry(page, '.live-state');
  expect(api.get.mock.calls.slice(before).map((c) => c[0])).toEqual(['/live/sessions']);
  expect(texts(page, '.live-title')).toEqual(['年终直播订货会']);
});

test('empty blocks say so', async () => {
  standard({ 'GET /promotions/current': { items: [] }, 'GET /coupons/claimable': { items: [] }, 'GET /live/sessions': { items: [], next_before: null }, 'GET /notifications': { items: [], next_before: null } });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  const text = textOf(page);
  expect(text).toContain('暂时没有进行中的活动');
  expect(text).toContain('暂时没有可领的优惠券');
  expect(text).toContain('近期没有直播订货会');
  expect(text).toContain('暂无新消息');
});

test('claiming a coupon sends one idempotent claim and refreshes the list', async () => {
  const claim = deferred();
  let claimed = false;
  standard({
    'GET /coupons/claimable': () => (claimed ? { items: [Object.assign({}, claimable.items[0], { can_claim: false, claimed: 1 })] } : claimable),
    'POST /coupons/templates/8/claim': () => claim.promise,
  });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();

  await tap(page, '.claim-btn');
  await tap(page, '.claim-btn');
  claimed = true;
  claim.resolve({ id: 100 });
  await flush();
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(api.post).toHaveBeenCalledWith('/coupons/templates/8/claim', {}, { idempotencyKey: 'key-1' });
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '领取成功，已放入券包' }));
  expect(texts(page, '.coupon-note')).toEqual(['已领取']);
});

test('a refused claim shows the server message', async () => {
  standard({ 'POST /coupons/templates/8/claim': apiError(api.ApiError, 'coupon.sold_out', '优惠券已领完', 409) });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  await tap(page, '.claim-btn');
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '优惠券已领完' }));
});

test('opening a notice marks it read and follows its link; pull-down refreshes everything', async () => {
  standard({ 'POST /notifications/21/read': { ok: true } });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  await tap(page, '.notice');
  expect(api.post).toHaveBeenCalledWith('/notifications/21/read');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageLive/pages/room/index?id=3' }));
  expect(page.querySelector('.notice--unread')).toBeFalsy();

  const before = api.get.mock.calls.length;
  await page.instance.onPullDownRefresh();
  expect(api.get.mock.calls.length - before).toBe(5);
  expect(h.wx.stopPullDownRefresh).toHaveBeenCalled();
});

test('someone who is not a store is sent to sign in', async () => {
  signInAsStore({ identity: { user_id: 7, role: null } });
  standard();
  const page = h.page('home');
  await page.instance.onLoad();
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});

test('the entries open tab pages, 待付款 and 扫码订货 with what they should show', async () => {
  standard();
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  await tap(page, '.entry-unpaid');
  expect(h.wx.switchTab).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/orders/index' }));
  const { takeIntent } = require('../../components/lib/intent');
  expect(takeIntent('/pages/orders/index')).toBe('pending_payment');
  expect(takeIntent('/pages/orders/index')).toBe(null);
  await tap(page, '.entry-scan');
  expect(takeIntent('/pages/catalog/index')).toBe('scan');
  // 陈列活动 is a subpackage page, not a tab: opened on top.
  await tap(page, '.entry-display');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/programs/index' }));
});

test('a display reminder opens the signing it is about', async () => {
  standard({
    'GET /notifications': { items: [{ id: 22, kind: 'display_due', title: '陈列检查提醒', body: '冬季净水器端架陈列 第 3 次检查明天截止', link: '/packageDisplay/pages/signing/index?id=9', created_at: '2026-01-21T00:00:00+00:00', read: false }], next_before: null },
    'POST /notifications/22/read': {},
  });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  await tap(page, '.notice');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/signing/index?id=9' }));
});

test('the promotions running for the store: what they give, what they cover, until when', async () => {
  standard();
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();

  expect(api.get).toHaveBeenCalledWith('/promotions/current');
  expect(texts(page, '.promo-name')).toEqual(['年终满3000减300', '滤芯买赠']);
  expect(texts(page, '.promo-tag')).toEqual(['满减', '赠品']);
  expect(texts(page, '.promo-desc')).toEqual(['满3000元减300元', '满10件送RO 净水器 滤芯 × 1支']);
  const text = textOf(page);
  expect(text).toContain('全部商品');
  expect(text).toContain('适用：RO 净水器 滤芯套装');
  expect(text).toContain('01-01 00:00 至 02-01 00:00');
  expect(text).toContain('不与其他活动同享；每店限 1 次，还可参加 1 次');

  // One product's promotion opens it; a store-wide one opens the catalog.
  await tap(page, '.promo', 1);
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/product/index?product_id=10' }));
  await tap(page, '.promo', 0);
  expect(h.wx.switchTab).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/catalog/index' }));
});

test('promotions that fail to load say so and 重试 reloads only them', async () => {
  let fail = true;
  standard({ 'GET /promotions/current': () => (fail ? apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) : promotions) });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  expect(texts(page, '.coupon-name')).toEqual(['95折券', '满5000减300']);

  fail = false;
  const before = api.get.mock.calls.length;
  await tapRetry(page, '.promotions-state');
  expect(api.get.mock.calls.slice(before).map((c) => c[0])).toEqual(['/promotions/current']);
  expect(texts(page, '.promo-name')).toEqual(['年终满3000减300', '滤芯买赠']);
});

test('a bundle counted in sets shows its composition and its one-line description', async () => {
  standard({
    'GET /promotions/current': {
      items: [
        currentPromotion({
          id: 8,
          name: '净水套装九折',
          kind: 'discount',
          kind_name: '折扣',
          description: 'RO 净水器 滤芯×2 + RO 净水器 标准款×1 成套：每套享9折',
          scope: {
            all_products: false,
            bundle: true,
            bundle_mode: 'sets',
            skus: [
              { sku_id: 4, product_id: 10, product_name: 'RO 净水器', sku_name: '滤芯', unit: '支', set_quantity: 2 },
              { sku_id: 1, product_id: 10, product_name: 'RO 净水器', sku_name: '标准款', unit: '台', set_quantity: 1 },
            ],
            categories: [],
          },
        }),
        currentPromotion({
          id: 9,
          name: '老组合',
          kind: 'discount',
          kind_name: '折扣',
          description: '同时购买RO 净水器 滤芯×1 + RO 净水器 标准款×1：享9折',
          scope: { all_products: false, bundle: true, bundle_mode: 'all_present', skus: [{ sku_id: 4, product_id: 10, product_name: 'RO 净水器', sku_name: '滤芯', unit: '支', set_quantity: 1 }], categories: [] },
        }),
      ],
    },
  });
  const page = h.page('home');
  await page.instance.onLoad();
  await flush();

  expect(texts(page, '.promo-desc')).toEqual([
    'RO 净水器 滤芯×2 + RO 净水器 标准款×1 成套：每套享9折',
    '同时购买RO 净水器 滤芯×1 + RO 净水器 标准款×1：享9折',
  ]);
  const text = textOf(page);
  expect(text).toContain('成套购买：RO 净水器 滤芯×2 + RO 净水器 标准款×1（按凑齐的套数优惠）');
  expect(text).toContain('组合购买：RO 净水器 滤芯');
});
