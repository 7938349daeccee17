jest.mock('../../utils/api', () => require('./support/api-mock').createApiMock());

const { fresh, flush, textOf, texts, tap, tapRetry, deferred } = require('./support/harness');
const { route, apiError } = require('./support/api-mock');
const { signInAsStore, complaint, SUBSCRIPTION_TEMPLATES } = require('./support/fixtures');

let h;
let api;
beforeEach(() => {
  h = fresh();
  api = require('../../utils/api');
  signInAsStore();
});

// ---- the complaint ------------------------------------------------------------------------

describe('投诉详情', () => {
  async function openDetail() {
    const page = h.page('complaint');
    await page.instance.onLoad({ id: '12' });
    await flush();
    return page;
  }

  const TIMELINE = [
    { id: 1, actor_role: 'store_owner', from_status: null, to_status: 'new', message: '', internal: false, at: '2026-01-05T06:30:00+00:00' },
    { id: 2, actor_role: 'brand_ops', from_status: 'new', to_status: 'acknowledged', message: '已收到', internal: false, at: '2026-01-05T07:00:00+00:00' },
    { id: 3, actor_role: 'distributor_admin', from_status: 'assigned', to_status: 'responded', message: '明天上门更换', internal: false, at: '2026-01-06T02:00:00+00:00' },
    { id: 4, actor_role: 'brand_ops', from_status: 'responded', to_status: 'resolved', message: '', internal: false, at: '2026-01-07T02:00:00+00:00' },
  ];

  function resolved(overrides) {
    return complaint(Object.assign({
      status: 'resolved',
      status_name: '已解决，待您确认',
      resolved_at: '2026-01-07T02:00:00+00:00',
      photos: [{ id: 101, url: 'http://x/101.jpg', width: 10, height: 10 }],
      timeline: TIMELINE,
      actions: ['confirm', 'reopen'],
    }, overrides || {}));
  }

  test('shows the complaint, its photos and the timeline newest first with who took each step', async () => {
    route(api, { 'GET /complaints/12': resolved(), 'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES });
    const page = await openDetail();
    expect(texts(page, '.status-name')).toEqual(['已解决，待您确认']);
    expect(textOf(page)).toContain('请在 2026-01-14 10:00 前确认结果');
    expect(texts(page, '.info-category')).toEqual(['货损']);
    expect(texts(page, '.tl-title')).toEqual(['品牌已标记解决（品牌）', '经销商已答复（经销商）', '品牌已受理（品牌）', '提交投诉（门店）']);
    expect(texts(page, '.tl-message')).toEqual(['明天上门更换', '已收到']);
    expect(page.querySelectorAll('.photos .photo')).toHaveLength(1);
    expect(texts(page, '.act')).toEqual(['重新打开', '确认解决']);
    await tap(page, '.order-link');
    expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/order/index?id=42' }));
  });

  test('确认解决 after a confirmation; a double tap confirms once', async () => {
    const confirmed = deferred();
    route(api, {
      'GET /complaints/12': resolved(),
      'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES,
      'POST /complaints/12/confirm': () => confirmed.promise,
    });
    const page = await openDetail();
    const first = page.instance.onConfirm();
    const second = page.instance.onConfirm();
    await flush();
    confirmed.resolve(resolved({ status: 'closed', status_name: '已关闭', actions: [] }));
    await Promise.all([first, second]);
    await flush();
    expect(api.post.mock.calls.filter((c) => c[0] === '/complaints/12/confirm')).toEqual([['/complaints/12/confirm', {}]]);
    expect(texts(page, '.status-name')).toEqual(['已关闭']);
    expect(page.querySelectorAll('.act')).toHaveLength(0);
  });

  test('重新打开 with what is still wrong (asking for reminders first); the server\'s refusal shown', async () => {
    h.wx.requestSubscribeMessage = h.wxAsync(() => ({ 'TPL-C': 'reject' }));
    let reopen = apiError(api.ApiError, 'complaint.reopen_window_passed', '已超过可重新打开的期限', 409);
    route(api, {
      'GET /complaints/12': resolved(),
      'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES,
      'POST /notifications/subscriptions': { items: [] },
      'POST /complaints/12/reopen': () => reopen,
    });
    const page = await openDetail();
    await tap(page, '.act-reopen');
    await tap(page, '.act-reopen-submit');
    expect(texts(page, '.action-error')).toEqual(['请说明仍未解决的问题']);
    page.instance.onReopenText({ detail: { value: '还是漏水' } });
    await tap(page, '.act-reopen-submit');
    expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: [], rejected: ['TPL-C'] });
    expect(api.post).toHaveBeenCalledWith('/complaints/12/reopen', { message: '还是漏水' });
    expect(texts(page, '.action-error')).toEqual(['已超过可重新打开的期限']);

    reopen = resolved({ status: 'reopened', status_name: '已重新打开', actions: [] });
    page.instance.setData({ reopening: true, reopenText: '还是漏水' });
    await tap(page, '.act-reopen-submit');
    expect(texts(page, '.status-name')).toEqual(['已重新打开']);
  });

  test('rates the outcome once, 1–5 stars with a comment', async () => {
    route(api, {
      'GET /complaints/12': resolved({ status: 'closed', status_name: '已关闭', actions: [] }),
      'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES,
      'POST /complaints/12/rating': resolved({ status: 'closed', status_name: '已关闭', actions: [], rating: 4, rating_comment: '处理及时' }),
    });
    const page = await openDetail();
    await tap(page, '.rate-btn');
    expect(texts(page, '.rating-error')).toEqual(['请先选择星级']);
    await tap(page, '.star-pick', 3);
    expect(texts(page, '.rating-word')).toEqual(['满意']);
    page.instance.onRatingComment({ detail: { value: ' 处理及时 ' } });
    await tap(page, '.rate-btn');
    expect(api.post).toHaveBeenCalledWith('/complaints/12/rating', { rating: 4, comment: '处理及时' });
    expect(page.querySelectorAll('.rate')).toHaveLength(0);
    expect(textOf(page)).toContain('您的评价');
    expect(textOf(page)).toContain('处理及时');
  });

  test('a complaint that cannot be read shows the error and 重试', async () => {
    let answer = apiError(api.ApiError, 'complaint.not_found', '找不到该投诉', 404);
    route(api, { 'GET /complaints/12': () => answer, 'GET /notifications/subscriptions': SUBSCRIPTION_TEMPLATES });
    const page = await openDetail();
    expect(textOf(page)).toContain('找不到该投诉');
    answer = complaint({ timeline: [], actions: [], photos: [] });
    await tapRetry(page);
    expect(texts(page, '.status-name')).toEqual(['已转经销商处理']);
  });
});
