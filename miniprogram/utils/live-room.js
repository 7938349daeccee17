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
 *   viewers {count}, likes {total}, chat {user_id, name, text, at}, session {status},
 *   product {product_id, sku, live_price_fen, left}, pinned {text, at},
 *   ticker {orders, gmv_fen, product_id, left}, rain {id, total_fen, count, status, ends_at,...},
 *   rain_result {..., results}, drop {...}, drop_left {id, left}, draw {...}
 * `room.state` follows them, so a page can always render from it.
 */

const config = require('../config');
const session = require('./session');
const api = require('./api');
const { RealtimeClient } = require('./realtime');

const NAMESPACE = '/live';
// Refusals of `join` that another try will not change: stop reconnecting.
const FINAL_JOIN_ERRORS = ['live.session_not_found', 'live.not_invited'];

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
    this.state = null;
    this.joins = 0;
    this.localListeners = {};
    // `ready`: the first join's state, or its refusal {code, message}. Pages that only
    // listen to 'joined' need not handle it, hence the silent catch.
    this.ready = new Promise((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => {});

    this.client.on('connect', () => this.join());
    // The client is already 'waiting' when it lost the link, 'closed' when it was put out.
    this.client.on('disconnect', () =>
      this.tell('connection', this.client.status === 'closed' ? 'closed' : 'reconnecting'),
    );
    this.client.on('connect_error', (error) => this.failed(error));
    Object.keys(STATE_UPDATES).forEach((event) =>
      this.client.on(event, (data) => this.follow(event, data)),
    );
  }

  start() {
    this.tell('connection', 'connecting');
    this.client.connect().catch(() => {}); // refusals arrive through connect_error
    return this;
  }

  /** Listen to a server push by its name, or to 'joined' / 'connection' / 'error'. Returns a
   * function that stops listening. */
  on(event, handler) {
    if (['joined', 'connection', 'error'].indexOf(event) !== -1) {
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
    const ack = await this.client.emit('join', { session_id: this.sessionId });
    if (!ack || !ack.ok) {
      const error = (ack && ack.error) || { code: 'live.failed', message: '进入直播间失败' };
      if (FINAL_JOIN_ERRORS.indexOf(error.code) !== -1) {
        this.failed(error);
      } else {
        this.tell('error', error); // lost meanwhile: the next connection joins again
      }
      return;
    }
    this.joins += 1;
    this.state = ack.data;
    this.tell('connection', 'live');
    this.tell('joined', ack.data);
    this.settleReady.resolve(ack.data);
  }

  follow(event, data) {
    if (!this.state || !data) return; // before the first join, `join` will bring it all
    this.state = Object.assign({}, this.state, STATE_UPDATES[event](this.state, data));
  }

  failed(error) {
    this.tell('error', error);
    this.settleReady.reject(error);
    this.leave();
  }

  /** Ask for the whole state again (e.g. after the page was hidden for a while). */
  async refresh() {
    const ack = await this.client.emit('state');
    if (ack.ok) this.state = ack.data;
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

module.exports = { joinRoom, LiveRoom, STATE_UPDATES };
