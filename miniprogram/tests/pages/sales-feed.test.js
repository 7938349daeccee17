jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap } = require('./support/harness');
const { apiError } = require('./support/api-mock');
const { openAsSalesperson, sendsStoreOwnersToSignIn } = require('./support/salesperson');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
});

const FEED = {
  days: 7,
  items: [
    { kind: 'cart', at: '2026-12-05T02:00:00+00:00', store: { id: 3, name: '张记店' }, text: '购物车有 1 种商品未下单：澜泉 RO 净水器 滤芯 ×20', order_id: null, amount_fen: null },
    { kind: 'view', at: '2026-12-05T01:30:00+00:00', store: { id: 3, name: '张记店' }, text: '浏览了 澜泉 RO 净水器 3 次', order_id: null, amount_fen: null },
    { kind: 'order', at: '2026-12-04T06:00:00+00:00', store: { id: 4, name: '李氏五金' }, text: '下单 O202612040001（待付款）', order_id: 12, amount_fen: 199900 },
  ],
};

const open = (routes) => openAsSalesperson(h, api, 'packageSales/pages/feed', routes);

sendsStoreOwnersToSignIn('packageSales/pages/feed', () => ({ h, api }));

test('the stores\' views, carts and orders, newest first, in China time', async () => {
  const page = await open({ 'GET /sales-feed': FEED });
  expect(api.get).toHaveBeenCalledWith('/sales-feed', { days: 7 });
  expect(texts(page, '.event-kind')).toEqual(['加购', '浏览', '下单']);
  expect(texts(page, '.event-store')).toEqual(['张记店', '张记店', '李氏五金']);
  expect(texts(page, '.event-at')).toEqual(['12-05 10:00', '12-05 09:30', '12-04 14:00']);
  expect(texts(page, '.event-text')).toEqual([
    '购物车有 1 种商品未下单：澜泉 RO 净水器 滤芯 ×20',
    '浏览了 澜泉 RO 净水器 3 次',
    '下单 O202612040001（待付款）',
  ]);
  expect(texts(page, '.event-amount')).toEqual(['¥1,999.00']);
  await tap(page, '.event', 2);
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/store/index?id=4' }));
});

test('近 30 天 asks for a longer window; nothing in it says so', async () => {
  const page = await open({
    'GET /sales-feed': (path, q) => (q.days === 30 ? { days: 30, items: [] } : FEED),
  });
  await tap(page, '.window', 1);
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/sales-feed', { days: 30 });
  expect(textOf(page)).toContain('您的门店近 30 天没有新动态');
  expect(texts(page, '.window-on')).toEqual(['近 30 天']);
});

test('a failure offers a retry', async () => {
  const page = await open({ 'GET /sales-feed': apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
});
