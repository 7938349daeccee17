const { fresh, flush, textOf } = require('../pages/support/harness');

let h;
beforeEach(() => {
  h = fresh();
});

test('shows integer fen as yuan with grouping, never through floating point', async () => {
  const price = h.component('price', { fen: 123456 });
  await flush();
  expect(textOf(price)).toBe('¥1,234.56');
});

test('a former price is struck through only when it differs', async () => {
  const price = h.component('price', { fen: 270000, strikeFen: 300000 });
  await flush();
  expect(price.querySelector('.pc').dom.textContent).toBe('¥2,700.00');
  expect(price.querySelector('.pc-strike').dom.textContent).toBe('¥3,000.00');

  const same = h.component('price', { fen: 100, strikeFen: 100 });
  await flush();
  expect(same.querySelector('.pc-strike')).toBeFalsy();
});

test('follows changes and shows a dash when there is no amount', async () => {
  const price = h.component('price', { fen: null });
  await flush();
  expect(textOf(price)).toBe('—');
  price.setData({ fen: 30000, prefix: '-' });
  await flush();
  expect(textOf(price)).toBe('-¥300.00');
  price.setData({ fen: 7 });
  await flush();
  expect(textOf(price)).toBe('-¥0.07');
});
