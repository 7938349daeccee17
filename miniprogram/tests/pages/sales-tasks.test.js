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

function task(overrides) {
  return Object.assign(
    {
      id: 5,
      kind: 'reorder',
      store: { id: 3, name: '张记店' },
      sku: { id: 8, name: '澜泉 RO 净水器 滤芯' },
      text: '张记店 通常每 30 天订一次 澜泉 RO 净水器 滤芯，上次下单已 34 天',
      due_day: '2026-12-01',
      status: 'open',
      created_at: '2026-12-05T00:00:00+00:00',
      closed_at: null,
    },
    overrides || {},
  );
}

const open = (routes) => openAsSalesperson(h, api, 'packageSales/pages/tasks', routes);

sendsStoreOwnersToSignIn('packageSales/pages/tasks', () => ({ h, api }));

test('open tasks read as the salesperson says them, paged on', async () => {
  const page = await open({
    'GET /sales-tasks': (path, q) => (q.after
      ? { items: [task({ id: 6, store: { id: 4, name: '李氏五金' }, text: '李氏五金 通常每 14 天订一次 澜泉 RO 净水器 RO-500，上次下单已 20 天', due_day: '2026-11-29' })], next_after: null }
      : { items: [task()], next_after: 5 }),
  });
  expect(api.get).toHaveBeenCalledWith('/sales-tasks', { limit: 20 });
  expect(texts(page, '.task-store')).toEqual(['张记店']);
  expect(texts(page, '.task-text')).toEqual(['张记店 通常每 30 天订一次 澜泉 RO 净水器 滤芯，上次下单已 34 天']);
  expect(texts(page, '.task-due')).toEqual(['应补货日 12月1日']);
  await page.instance.onReachBottom();
  await flush();
  expect(api.get).toHaveBeenLastCalledWith('/sales-tasks', { limit: 20, after: 5 });
  expect(texts(page, '.task-store')).toEqual(['张记店', '李氏五金']);
  expect(texts(page, '.task-due')).toEqual(['应补货日 12月1日', '应补货日 11月29日']);
  await tap(page, '.task-store');
  expect(h.wx.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/packageSales/pages/store/index?id=3' }));
});

test('已跟进 closes a task once; one closed elsewhere is marked, not closed again', async () => {
  const page = await open({
    'GET /sales-tasks': { items: [task(), task({ id: 6, store: { id: 4, name: '李氏五金' } })], next_after: null },
    'POST /sales-tasks/5/done': task({ status: 'done', closed_at: '2026-12-05T01:00:00+00:00' }),
    'POST /sales-tasks/6/dismiss': apiError(api.ApiError, 'analytics.task_closed', '该任务已处理，不能重复操作', 409),
  });
  await Promise.all([tap(page, '.task-done'), tap(page, '.task-done')]);
  await flush();
  expect(api.post).toHaveBeenCalledTimes(1);
  expect(api.post).toHaveBeenCalledWith('/sales-tasks/5/done', {});
  expect(texts(page, '.task-status')).toEqual(['已跟进']);
  expect(h.wx.showToast).toHaveBeenCalledWith(expect.objectContaining({ title: '已跟进' }));
  // The first task has no buttons now: the only ones left are the second's.
  await tap(page, '.task-dismiss');
  await flush();
  expect(api.post).toHaveBeenLastCalledWith('/sales-tasks/6/dismiss', {});
  expect(texts(page, '.task-status')).toEqual(['已跟进', '已处理']);
  expect(h.wx.showToast).toHaveBeenLastCalledWith(expect.objectContaining({ title: '该任务已处理，不能重复操作' }));
  expect(page.querySelectorAll('.task-done')).toHaveLength(0);
});

test('no task, and a failure that offers a retry', async () => {
  const empty = await open({ 'GET /sales-tasks': { items: [], next_after: null } });
  expect(textOf(empty)).toContain('暂时没有待跟进的补货任务');
  const failing = await open({ 'GET /sales-tasks': apiError(api.ApiError, 'network.failed', '网络不给力，请稍后重试', 0) });
  expect(textOf(failing)).toContain('网络不给力，请稍后重试');
});
