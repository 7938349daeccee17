/**
 * One livestream room (直播间) for a page: connects to the realtime server's /live
 * namespace, joins the session, and joins again after every reconnection, since the server
 * forgets a connection's room with it and `join` answers the room's whole state.
 *
 *   const room = joinRoom(sessionId);
 *   room.on('joined', (state) => ...);     // after every (re)join: the whole state
 *   room.on('product', (card) => ...);     // any server push, by its name (below)
 *   room.on('connection', (status) => ...) // connecting | live | reconnecting | closed
 *   const ack = await room.grab(rainId);   // {ok, data} or {ok: false, error: {code, message}}
 *   room.leave();                          // in onUnload
 *
 * Server pushes (realtime/live.py, backend/livestream/service.py):
 *   viewers {count, version}, likes {total}, chat {user_id, name, text, at}, session {status},
 *   product {product_id, sku, live_price_fen, left, version}, pinned {text, at},
 *   ticker {orders, gmv_fen, product_id, left, version},
 *   rain {id, total_fen, count, status, ends_at,...}, rain_result {..., results}, drop {...},
 *   drop_left {id, left, version}, draw {...}
 * `room.state` follows them, so a page can always render from it.
 *
 * Counters are pushed as absolute values with a `version` that only grows (one counter per
 * room on the server, taken before the value is read), and pushes can arrive out of order:
 * the room keeps, per counter, the greatest version shown, and drops an older push before
 * the state or the page sees it. The counters: viewers; the ticker (orders, GMV); the card on
 * screen; what is left of each product (ticker and card both carry it); what is left of each
 * coupon drop. A (re)join's state is as new as its `version` says, for all of them.
 */

const config = require('../../config');
const session = require('../../utils/session');
const api = require('../../utils/api');
const { RealtimeClient } = require('./realtime');

const NAMESPACE = '/live';
// Refusals of `join` that another try will not change: stop reconnecting.
const FINAL_JOIN_ERRORS = ['live.session_not_found', 'live.not_invited'];
// Refusals that say "busy, try again" (no database connection free in time, as in a
// reconnect storm after a server restart): join again on the same connection, after 1, 2, 4
// then 8 s at most, each cut by a random part so that thousands of rooms do not come back at
// the same instant.
const BUSY_JOIN_ERRORS = ['db_busy'];
const BUSY_RETRY_MS = [1000, 2000, 4000, 8000];

// How each push changes the state `join` answered, so that `room.state` stays whole.
const STATE_UPDATES = {
  viewers: (state, data) => ({ viewers: data.count }),
  likes: (state, data) => ({ likes: data.total }),
  session: (state, data) => ({ status: data.status }),
  product: (state, data) => ({ card: data }),
  pinned: (state, data) => ({ pinned: data }),
  rain: (state, data) => ({ rain: Object.assign({ mine: null }, data) }),
  rain_result: (state, data) =>
    state.rain && state.rain.id === data.id ? { rain: Object.assign({}, state.rain, data) } : {},
  ticker: (state, data) => {
    const card =
      state.card && state.card.product_id === data.product_id
        ? Object.assign({}, state.card, { left: data.left })
        : state.card;
    return { orders: data.orders, gmv_fen: data.gmv_fen, card };
  },
};

// The counter a versioned push moves; pushes of other events carry no version.
const COUNTERS = {
  viewers: () => 'viewers',
  ticker: () => 'ticker',
  product: () => 'card',
  drop_left: (data) => `drop:${data.id}`,
};

function defaultClient() {
  return new RealtimeClient({
    url: config.realtimeBase(),
    namespace: NAMESPACE,
    getToken: () => {
      const current = session.getSession();
      return current ? current.access_token : '';
    },
    // The access token lives 15 minutes: a reconnection later in a long session needs the
    // shared refresh (the same one the API client uses, so the rotation stays single).
    renewToken: () => api.refreshSession(),
  });
}

class LiveRoom {
  /** options.client: a RealtimeClient (tests, the node integration script). */
  constructor(sessionId, options) {
    this.sessionId = sessionId;
    this.client = (options && options.client) || defaultClient();
    this.random = (options && options.random) || Math.random;
    this.busyTries = 0;
    this.busyTimer = null;
    this.state = null;
    this.joins = 0;
    this.localListeners = {};
    this.resetVersions(null);
    // `ready`: the first join's state, or its refusal {code, message}. Pages that only
    // listen to 'joined' need not handle it, hence the silent catch.
    this.ready = new Promise((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});

    this.client.on('connect', () => {
      this.busyTries = 0;
      this.join();
    });
    // The client is already 'waiting' when it lost the link, 'closed' when it was put out.
    this.client.on('disconnect', () =>
      this.tell('connection', this.client.status === 'closed' ? 'closed' : 'reconnecting'),
    );
    this.client.on('connect_error', (error) => this.failed(error));
    Object.keys(STATE_UPDATES).forEach((event) => {
      if (!COUNTERS[event]) this.client.on(event, (data) => this.follow(event, data));
    });
    // Versioned pushes go through `receive`, which drops the stale ones for the page too.
    Object.keys(COUNTERS).forEach((event) =>
      this.client.on(event, (data) => this.receive(event, data)),
    );
  }

