/**
 * Orderable quantities: whole cases (箱规) and at least the minimum order (起订量), as the
 * server's quote checks them (catalog/pricing.py: quantity.below_minimum,
 * quantity.not_case_multiple).
 */

const MAX_QUANTITY = 99999;

/** The smallest orderable quantity: the minimum order rounded up to whole cases. */
function orderableMin(min, step) {
  const s = Math.max(1, step || 1);
  const m = Math.max(1, min || 1);
  return Math.ceil(m / s) * s;
}

/** Typed text to an orderable quantity: whole cases, within [min, max]; 0 if allowed. */
function normalise(raw, limits) {
  const { min, step, max, allowZero } = limits || {};
  const s = Math.max(1, step || 1);
  const low = orderableMin(min, s);
  const high = Math.floor(Math.min(max || MAX_QUANTITY, MAX_QUANTITY) / s) * s;
  const n = parseInt(String(raw).replace(/[^0-9]/g, ''), 10);
  if (!Number.isFinite(n) || n <= 0) return allowZero ? 0 : low;
  const cases = Math.ceil(n / s) * s;
  return Math.max(low, Math.min(high, cases));
}

/** The quantity after one more "add to cart" from `current`: the minimum first, then a case. */
function nextQuantity(current, min, step) {
  const low = orderableMin(min, step);
  return current < low ? low : current + Math.max(1, step || 1);
}

module.exports = { MAX_QUANTITY, orderableMin, normalise, nextQuantity };
