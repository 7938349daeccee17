/**
 * Money is integer fen (分) everywhere on the platform; this file is the only place where it
 * becomes text for people, or text typed by people becomes fen.
 *
 * Neither direction uses floating point: fen are split into yuan and fen with `%` and exact
 * integer division, and typed yuan are parsed as digits. `0.1 + 0.2` style errors (and a
 * price shown one fen off) cannot happen.
 */

const MISSING = '—';

/**
 * `formatFen(123456)` → `"¥1,234.56"`; `formatFen(-5)` → `"-¥0.05"`.
 * Options: `symbol: false` drops the `¥`; `grouping: false` drops the thousands commas;
 * `trimZeroCents: true` shows whole yuan as `"¥12"`.
 * null/undefined (no amount) shows `"—"`; anything that is not a safe integer throws, since
 * fractional fen mean a bug upstream that must not be hidden behind a plausible price.
 */
function formatFen(fen, options) {
  const opts = Object.assign({ symbol: true, grouping: true, trimZeroCents: false }, options);
  if (fen === null || fen === undefined) return MISSING;
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) {
    throw new TypeError(`formatFen expects integer fen, got ${String(fen)}`);
  }
  const negative = fen < 0;
  const abs = Math.abs(fen);
  const cents = abs % 100;
  // (abs - cents) is an exact multiple of 100: the division has no fraction to round.
  const yuan = String((abs - cents) / 100);
  const grouped = opts.grouping ? yuan.replace(/\B(?=(\d{3})+$)/g, ',') : yuan;
  const fraction = opts.trimZeroCents && cents === 0 ? '' : `.${String(cents).padStart(2, '0')}`;
  return `${negative ? '-' : ''}${opts.symbol ? '¥' : ''}${grouped}${fraction}`;
}

class MoneyInputError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MoneyInputError';
    this.code = 'money.invalid';
  }
}

// An optional minus, an optional ¥ (half or full width), yuan (plain, or grouped by commas
// the way formatFen writes them), and at most two decimals.
const YUAN_PATTERN = /^(-)?[¥￥]?(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d{0,2}))?$/;

/**
 * `yuanToFen("12.3")` → 1230. Takes what a person types (or a number, read through its
 * decimal text). Throws MoneyInputError (message in Chinese, for a toast) for anything that
 * is not an amount with at most two decimals: `"1.005"`, `"abc"`, `""`, or 0.1 + 0.2, whose
 * text is 0.30000000000000004.
 */
function yuanToFen(input) {
  if (typeof input === 'number' && !Number.isFinite(input)) {
    throw new MoneyInputError('金额格式不正确');
  }
  if (typeof input !== 'string' && typeof input !== 'number') {
    throw new MoneyInputError('请输入金额');
  }
  const text = String(input).trim().replace(/\s+/g, '');
  const match = YUAN_PATTERN.exec(text);
  if (!match) throw new MoneyInputError('金额格式不正确，最多两位小数');
  const [, minus, yuanText, fraction] = match;
  if (!yuanText && !fraction) throw new MoneyInputError('请输入金额');
  const digits = `${yuanText.replace(/,/g, '') || '0'}${(fraction || '').padEnd(2, '0')}`;
  const fen = Number(digits.replace(/^0+(?=\d)/, ''));
  if (!Number.isSafeInteger(fen)) throw new MoneyInputError('金额过大');
  return minus && fen !== 0 ? -fen : fen;
}

module.exports = { formatFen, yuanToFen, MoneyInputError, MISSING };
