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

const ACCOUNTS = {
  items: [
    { id: 2, store_id: 3, kind: 'rebate', kind_name: '返利余额', balance: 123456 },
    { id: 1, store_id: 3, kind: 'points', kind_name: '积分', balance: 2700 },
    { id: 3, store_id: 3, kind: 'cash', kind_name: '红包现金', balance: 188 },
  ],
};

function entry(overrides) {
  return Object.assign(
    { id: 10, amount: 2700, balance_after: 2700, cause: 'order_paid', cause_name: '订单支付获得', cause_id: 42, order_id: 42, at: '2026-01-05T06:30:00+00:00' },
    overrides || {},
  );
}

async function open(options) {
  const page = h.page('ledger');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('shows each balance (points whole, money from fen) and the points statement, newest first, with the balance after each entry', async () => {
  route(api, {
    'GET /ledger/accounts': ACCOUNTS,
    'GET /ledger/accounts/1/entries': {
      account: ACCOUNTS.items[1],
      order: 'desc',
      items: [entry({ id: 11, amount: -500, balance_after: 2200, cause: 'mall_redemption', cause_name: '积分商城兑换', order_id: null, at: '2026-01-06T02:00:00+00:00' }), entry()],
      next_before: 10,
      next_after: null,
    },
  });
  const page = await open();
  expect(texts(page, '.account-name')).toEqual(['积分', '返利余额', '红包现金']);
  expect(texts(page, '.account-balance')).toEqual(['2700', '¥1,234.56', '¥1.88']);
  expect(api.get).toHaveBeenCalledWith('/ledger/accounts/1/entries', { limit: 20, order: 'desc' });
  expect(texts(page, '.entry-cause')).toEqual(['积分商城兑换', '订单支付获得']);
  expect(texts(page, '.entry-amount')).toEqual(['-500', '+2700']);
  expect(texts(page, '.entry-after')).toEqual(['余额 2200', '余额 2700']);
  expect(textOf(page)).toContain('收支明细（最新在前）');
  expect(textOf(page)).toContain('2026-01-06 10:00');
  expect(textOf(page)).toContain('加载更多');
  // the order is a link, not its database id
  expect(texts(page, '.entry-meta .link')).toEqual(['· 查看订单 ›']);
  expect(textOf(page)).not.toContain('订单 42');
});

test('the rebate account pages back in time by keyset (before), amounts through formatFen', async () => {
  route(api, {
    'GET /ledger/accounts': ACCOUNTS,
    'GET /ledger/accounts/1/entries': { account: ACCOUNTS.items[1], order: 'desc', items: [], next_before: null, next_after: null },
    'GET /ledger/accounts/2/entries': (path, q) =>
      q.before
        ? { account: ACCOUNTS.items[0], order: 'desc', items: [entry({ id: 20, amount: 123461, balance_after: 123461, cause_name: '订单支付获得' })], next_before: null, next_after: null }
        : { account: ACCOUNTS.items[0], order: 'desc', items: [entry({ id: 21, amount: -5, balance_after: 123456, cause_name: '下单抵扣' })], next_before: 21, next_after: null },
  });
  const page = await open();
  expect(textOf(page)).toContain('暂无收支记录');
  await tap(page, '.account', 1);
  expect(api.get).toHaveBeenLastCalledWith('/ledger/accounts/2/entries', { limit: 20, order: 'desc' });
  expect(texts(page, '.entry-amount')).toEqual(['-¥0.05']);
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/ledger/accounts/2/entries', { limit: 20, order: 'desc', before: 21 });
  expect(texts(page, '.entry-amount')).toEqual(['-¥0.05', '+¥1,234.61']);
  expect(texts(page, '.entry-after')).toEqual(['余额 ¥1,234.56', '余额 ¥1,234.61']);
  expect(textOf(page)).toContain('没有更多了');
});

test('a page that fails to load more says so and tries again; entries already shown are not repeated', async () => {
  let more = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, {
    'GET /ledger/accounts': ACCOUNTS,
    'GET /ledger/accounts/1/entries': (path, q) =>
      q.before
        ? more
        : { account: ACCOUNTS.items[1], order: 'desc', items: [entry({ id: 12 }), entry({ id: 11 })], next_before: 11, next_after: null },
  });
  const page = await open();
  await page.instance.onReachBottom();
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  more = { account: ACCOUNTS.items[1], order: 'desc', items: [entry({ id: 11 }), entry({ id: 10, amount: 100, balance_after: 100 })], next_before: null, next_after: null };
  await tap(page, '.list-foot .link');
  expect(api.get).toHaveBeenLastCalledWith('/ledger/accounts/1/entries', { limit: 20, order: 'desc', before: 11 });
  expect(page.querySelectorAll('.entry')).toHaveLength(3);
  expect(textOf(page)).toContain('没有更多了');
});

test('opens on the account asked for, links to the mall and the order', async () => {
  route(api, {
    'GET /ledger/accounts': ACCOUNTS,
    'GET /ledger/accounts/3/entries': { account: ACCOUNTS.items[2], order: 'desc', items: [entry({ id: 30, amount: 188, balance_after: 188, cause_name: '直播红包', order_id: null })], next_before: null, next_after: null },
  });
  const page = await open({ kind: 'cash' });
  expect(texts(page, '.account--on .account-name')).toEqual(['红包现金']);
  expect(texts(page, '.entry-amount')).toEqual(['+¥1.88']);
  await tap(page, '.shortcut-mall');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/mall/index' }));
});

test('errors: the accounts and the statement each retry', async () => {
  let accounts = apiError(api.ApiError, 'http.503', '服务暂时不可用，请稍后重试', 503);
  let entries = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, {
    'GET /ledger/accounts': () => accounts,
    'GET /ledger/accounts/1/entries': () => entries,
  });
  const page = await open();
  expect(textOf(page)).toContain('服务暂时不可用，请稍后重试');
  accounts = ACCOUNTS;
  await tapRetry(page);
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  entries = { account: ACCOUNTS.items[1], order: 'desc', items: [entry()], next_before: null, next_after: null };
  await tapRetry(page, '.entries-state');
  expect(texts(page, '.entry-cause')).toEqual(['订单支付获得']);
});

test('a store without accounts sees the empty state', async () => {
  route(api, { 'GET /ledger/accounts': { items: [] } });
  const page = await open();
  expect(textOf(page)).toContain('还没有积分或返利账户');
});

// ---- issue 23: what an empty page offers ----------------------------------------------------

const ux = require('./support/harness');

test('积分与返利, no account yet: 去订货', async () => {
  route(api, { 'GET /ledger/accounts': { items: [] } });
  const page = await open();
  await tap(page, '.empty-shop');
  expect(ux.switchedTo(h.wx)).toEqual(['/pages/catalog/index']);
});
