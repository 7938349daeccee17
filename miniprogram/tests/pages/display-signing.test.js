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

async function open(routes) {
  route(api, routes);
  const page = h.page('packageDisplay/pages/signing');
  await page.instance.onLoad({ id: '9' });
  await flush();
  return page;
}

test('the progress, each check\'s window and state, the rewards received and the agreement', async () => {
  const page = await open({ 'GET /display/mine/9': fx.signingDetail() });
  expect(api.get).toHaveBeenCalledWith('/display/mine/9');
  expect(texts(page, '.name')).toEqual(['冬季净水器端架陈列']);
  expect(texts(page, '.progress')).toEqual(['已通过 2/8']);
  expect(texts(page, '.totals')).toEqual(['已获奖励：兑换券 2 张']);
  expect(texts(page, '.check-title')).toHaveLength(8);
  expect(texts(page, '.check-state')).toEqual(['已通过', '已通过', '待拍照', '未开始', '未开始', '未开始', '未开始', '未开始']);
  expect(texts(page, '.check-window')[2]).toBe('01-19 08:00 至 01-22 08:00');
  expect(texts(page, '.check-note')).toEqual([
    '奖励：兑换券 1 张（价值 ¥30.00）',
    '奖励：兑换券 1 张（价值 ¥30.00）',
    '截止 01-22 08:00',
  ]);
  expect(texts(page, '.take-btn')).toEqual(['去拍照']);
  expect(texts(page, '.reward-text')).toEqual(['兑换券 1 张（价值 ¥30.00）', '兑换券 1 张（价值 ¥30.00）']);
  expect(texts(page, '.reward-cause')).toEqual(['第 1 次检查通过', '第 2 次检查通过']);

  await tap(page, '.take-btn');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/check/index?signing=9&check=203' }));
  await tap(page, '.agreement-link');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/packageDisplay/pages/agreement/index?id=9' }));
});

test('审核中, 未通过 with each reason and 重新拍照, a person\'s rejection, 已错过 and the completion reward', async () => {
  const failed = fx.displaySubmission({
    status: 'failed',
    verdict: 'failed',
    reasons: [
      { code: 'too_dark', message: '照片太暗，请在光线充足处重拍', photo_id: 101 },
      { code: 'duplicate', message: '与本店之前提交的照片重复', photo_id: 102 },
    ],
  });
  const rejected = fx.displaySubmission({ status: 'rejected', verdict: 'review', review_reason: '价签没有朝外', reasons: [] });
  const detail = fx.signingDetail({
    checks: [
      fx.storeCheck(1, { state: 'open', can_submit: true, attempts: 1, submission: failed }),
      fx.storeCheck(2, { state: 'open', can_submit: true, attempts: 1, submission: rejected }),
      fx.storeCheck(3, { state: 'review', attempts: 1, submission: fx.displaySubmission({ first_review: 'approved' }) }),
      fx.storeCheck(4, { state: 'missed' }),
    ],
    rewards: [fx.displayReward({ id: 40, check_seq: 0, kind: 'points', amount: 500, cost_fen: 500, text: '积分 500', coupon_ids: [] })],
  });
  const page = await open({ 'GET /display/mine/9': detail });
  expect(texts(page, '.check-state')).toEqual(['未通过', '未通过', '审核中', '已错过']);
  expect(texts(page, '.check-reason')).toEqual(['· 照片太暗，请在光线充足处重拍', '· 与本店之前提交的照片重复', '· 审核意见：价签没有朝外']);
  expect(texts(page, '.take-btn')).toEqual(['重新拍照', '重新拍照']);
  expect(textOf(page)).toContain('业务员已初审，等待品牌审核');
  expect(texts(page, '.reward-cause')).toEqual(['全部检查完成']);
});

test('no rewards yet says where they will go; a failure has 重试; coming back reloads quietly', async () => {
  let answer = apiError(api.ApiError, 'display.signing_not_found', '没有找到该签约', 404);
  const page = await open({ 'GET /display/mine/9': () => answer });
  expect(textOf(page)).toContain('没有找到该签约');
  answer = fx.signingDetail({ rewards: [], reward_totals: { points: 0, cash_fen: 0, vouchers: 0 } });
  await tapRetry(page);
  expect(textOf(page)).toContain('检查通过后，奖励会发到本店账户');
  expect(page.querySelectorAll('.totals')).toHaveLength(0);

  await page.instance.onShow(); // the first show is the load itself
  const checks = answer.checks.slice();
  checks[2] = fx.storeCheck(3, { state: 'review', attempts: 1, submission: fx.displaySubmission({ check_id: 203, check_seq: 3 }) });
  answer = fx.signingDetail({ rewards: [], reward_totals: { points: 0, cash_fen: 0, vouchers: 0 }, checks });
  const before = h.setDataLog(page).length;
  await page.instance.onShow();
  await flush();
  expect(texts(page, '.check-state')[2]).toBe('审核中');
  const sent = h.setDataLog(page).slice(before);
  expect([].concat(...sent.map((s) => s.keys))).not.toContain('signing');
});
