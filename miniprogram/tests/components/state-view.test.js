const { fresh, flush, textOf, tap } = require('../pages/support/harness');

let h;
beforeEach(() => {
  h = fresh();
});

test('loading, empty and nothing', async () => {
  const view = h.component('state-view', { status: 'loading' });
  await flush();
  expect(textOf(view)).toBe('加载中…');
  view.setData({ status: 'empty', emptyText: '购物车是空的' });
  await flush();
  expect(textOf(view)).toBe('购物车是空的');
  view.setData({ status: 'ready' });
  await flush();
  expect(textOf(view)).toBe('');
});

test('the error state shows the message and 重试 fires retry', async () => {
  const view = h.component('state-view', { status: 'error', message: '网络不给力，请稍后重试' });
  const retried = jest.fn();
  view.addEventListener('retry', retried);
  await flush();
  expect(textOf(view)).toContain('网络不给力，请稍后重试');
  await tap(view, '.sv-retry');
  expect(retried).toHaveBeenCalledTimes(1);
});
