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

describe('the loading skeleton', () => {
  const count = (view, selector) => view.querySelectorAll(selector).length;

  test('a list of cards by default, fewer rows when compact, the text still said', async () => {
    const view = h.component('state-view', { status: 'loading' });
    await flush();
    expect(count(view, '.sv-skeleton--list')).toBe(1);
    expect(count(view, '.sk-row')).toBe(4);
    expect(count(view, '.sk-thumb')).toBe(4);
    expect(count(view, '.sv-spinner')).toBe(0);
    expect(textOf(view)).toBe('加载中…');
    view.setData({ compact: true });
    await flush();
    expect(count(view, '.sk-row')).toBe(2);
  });

  test('detail: a picture and paragraphs; grid: tiles', async () => {
    const detail = h.component('state-view', { status: 'loading', skeleton: 'detail' });
    await flush();
    expect(count(detail, '.sk-hero')).toBe(1);
    expect(count(detail, '.sk-card')).toBe(3);
    expect(count(detail, '.sk-row')).toBe(0);
    const grid = h.component('state-view', { status: 'loading', skeleton: 'grid' });
    await flush();
    expect(count(grid, '.sk-grid .sk-tile')).toBe(4);
    expect(count(grid, '.sk-tile-image')).toBe(4);
  });

  test('none keeps the spinner for an action (正在登录…); an unknown shape is a list', async () => {
    const view = h.component('state-view', { status: 'loading', skeleton: 'none', loadingText: '正在登录…' });
    await flush();
    expect(count(view, '.sv-spinner')).toBe(1);
    expect(count(view, '.sk')).toBe(0);
    expect(textOf(view)).toBe('正在登录…');
    const odd = h.component('state-view', { status: 'loading', skeleton: 'table' });
    await flush();
    expect(count(odd, '.sk-row')).toBe(4);
  });

  test('the skeleton goes once the content is there', async () => {
    const view = h.component('state-view', { status: 'loading', skeleton: 'grid' });
    await flush();
    view.setData({ status: 'ready' });
    await flush();
    expect(count(view, '.sk')).toBe(0);
    expect(textOf(view)).toBe('');
  });
});
