/**
 * What a store user does in the mini-program, sent to the brand's analytics in batches.
 *
 *   track.pageView(page)                 page: the page instance (its route) or a path
 *   track.search(term, results)          results: how many the search found (0: nothing)
 *   track.productView(productId, skuId)  track.addToCart(skuId, productId)
 *   track.checkout()                     track.order()
 *   track.flush()                        send now (the app calls it when it goes to the
 *                                        background); resolves, never rejects
 *
 * Rules the pages rely on:
 * - It never blocks or throws into a page: every call returns at once and swallows its own
 *   failures (storage full, no network, a server error). Analytics are not worth a broken
 *   order button.
 * - Events wait in a queue kept in memory and in storage (so a killed app loses nothing),
 *   and go out every 10 seconds, or at once when 20 are waiting, or when the app is hidden,
 *   at most 50 a request (the server's batch limit).
 * - A batch that got no answer is sent again later with the same ids: the server keeps an
 *   event once per (user, id, day), so a retry never counts twice. A batch the server
 *   refuses as malformed (4xx) is dropped, or it would block the queue forever.
 * - No personal data: kinds, page paths (without their query), product and SKU ids, search
 *   terms and counts. Who sent them is the signed-in user's token; only store users send.
 */

const config = require('../config');
const session = require('./session');

const STORAGE_KEY = 'b2bc.track.queue';
const PATH = '/analytics/events';
const STORE_ROLES = ['store_owner', 'store_clerk'];

/** Tunables, changed by tests and nowhere else. */
const settings = {
  flushMs: 10000, // a batch goes out this long after its first event
  flushAt: 20, // ...or at once when this many are waiting
  maxBatch: 50, // the server takes at most 50 a request
  maxQueue: 500, // offline for long: the oldest go first
  retryMs: [10000, 30000, 60000, 300000], // waits after failed sends, the last repeating
  maxTermLength: 50,
};

let queue = null; // loaded from storage on first use
let timer = null;
let sending = null; // the send under way: one at a time, in order
let failures = 0;
let counter = 0;

function storeUser() {
  const identity = session.currentIdentity();
  if (!identity || STORE_ROLES.indexOf(identity.role) < 0 || !identity.store_id) return null;
  return identity.user_id;
}

function load() {
  if (queue) return queue;
  let saved = null;
  try {
    saved = wx.getStorageSync(STORAGE_KEY);
  } catch (e) {
    saved = null; // unreadable storage: start empty rather than fail the page
  }
  queue = Array.isArray(saved) ? saved.filter((e) => e && e.id && e.kind) : [];
  return queue;
}

function save() {
  try {
    wx.setStorageSync(STORAGE_KEY, queue);
  } catch (e) {
    // storage full: the events stay in memory and are sent from there
  }
}

/** An id unique enough for one user's events of one day (the server's dedup key). */
function newId() {
  counter = (counter + 1) % 1679616;
  const random = Math.floor(Math.random() * 2176782336).toString(36);
  return `${Date.now().toString(36)}-${counter.toString(36)}-${random}`;
}

function schedule(ms) {
  if (timer) return;
  try {
    timer = setTimeout(() => {
      timer = null;
      flush();
    }, ms);
  } catch (e) {
    timer = null;
  }
}

function cancelTimer() {
  if (timer) clearTimeout(timer);
  timer = null;
}

/** Add an event; send at once when enough wait, else within flushMs. Never throws. */
function record(kind, fields) {
  try {
    const user = storeUser();
    if (!user) return;
    const event = { id: newId(), kind, at: new Date().toISOString(), u: user };
    Object.keys(fields || {}).forEach((key) => {
      const value = fields[key];
      if (value !== undefined && value !== null && value !== '') event[key] = value;
    });
    const waiting = load();
    waiting.push(event);
    if (waiting.length > settings.maxQueue) waiting.splice(0, waiting.length - settings.maxQueue);
    save();
    if (waiting.length >= settings.flushAt) flush();
    else schedule(settings.flushMs);
  } catch (e) {
    // analytics must never break a page
  }
}

function headers() {
  const current = session.getSession();
  if (!current || !current.access_token) return null;
  return { 'Content-Type': 'application/json', Authorization: `Bearer ${current.access_token}` };
}

/** POST one batch: resolves to the HTTP status, or 0 when no answer came. */
function post(events, header) {
  return new Promise((resolve) => {
    try {
      wx.request({
        url: `${config.apiBase()}${config.API_PREFIX}${PATH}`,
        method: 'POST',
        data: { events },
        header,
        timeout: config.REQUEST_TIMEOUT_MS,
        dataType: 'json',
        success: (res) => resolve(res.statusCode || 0),
        fail: () => resolve(0),
      });
    } catch (e) {
      resolve(0);
    }
  });
}

function removeSent(ids) {
  const sent = {};
  ids.forEach((id) => {
    sent[id] = true;
  });
  queue = load().filter((e) => !sent[e.id]);
  save();
}

async function sendWaiting() {
  const user = storeUser();
  const header = headers();
  const waiting = load();
  // Events of an earlier sign-in are not this user's to send.
  const others = waiting.filter((e) => e.u !== user);
  if (others.length) removeSent(others.map((e) => e.id));
  if (!user || !header || !queue.length) return;
  const batch = queue.slice(0, settings.maxBatch);
  const status = await post(
    batch.map((e) => {
      const copy = Object.assign({}, e);
      delete copy.u;
      return copy;
    }),
    header,
  );
  const refused = status >= 400 && status < 500 && status !== 401 && status !== 429;
  if ((status >= 200 && status < 300) || refused) {
    failures = 0;
    removeSent(batch.map((e) => e.id));
    if (queue.length) schedule(0);
    return;
  }
  // No answer, a server error, an expired token (api.js refreshes it on the page's next
  // call) or too many requests: the same events, same ids, later.
  const wait = settings.retryMs[Math.min(failures, settings.retryMs.length - 1)];
  failures += 1;
  schedule(wait);
}

/** Send what waits now. Resolves when done (sent or put off); never rejects. */
function flush() {
  if (sending) return sending;
  cancelTimer();
  sending = sendWaiting()
    .catch(() => {})
    .then(() => {
      sending = null;
    });
  return sending;
}

function routeOf(page) {
  const path = typeof page === 'string' ? page : (page && (page.route || page.is)) || '';
  return String(path).split('?')[0].replace(/^\//, '').slice(0, 64);
}

module.exports = {
  settings,
  STORAGE_KEY,
  flush,
  pageView(page) {
    const path = routeOf(page);
    if (path) record('page_view', { page: path });
  },
  search(term, results) {
    const text = String(term || '').trim().slice(0, settings.maxTermLength);
    if (!text) return;
    const count = Number(results);
    record('search', { term: text, results: count >= 0 ? Math.floor(count) : undefined });
  },
  productView(productId, skuId) {
    record('product_view', { product_id: Number(productId) || undefined, sku_id: Number(skuId) || undefined });
  },
  addToCart(skuId, productId) {
    record('add_to_cart', { sku_id: Number(skuId) || undefined, product_id: Number(productId) || undefined });
  },
  checkout() {
    record('checkout', {});
  },
  order() {
    record('order', {});
  },
  /** For tests: forget the queue in memory, and any timer. */
  reset() {
    cancelTimer();
    queue = null;
    sending = null;
    failures = 0;
  },
};
