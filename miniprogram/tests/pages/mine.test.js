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

test('balances from fen and every entry to the store\'s pages', async () => {
  route(api, {
    'GET /ledger/accounts': { items: [{ id: 1, kind: 'points', kind_name: '积分', balance: 2700 }, { id: 2, kind: 'rebate', kind_name: '返利余额', balance: 123456 }] },
  });
  const page = h.page('mine');
  await page.instance.onLoad({});
  await flush();
  expect(texts(page, '.balance-value')).toEqual(['2700', '¥1,234.56']);
  expect(texts(page, '.entry-name')).toEqual(['扫码入库/动销', '我的库存', '我的券包', '积分与返利', '积分商城', '幸运抽奖', '直播订货会', '陈列活动', '我的投诉', '邀请门店']);
  await tap(page, '.entry-live');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/live-list/index' }));
  await tap(page, '.entry-display');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/programs/index' }));
  await tap(page, '.entry-scan');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/scan/index' }));
  await tap(page, '.entry-stock');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageCodes/pages/stock/index' }));
  await tap(page, '.balance', 1);
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/ledger/index?kind=rebate' }));
});

test('the balances fail on their own, with 重试', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  route(api, { 'GET /ledger/accounts': () => answer });
  const page = h.page('mine');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  expect(page.querySelectorAll('.entry')).toHaveLength(10);
  answer = { items: [] };
  await tapRetry(page, '.balances-state');
  expect(textOf(page)).toContain('下单付款后即可获得积分与返利');
});