  /** After a (re)join: every counter is as new as the state's version. */
  resetVersions(state) {
    this.floor = state && typeof state.version === 'number' ? state.version : -1;
    this.versions = {};
    this.stock = {}; // product id → {version, left}: what is left of it, newest first
    if (state && state.card) {
      this.stock[state.card.product_id] = { version: this.floor, left: state.card.left };
    }
  }

  shownVersion(key) {
    return Math.max(this.floor, key in this.versions ? this.versions[key] : -1);
  }

  /** A versioned push: null when older than what is shown, else the push to show, whose
   * `left` (ticker, card) is the newest known for its product. */
  fresh(event, data) {
    if (!data || typeof data.version !== 'number') return data; // a server without versions
    const key = COUNTERS[event](data);
    if (data.version < this.shownVersion(key)) return null;
    this.versions[key] = data.version;
    if (event !== 'ticker' && event !== 'product') return data;
    const known = this.stock[data.product_id];
    if (known && known.version > data.version) {
      return Object.assign({}, data, { left: known.left });
    }
    this.stock[data.product_id] = { version: data.version, left: data.left };
    return data;
  }

  receive(event, data) {
    const shown = this.fresh(event, data);
    if (!shown) return;
    this.follow(event, shown);
    (this.localListeners[event] || []).slice().forEach((handler) => handler(shown));
  }

  start() {
    this.tell('connection', 'connecting');
    this.client.connect().catch(() => {}); // refusals arrive through connect_error
    return this;
  }

  /** Listen to a server push by its name, or to 'joined' / 'connection' / 'error'. Returns a
   * function that stops listening. */
  on(event, handler) {
    if (['joined', 'connection', 'error'].indexOf(event) !== -1 || COUNTERS[event]) {
      (this.localListeners[event] = this.localListeners[event] || []).push(handler);
      return () => {
        this.localListeners[event] = this.localListeners[event].filter((h) => h !== handler);
      };
    }
    return this.client.on(event, handler);
  }

  tell(event, data) {
    (this.localListeners[event] || []).slice().forEach((handler) => handler(data));
  }

  async join() {
    this.busyTimer = null;
    const ack = await this.client.emit('join', { session_id: this.sessionId });
    if (!ack || !ack.ok) {
      const error = (ack && ack.error) || { code: 'live.failed', message: '进入直播间失败' };
      if (FINAL_JOIN_ERRORS.indexOf(error.code) !== -1) {
        this.failed(error);
      } else if (BUSY_JOIN_ERRORS.indexOf(error.code) !== -1 && this.client.connected) {
        this.tell('error', error);
        this.joinAgainLater();
      } else {
        this.tell('error', error); // lost meanwhile: the next connection joins again
      }
      return;
    }
    this.joins += 1;
    this.state = ack.data;
    this.resetVersions(ack.data);
    this.tell('connection', 'live');
    this.tell('joined', ack.data);
    this.settleReady.resolve(ack.data);
  }

  joinAgainLater() {
    const wait = BUSY_RETRY_MS[Math.min(this.busyTries, BUSY_RETRY_MS.length - 1)];
    this.busyTries += 1;
    this.busyTimer = setTimeout(() => {
      if (this.client.connected) this.join(); // else the next connection joins
    }, wait * (0.5 + this.random() / 2));
  }

  follow(event, data) {
    const update = STATE_UPDATES[event];
    if (!this.state || !data || !update) return; // before the first join, `join` brings it all
    this.state = Object.assign({}, this.state, update(this.state, data));
  }

  failed(error) {
    this.tell('error', error);
    this.settleReady.reject(error);
    this.leave();
  }

  /** Ask for the whole state again (e.g. after the page was hidden for a while). */
  async refresh() {
    const ack = await this.client.emit('state');
    if (ack.ok) {
      this.state = ack.data;
      this.resetVersions(ack.data);
    }
    return ack;
  }

  /** Grab a packet of the running red-packet rain: data {amount_fen, again, ...}. Grabbing
   * twice is harmless: the second answer is the first packet with `again: true`. */
  async grab(rainId) {
    const ack = await this.client.emit('grab', { rain_id: rainId });
    if (ack.ok && this.state && this.state.rain && this.state.rain.id === rainId) {
      this.state = Object.assign({}, this.state, {
        rain: Object.assign({}, this.state.rain, {
          mine: { rain_id: rainId, amount_fen: ack.data.amount_fen },
        }),
      });
    }
    return ack;
  }

  grabCoupon(dropId) {
    return this.client.emit('grab_coupon', { drop_id: dropId });
  }

  chat(text) {
    return this.client.emit('chat', { text });
  }

  like(count) {
    return this.client.emit('like', { count: count || 1 });
  }

  leave() {
    clearTimeout(this.busyTimer);
    if (this.client.status === 'closed') return;
    const wasConnected = this.client.connected;
    this.client.close(); // when connected, its 'disconnect' tells the page 'closed'
    if (!wasConnected) this.tell('connection', 'closed');
  }
}

/** Connect and join session `sessionId` (a number): the room, already starting. */
function joinRoom(sessionId, options) {
  return new LiveRoom(sessionId, options).start();
}

module.exports = { joinRoom, LiveRoom, STATE_UPDATES, COUNTERS };
