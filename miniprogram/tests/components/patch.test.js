const { appendPatch, diffPatch } = require('../../components/lib/patch');

test('appendPatch names each new row by its index after the rows shown', () => {
  expect(appendPatch('entries.items', [{ id: 3 }, { id: 2 }], [{ id: 1 }, { id: 0 }])).toEqual({
    'entries.items[2]': { id: 1 },
    'entries.items[3]': { id: 0 },
  });
  expect(appendPatch('items', [], [])).toEqual({});
});

test('diffPatch sends only changed leaves, rows added at the end by index', () => {
  const prev = { lines: [{ sku: 1, qty: 6, name: '净水器 标准款' }, { sku: 2, qty: 6, name: '滤芯' }], total: 100 };
  const next = { lines: [{ sku: 1, qty: 12, name: '净水器 标准款' }, { sku: 2, qty: 6, name: '滤芯' }, { sku: 3, qty: 1, name: '水杯' }], total: 160 };
  expect(diffPatch('cart', prev, next)).toEqual({
    'cart.lines[0].qty': 12,
    'cart.lines[2]': { sku: 3, qty: 1, name: '水杯' },
    'cart.total': 160,
  });
  expect(diffPatch('cart', prev, JSON.parse(JSON.stringify(prev)))).toEqual({});
});

test('diffPatch sends whole what paths cannot express or would cost more', () => {
  // A shorter list, a key gone, null to an object, a key with a dot: whole.
  expect(diffPatch('items', [1, 2, 3], [1, 2])).toEqual({ items: [1, 2] });
  expect(diffPatch('tags', { a: 1, b: 2 }, { a: 1 })).toEqual({ tags: { a: 1 } });
  expect(diffPatch('quote', null, { total: 1 })).toEqual({ quote: { total: 1 } });
  expect(diffPatch('m', { x: 1 }, { x: 1, 'a.b': 2 })).toEqual({ m: { x: 1, 'a.b': 2 } });
  // A row replaced by another: its paths would weigh more than the row.
  const row = (id) => ({ id, title: `第${id}场`, at: `2026-01-0${id}` });
  expect(diffPatch('items', [row(1), row(3)], [row(1), row(2)])).toEqual({ 'items[1]': row(2) });
});
