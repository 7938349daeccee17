/**
 * setData payloads kept small. WeChat copies every payload from the logic thread to the view
 * as JSON, so a page sends what changed, by data path (`items[20]`, `cart.lines[1].quantity`),
 * instead of the whole list or object again (WeChat's own advice; it warns past 256 KB).
 *
 *   this.setData(appendPatch('items', this.data.items, more));   // the next page of a list
 *   this.setData(diffPatch('cart', this.data.cart, cart));       // a repriced cart, by leaf
 */

/** `{ 'key[n]': item, ... }`: `more` added after the `current` items, each by its own path. */
function appendPatch(key, current, more) {
  const patch = {};
  const start = (current || []).length;
  (more || []).forEach((item, i) => {
    patch[`${key}[${start + i}]`] = item;
  });
  return patch;
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// A key a data path cannot name (WeChat splits paths on '.' and '[').
const UNSAFE_KEY = /[.[\]]/;

function diffInto(patch, path, prev, next) {
  if (prev === next) return;
  const parts = {};
  if (Array.isArray(prev) && Array.isArray(next) && next.length >= prev.length) {
    // Rows change in place or are added at the end; a shorter list cannot be cut by path.
    next.forEach((item, i) => {
      if (i < prev.length) diffInto(parts, `${path}[${i}]`, prev[i], item);
      else parts[`${path}[${i}]`] = item;
    });
  } else if (isPlainObject(prev) && isPlainObject(next) && Object.keys(prev).every((k) => k in next)
    && !Object.keys(next).some((k) => UNSAFE_KEY.test(k))) {
    // (A key gone cannot be removed by path, and some keys cannot be named in one.)
    Object.keys(next).forEach((k) => diffInto(parts, `${path}.${k}`, prev[k], next[k]));
  } else {
    patch[path] = next;
    return;
  }
  // Paths cost bytes too: a value mostly changed (a row replaced by another) goes whole.
  if (JSON.stringify(parts).length < JSON.stringify(next).length + path.length) Object.assign(patch, parts);
  else patch[path] = next;
}

/**
 * The setData patch that turns `prev` (what data `key` holds now) into `next`: only changed
 * leaves by path, rows added at the end by index; a value whose shape changed (an object
 * lost a key, a list got shorter, null became an object) is sent whole. `{}` when equal.
 */
function diffPatch(key, prev, next) {
  const patch = {};
  diffInto(patch, key, prev, next);
  return patch;
}

module.exports = { appendPatch, diffPatch };
