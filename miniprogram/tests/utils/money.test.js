/**
 * @jest-environment node
 */
const { formatFen, yuanToFen, MoneyInputError } = require('../../utils/money');

describe('formatFen', () => {
  test.each([
    [0, '¥0.00'],
    [1, '¥0.01'],
    [5, '¥0.05'],
    [99, '¥0.99'],
    [100, '¥1.00'],
    [101, '¥1.01'],
    [1230, '¥12.30'],
    [99999, '¥999.99'],
    [100000, '¥1,000.00'],
    [123456, '¥1,234.56'],
    [159900, '¥1,599.00'],
    [100000000, '¥1,000,000.00'],
    [10 ** 12, '¥10,000,000,000.00'],
    [Number.MAX_SAFE_INTEGER, '¥90,071,992,547,409.91'],
    [-5, '-¥0.05'],
    [-100, '-¥1.00'],
    [-123456, '-¥1,234.56'],
    [-0, '¥0.00'],
  ])('%p fen reads %p', (fen, shown) => {
    expect(formatFen(fen)).toBe(shown);
  });

  test('options: no symbol, no grouping, whole yuan without cents', () => {
    expect(formatFen(123456, { symbol: false })).toBe('1,234.56');
    expect(formatFen(-123456, { symbol: false })).toBe('-1,234.56');
    expect(formatFen(123456, { grouping: false })).toBe('¥1234.56');
    expect(formatFen(159900, { trimZeroCents: true })).toBe('¥1,599');
    expect(formatFen(159950, { trimZeroCents: true })).toBe('¥1,599.50');
  });

  test('no amount shows a dash', () => {
    expect(formatFen(null)).toBe('—');
    expect(formatFen(undefined)).toBe('—');
  });

  test.each([[0.5], [12.3], [0.1 + 0.2], [NaN], [Infinity], ['100'], [2 ** 53], [{}]])(
    'refuses %p: fen are integers',
    (bad) => {
      expect(() => formatFen(bad)).toThrow(TypeError);
    },
  );
});

describe('yuanToFen', () => {
  test.each([
    ['0', 0],
    ['0.01', 1],
    ['0.1', 10],
    ['.5', 50],
    ['1', 100],
    ['1.', 100],
    ['12.3', 1230],
    ['12.30', 1230],
    ['0.99', 99],
    ['1599', 159900],
    ['1,234.56', 123456],
    ['¥1,234.56', 123456],
    ['￥ 20', 2000],
    ['  8.08 ', 808],
    ['-0.05', -5],
    ['-0', 0],
    ['007.10', 710],
    ['10000000000', 10 ** 12],
    ['90071992547409.91', Number.MAX_SAFE_INTEGER],
    [12, 1200],
    [0.3, 30],
    [19.99, 1999],
  ])('%p yuan is %p fen', (typed, fen) => {
    expect(yuanToFen(typed)).toBe(fen);
  });

  test('round trips with formatFen', () => {
    [0, 1, 99, 100, 123456, 10 ** 12, -5].forEach((fen) => {
      expect(yuanToFen(formatFen(fen))).toBe(fen);
    });
  });

  test.each([
    [''],
    ['   '],
    ['.'],
    ['-'],
    ['abc'],
    ['1.005'], // a third decimal would need rounding: say so instead
    ['1.2.3'],
    ['1,23.00'], // commas only where formatFen puts them
    ['1e3'],
    ['+5'],
    ['12元'],
    ['90071992547409.92'], // one fen past the exact range
    [0.1 + 0.2], // 0.30000000000000004
    [NaN],
    [Infinity],
    [null],
    [undefined],
    [{}],
  ])('refuses %p', (bad) => {
    expect(() => yuanToFen(bad)).toThrow(MoneyInputError);
  });

  test('errors carry a Chinese message and a code for the page', () => {
    try {
      yuanToFen('1.005');
      throw new Error('not refused');
    } catch (error) {
      expect(error.code).toBe('money.invalid');
      expect(error.message).toBe('金额格式不正确，最多两位小数');
    }
  });
});
