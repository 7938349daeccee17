jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsSalesperson, sendsStoreOwnersToSignIn } = require('./support/salesperson');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
});

function store(overrides) {
  return Object.assign(
    { id: 3, name: '赵记水站', contact_name: '赵老板', phone: '13800000003', business_licence_no: null, address: '东城区幸福路 8 号', location: null, region_id: 1, distributor_id: 2, salesperson_id: 4, owner_user_id: 7, tier: 'B', tags: ['社区店'], status: 'active', invited_by_store_id: null, invited_by_salesperson_id: 4, created_at: '2025-12-01T00:00:00+00:00' },
    overrides || {},
  );
}

const ME = {
  id: 9,
  display_name: '',
  phone: '13900000004',
  current: { membership_id: 21, role: 'salesperson' },
  memberships: [{ id: 21, role: 'salesperson', brand: { id: 1, name: '澜泉净水' }, distributor: { id: 2, name: '东城经销' }, store: null, salesperson: { id: 4, name: '李业代' } }],
};

async function open(routes) {
  route(api, Object.assign({ 'GET /me': ME, 'GET /ledger/party-accounts': { items: [{ id: 1, party: 'salesperson', party_id: 4, kind: 'points', kind_name: '积分', balance: 1500, entries: [] }] } }, routes));
  const page = h.page('packageSales/pages/home');
  await page.instance.onLoad({});
  await flush();
  return page;
}

sendsStoreOwnersToSignIn('packageSales/pages/home', () => ({ h, api }));

test('the salesperson\'s stores, their name and points; search by name and page on', async () => {
  signInAsSalesperson();
  const page = await open({
    'GET /stores': (path, q) => {
      if (q.name === '水站') return { items: [store()], next_after: null };
      if (q.after) return { items: [store({ id: 30, name: '钱氏净水', tier: 'A', status: 'suspended', tags: [] })], next_after: null };
      return { items: [store()], next_after: 3 };
    },
  });
  expect(api.get).toHaveBeenCalledWith('/stores', { limit: 20 });
  expect(texts(page, '.hero-name')).toEqual(['李业代']);
  expect(texts(page, '.hero-points-value')).toEqual(['1500']);
  expect(texts(page, '.store-name')).toEqual(['赵记水站']);
  expect(textOf(page)).toContain('赵老板 13800000003');
  expect(texts(page, '.store-tier')).toEqual(['B类']);
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/stores', { limit: 20, after: 3 });
  expect(texts(page, '.store-name')).toEqual(['赵记水站', '钱氏净水']);
  expect(texts(page, '.store-status')).toEqual(['已暂停']);

  page.instance.onInput({ detail: { value: ' 水站 ' } });
  await tap(page, '.search-btn');
  expect(api.get).toHaveBeenLastCalledWith('/stores', { limit: 20, name: '水站' });
  await tap(page, '.store');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/store/index?id=3' }));
  await tap(page, '.entry-onboard');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageSales/pages/onboard/index' }));
  await tap(page, '.entry-display');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageSales/pages/display-review/index' }));
  await tap(page, '.entry-tasks');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageSales/pages/tasks/index' }));
  await tap(page, '.entry-feed');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageSales/pages/feed/index' }));
});

test('no store yet, a search that finds nothing, an error with 重试', async () => {
  signInAsSalesperson();
  let answer = { items: [], next_after: null };
  const page = await open({ 'GET /stores': () => answer });
  expect(textOf(page)).toContain('您名下还没有门店');
  answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  page.instance.onInput({ detail: { value: '不存在' } });
  await tap(page, '.search-btn');
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = { items: [], next_after: null };
  await tapRetry(page);
  expect(textOf(page)).toContain('没有找到该门店');
});

test('退出登录 signs out and goes back to the sign-in page', async () => {
  signInAsSalesperson();
  const page = await open({ 'GET /stores': { items: [], next_after: null } });
  await tap(page, '.entry-signout');
  expect(api.logout).toHaveBeenCalled();
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
});
