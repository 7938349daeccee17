jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, complaint } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

// ---- the list ---------------------------------------------------------------------------

describe('我的投诉', () => {
  test('lists complaints by category and status, pages on, opens one and files a new one', async () => {
    route(api, {
      'GET /complaints': (path, q) =>
        q.before
          ? { items: [complaint({ id: 9, category: 'quality', status: 'closed', status_name: '已关闭', order_id: null })], next_before: null }
          : { items: [complaint(), complaint({ id: 11, category: 'promotion', status: 'resolved', status_name: '已解决，待您确认' })], next_before: 11 },
    });
    const page = h.page('complaints');
    await page.instance.onLoad({});
    await flush();
    expect(api.get).toHaveBeenCalledWith('/complaints', { limit: 20 });
    expect(texts(page, '.complaint-category')).toEqual(['货损', '活动未兑现']);
    expect(texts(page, '.complaint-status')).toEqual(['已转经销商处理', '已解决，待您确认']);
    expect(textOf(page)).toContain('品牌已处理，请确认结果或重新打开');
    // the order it is about, not its database id
    expect(textOf(page)).toContain('2026-01-05 14:30 · 已关联订单');
    expect(textOf(page)).not.toContain('订单 42');
    await page.instance.onReachBottom();
    await flush();
    expect(api.get).toHaveBeenLastCalledWith('/complaints', { limit: 20, before: 11 });
    expect(texts(page, '.complaint-category')).toEqual(['货损', '活动未兑现', '质量问题']);

    await tap(page, '.complaint', 1);
    expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/complaint/index?id=11' }));
    await tap(page, '.new-btn');
    expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/complaint-new/index' }));
  });

  test('empty, then error with 重试', async () => {
    let answer = { items: [], next_before: null };
    route(api, { 'GET /complaints': () => answer });
    const page = h.page('complaints');
    await page.instance.onLoad({});
    await flush();
    expect(textOf(page)).toContain('您还没有提交过投诉');
    answer = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
    await page.instance.reload();
    expect(textOf(page)).toContain('网络不给力，请稍后重试');
    answer = { items: [complaint()], next_before: null };
    await tapRetry(page);
    expect(texts(page, '.complaint-category')).toEqual(['货损']);
  });
});

// ---- issue 23: what an empty page offers ----------------------------------------------------

test('我的投诉, empty: 发起投诉 opens the form', async () => {
  route(api, { 'GET /complaints': { items: [], next_before: null } });
  const page = h.page('complaints');
  await page.instance.onLoad({});
  await flush();
  expect(textOf(page)).toContain('您还没有提交过投诉');
  await tap(page, '.empty-new');
  expect(h.wx.navigateTo).toHaveBeenLastCalledWith(expect.objectContaining({ url: '/pages/complaint-new/index' }));
});
