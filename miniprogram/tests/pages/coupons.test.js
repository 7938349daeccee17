jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

function coupon(overrides) {
  return Object.assign(
    {
      id: 31,
      template_id: 4,
      name: '新客满2000减100',
      kind: 'reduction',
      description: '满2000元减100元',
      state: 'available',
      state_label: '可使用',
      valid_from: '2026-01-01T00:00:00+00:00',
      valid_until: '2026-01-31T15:59:00+00:00',
      order_id: null,
      source: 'issuance',
      issued_at: '2026-01-01T00:00:00+00:00',
    },
    overrides || {},
  );
}

async function open(options) {
  const page = h.page('coupons');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('lists the usable coupons and vouchers with their terms, validity and goods', async () => {
  route(api, {
    'GET /coupons/wallet': {
      items: [
        coupon(),
        coupon({ id: 30, name: '滤芯兑换券', kind: 'exchange', description: '兑换指定商品', source: 'live', exchange: [{ sku_id: 4, quantity: 2, product_id: 12, product_name: 'PP 滤芯', sku_name: '10寸', unit: '支' }] }),
      ],
      next_before: null,
    },
  });
  const page = await open();
  expect(api.get).toHaveBeenCalledWith('/coupons/wallet', { limit: 20, state: 'available' });
  expect(texts(page, '.coupon-name')).toEqual(['新客满2000减100', '滤芯兑换券']);
  expect(texts(page, '.coupon-kind')).toEqual(['满减券', '兑换券']);
  const text = textOf(page);
  expect(text).toContain('满2000元减100元');
  expect(text).toContain('2026-01-01 至 2026-01-31');
  expect(text).toContain('可兑换：PP 滤芯 10寸 × 2支');
  expect(text).toContain('直播间抢券');
  expect(text).toContain('兑换券仅限门店自己下单使用');
  expect(texts(page, '.use-btn')).toEqual(['去使用', '去兑换']);
  await tap(page, '.use-btn');
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/catalog/index' }));
});

test('tabs ask for used and expired coupons; the cursor pages on', async () => {
  route(api, {
    'GET /coupons/wallet': (path, q) => {
      if (q.state === 'used') return { items: [coupon({ id: 20, state: 'used', state_label: '已使用', order_id: 42 })], next_before: 20 };
      if (q.state === 'expired') return { items: [], next_before: null };
      return { items: [coupon()], next_before: null };
    },
  });
  const page = await open();
  await tap(page, '.tab', 1);
  expect(api.get).toHaveBeenLastCalledWith('/coupons/wallet', { limit: 20, state: 'used' });
  expect(texts(page, '.coupon-state')).toEqual(['已使用']);
  expect(page.querySelectorAll('.use-btn')).toHaveLength(0);
  await page.instance.onReachBottom();
  expect(api.get).toHaveBeenLastCalledWith('/coupons/wallet', { limit: 20, state: 'used', before: 20 });

  await tap(page, '.tab', 2);
  expect(api.get).toHaveBeenLastCalledWith('/coupons/wallet', { limit: 20, state: 'expired' });
  expect(textOf(page)).toContain('没有过期的券');
});

test('a coupon opens its history, with the order it was used in', async () => {
  route(api, {
    'GET /coupons/wallet': { items: [coupon({ state: 'used', state_label: '已使用', order_id: 42 })], next_before: null },
    'GET /coupons/wallet/31/history': {
      items: [
        { kind: 'issued', order_id: null, at: '2026-01-01T00:00:00+00:00' },
        { kind: 'used', order_id: 42, at: '2026-01-05T06:30:00+00:00' },
      ],
    },
  });
  const page = await open();
  await tap(page, '.coupon-main');
  expect(api.get).toHaveBeenCalledWith('/coupons/wallet/31/history');
  expect(texts(page, '.history-name')).toEqual(['下单使用', '发放到券包']);
  expect(textOf(page)).toContain('2026-01-05 14:30');
  await tap(page, '.history-row .link');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
});

test('an error shows the server message and 重试 loads again', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, { 'GET /coupons/wallet': () => answer });
  const page = await open();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = { items: [], next_before: null };
  await tapRetry(page);
  expect(textOf(page)).toContain('券包里还没有可用的券');
});

test('an exchange voucher names each SKU it exchanges, and 去兑换 opens the product', async () => {
  route(api, {
    'GET /coupons/wallet': {
      items: [
        coupon({
          id: 30,
          name: '净水套装兑换券',
          kind: 'exchange',
          description: '兑换指定商品',
          exchange: [
            { sku_id: 4, quantity: 2, product_id: 12, product_name: 'PP 滤芯', sku_name: '10寸', unit: '支' },
            { sku_id: 1, quantity: 1, product_id: 10, product_name: 'RO 净水器', sku_name: '标准款', unit: '台' },
          ],
        }),
      ],
      next_before: null,
    },
  });
  const page = await open();
  expect(texts(page, '.coupon-goods-item')).toEqual(['可兑换：PP 滤芯 10寸 × 2支', '可兑换：RO 净水器 标准款 × 1台']);
  await tap(page, '.use-btn');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/product/index?product_id=12&sku_id=4' }));
  expect(h.wx.switchTab).not.toHaveBeenCalled();
  await tap(page, '.coupon-goods-item', 1);
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/product/index?product_id=10&sku_id=1' }));
  expect(page.querySelectorAll('.history')).toHaveLength(0); // a tap on the goods does not open the history
});

test('a voucher whose SKUs are unknown still says what it is for', async () => {
  route(api, {
    'GET /coupons/wallet': { items: [coupon({ id: 30, name: '兑换券', kind: 'exchange', exchange: [{ sku_id: 9, quantity: 1, product_id: null, product_name: '', sku_name: '', unit: '' }] })], next_before: null },
  });
  const page = await open();
  expect(texts(page, '.coupon-goods-item')).toEqual(['可兑换：商品编号 9 × 1']);
  await tap(page, '.use-btn');
  expect(h.wx.switchTab).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/catalog/index' }));
});

// ---- issue 23: what an empty page offers ----------------------------------------------------

const ux = require('./support/harness');

test('券包, empty: 去领券 goes to 首页 and 去订货 to 订货; another tab offers the usable coupons', async () => {
  route(api, { 'GET /coupons/wallet': { items: [], next_before: null } });
  const page = await open();
  expect(textOf(page)).toContain('券包里还没有可用的券');
  await tap(page, '.empty-claim');
  await tap(page, '.empty-shop');
  expect(ux.switchedTo(h.wx)).toEqual(['/pages/home/index', '/pages/catalog/index']);

  page.setData({ active: 'used' });
  await flush();
  expect(page.querySelectorAll('.empty-claim')).toHaveLength(0);
  await tap(page, '.empty-available');
  expect(page.data.active).toBe('available');
  expect(api.get).toHaveBeenLastCalledWith('/coupons/wallet', expect.objectContaining({ state: 'available' }));
});
