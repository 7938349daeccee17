jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const fx = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  fx.signInAsStore();
});

async function open(routes, options) {
  route(api, routes);
  const page = h.page('packageDisplay/pages/programs');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('可报名: what each program pays, its checks, the places left and the deadline; one opens its page', async () => {
  const page = await open({
    'GET /display/open': { items: [fx.storeProgram(), fx.storeProgram({ id: 6, name: '冰柜门贴陈列', completion_reward: null, check_reward: { kind: 'cash', amount: 500, template_id: null, value_fen: 0, cost_fen: 500, text: '现金 ¥5.00' }, checks: fx.displayChecks(4), photos_required: 1, places_left: 3 })] },
  });
  expect(api.get).toHaveBeenCalledWith('/display/open');
  expect(texts(page, '.tab')).toEqual(['可报名', '我的陈列']);
  expect(texts(page, '.program-name')).toEqual(['冬季净水器端架陈列', '冰柜门贴陈列']);
  expect(texts(page, '.program-reward')).toEqual([
    '每次检查通过：兑换券 1 张（价值 ¥30.00）',
    '全部检查通过：积分 500',
    '每次检查通过：现金 ¥5.00',
  ]);
  expect(texts(page, '.program-meta')).toEqual(['共 8 次检查，每次拍 2 张照片', '共 4 次检查，每次拍 1 张照片']);
  expect(texts(page, '.program-places')).toEqual(['剩余 12 个名额', '剩余 3 个名额']);
  expect(texts(page, '.program-until')[0]).toBe('01-05 00:00 截止报名');
  await tap(page, '.program', 1);
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/program/index?id=6' }));
});

test('我的陈列: progress, the next check due, rewards so far; one opens the signing', async () => {
  const page = await open({
    'GET /display/mine': {
      items: [
        fx.signingView(),
        fx.signingView({ id: 8, program: { id: 4, name: '夏季冰柜陈列', status: 'published', phase: 'running' }, passed_checks: 1, check_count: 4, next_check: fx.storeCheck(2, { state: 'upcoming' }), reward_totals: { points: 200, cash_fen: 50000, vouchers: 0 } }),
        fx.signingView({ id: 7, status: 'completed', program: { id: 3, name: '秋季端架陈列', status: 'published', phase: 'finished' }, passed_checks: 4, check_count: 4, next_check: null, reward_totals: { points: 0, cash_fen: 0, vouchers: 0 } }),
      ],
    },
  }, { tab: 'mine' });
  expect(api.get).toHaveBeenCalledWith('/display/mine');
  expect(texts(page, '.tab--on')).toEqual(['我的陈列']);
  expect(texts(page, '.signing-name')).toEqual(['冬季净水器端架陈列', '夏季冰柜陈列', '秋季端架陈列']);
  expect(texts(page, '.signing-status')).toEqual(['进行中', '进行中', '已完成']);
  expect(texts(page, '.signing-progress')).toEqual(['已通过 2/8', '已通过 1/4', '已通过 4/4']);
  expect(texts(page, '.signing-next')).toEqual(['第 3 次检查待拍照，截止 01-22 08:00', '下次检查：01-12 08:00 开始']);
  expect(page.querySelectorAll('.signing-next--due')).toHaveLength(1);
  expect(texts(page, '.signing-totals')).toEqual(['已获奖励：兑换券 2 张', '已获奖励：积分 200 · 现金 ¥500.00']);
  await tap(page, '.signing', 0);
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/signing/index?id=9' }));
});

test('each tab is empty in its own words, with the way to the other', async () => {
  const page = await open({ 'GET /display/open': { items: [] }, 'GET /display/mine': { items: [] } });
  expect(textOf(page)).toContain('暂时没有可报名的陈列活动');
  await tap(page, '.empty-mine');
  expect(api.get).toHaveBeenLastCalledWith('/display/mine');
  expect(textOf(page)).toContain('您还没有参加陈列活动');
  await tap(page, '.empty-open');
  expect(page.instance.data.active).toBe('open');
});

test('a failure shows the server\'s words with 重试; coming back reloads quietly; the store only', async () => {
  let answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({ 'GET /display/open': () => answer });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  answer = { items: [fx.storeProgram()] };
  await tapRetry(page);
  expect(texts(page, '.program-name')).toEqual(['冬季净水器端架陈列']);
  page.instance.onShow();
  answer = { items: [] };
  await page.instance.onShow();
  await flush();
  expect(textOf(page)).toContain('暂时没有可报名的陈列活动');
  expect(h.wx.stopPullDownRefresh).not.toHaveBeenCalled();
  await page.instance.onPullDownRefresh();
  expect(h.wx.stopPullDownRefresh).toHaveBeenCalled();
});

test('someone not signed in as a store is sent to sign in', async () => {
  fx.signInAsStore({ identity: { user_id: 9, role: 'salesperson', membership_id: 21, brand_id: 1, distributor_id: 2, store_id: null, salesperson_id: 4 } });
  const page = h.page('packageDisplay/pages/programs');
  await page.instance.onLoad({});
  expect(h.wx.reLaunch).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/login/index' }));
  expect(api.get).not.toHaveBeenCalled();
});
