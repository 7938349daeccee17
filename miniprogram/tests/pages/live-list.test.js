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

function session(overrides) {
  return Object.assign(
    { id: 7, distributor_id: 2, title: '年终直播订货会', cover_url: '', starts_at: '2026-01-10T06:00:00+00:00', ends_at: '2026-01-10T08:00:00+00:00', status: 'scheduled', audience: {}, invited_count: 40, started_at: null, ended_at: null, peak_viewers: 0 },
    overrides || {},
  );
}

const TEMPLATES = { items: [{ kind: 'complaint.update', template_id: 'TPL-C', title: '投诉处理进度提醒', remaining: 0 }, { kind: 'live.reminder', template_id: 'TPL-L', title: '直播开播提醒', remaining: 0 }] };

async function open(routes, options) {
  route(api, Object.assign({ 'GET /notifications/subscriptions': TEMPLATES, 'POST /notifications/subscriptions': { items: [] } }, routes));
  const page = h.page('live-list');
  await page.instance.onLoad(options || {});
  await flush();
  return page;
}

test('sessions by tab: on air first when there is one, upcoming soonest first, ended ones too', async () => {
  const page = await open({
    'GET /live/sessions': {
      items: [
        session({ id: 9, title: '新品发布', starts_at: '2026-01-20T06:00:00+00:00' }),
        session({ id: 8, title: '正在直播', status: 'live' }),
        session({ id: 7 }),
        session({ id: 6, title: '上周直播', status: 'ended' }),
      ],
      next_before: null,
    },
  });
  expect(api.get).toHaveBeenCalledWith('/live/sessions', { limit: 20, include_ended: true });
  expect(texts(page, '.tab--on')).toEqual(['直播中']);
  expect(texts(page, '.session-title')).toEqual(['正在直播']);
  expect(texts(page, '.enter-btn')).toEqual(['进入直播间']);
  await tap(page, '.tab', 1);
  expect(texts(page, '.session-title')).toEqual(['年终直播订货会', '新品发布']);
  expect(textOf(page)).toContain('01-10 14:00 – 01-10 16:00');
  await tap(page, '.tab', 2);
  expect(texts(page, '.session-title')).toEqual(['上周直播']);
  await tap(page, '.session');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageLive/pages/room/index?id=6' }));
});

test('预约提醒 asks WeChat for the live-reminder template and reports the answer', async () => {
  h.wx.requestSubscribeMessage = h.wxAsync(() => ({ errMsg: 'requestSubscribeMessage:ok', 'TPL-L': 'accept' }));
  const page = await open({ 'GET /live/sessions': { items: [session()], next_before: null } });
  await tap(page, '.remind-btn');
  await flush();
  expect(h.wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['TPL-L']);
  expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: ['TPL-L'], rejected: [] });
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '预约成功，开播前15分钟提醒您' }));
  expect(texts(page, '.reminded')).toEqual(['已预约提醒']);
  expect(h.wx.navigateTo).not.toHaveBeenCalled(); // the tap on the button does not open the room
});

test('a refused reminder is reported as refused and says how to turn it on', async () => {
  h.wx.requestSubscribeMessage = h.wxAsync(() => ({ 'TPL-L': 'reject' }));
  const page = await open({ 'GET /live/sessions': { items: [session()], next_before: null } });
  await tap(page, '.remind-btn');
  await flush();
  expect(api.post).toHaveBeenCalledWith('/notifications/subscriptions', { accepted: [], rejected: ['TPL-L'] });
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '您未允许开播提醒，可在小程序设置中开启' }));
  expect(texts(page, '.remind-btn')).toEqual(['预约提醒']);
});

test('pages on with the cursor; empty tab; error with 重试', async () => {
  let first = apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0);
  const page = await open({
    'GET /live/sessions': (path, q) => (q.before ? { items: [session({ id: 3, title: '更早的直播' })], next_before: null } : first),
  });
  expect(textOf(page)).toContain('网络不给力，请稍后重试');
  first = { items: [session({ id: 7 })], next_before: 7 };
  await tapRetry(page);
  expect(texts(page, '.session-title')).toEqual(['年终直播订货会']);
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/live/sessions', { limit: 20, include_ended: true, before: 7 });
  expect(texts(page, '.session-title')).toEqual(['年终直播订货会', '更早的直播']);
  await tap(page, '.tab', 0);
  expect(textOf(page)).toContain('现在没有正在直播的订货会');
});

// ---- issue 23: what an empty page offers ----------------------------------------------------

const ux = require('./support/harness');

test('直播, nothing on air: 看直播预告; nothing coming: 去订货', async () => {
  const page = await open({
    'GET /live/sessions': { items: [], next_before: null },
  });
  page.setData({ active: 'live' });
  await flush();
  await tap(page, '.empty-scheduled');
  expect(page.data.active).toBe('scheduled');
  expect(textOf(page)).toContain('近期没有直播订货会');
  await tap(page, '.empty-shop');
  expect(ux.switchedTo(h.wx)).toEqual(['/pages/catalog/index']);
});
