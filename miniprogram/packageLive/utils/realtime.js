/**
 * A small Socket.IO client (protocol v5 over Engine.IO v4, websocket transport only) running
 * on `wx.connectSocket`.
 *
 * Why not the official `socket.io-client`: it cannot run in a mini-program as published.
 * Its engine.io-client finds the global object with `Function("return this")()` when there
 * is no `self` or `window` (a mini-program has neither, and forbids the Function
 * constructor), its websocket transport needs a `WebSocket` global (a mini-program only has
 * `wx.connectSocket` and its SocketTask), and it reads `location`, `addEventListener` and
 * XMLHttpRequest for polling. The community ports are forks pinned to old protocol versions.
 * The part of the protocol we use is small, so it is written out here:
 *
 *   Engine.IO (one packet per websocket frame):
 *     0{"sid","pingInterval","pingTimeout",...}   server → client, the open packet
 *     2 / 3                                       ping from the server / our pong
 *     1                                           close
 *     4<socket.io packet>                         a message
 *   Socket.IO, inside an Engine.IO message, for namespace /live:
 *     0/live,{"token":...}     CONNECT with our auth; the server answers 0/live,{"sid":...}
 *     4/live,{"message","data":{"code"}}          CONNECT_ERROR (e.g. the token was refused)
 *     2/live,12["join",{...}]  EVENT (12: the id we want acknowledged)
 *     3/live,12[{...}]         ACK of event 12 (our server answers {ok, data} / {ok, error})
 *     1/live,                  DISCONNECT
 *
 * Binary packets and polling are not supported: our server sends JSON only and is reached
 * over websocket (production proxies send /socket.io/ to the realtime processes).
 *
 * Events the client itself fires (besides the server's events):
 *   connect {sid, reconnected}   the namespace is connected (again)
 *   reconnect {sid}              connected again after a loss: re-join rooms, fetch state
 *   disconnect reason            the connection was lost or closed
 *   reconnecting {attempt, delayMs}
 *
 * `server_restart {reconnect_in_ms}` from the server (a realtime process stopping for a
 * restart or an upgrade) is passed on to its handlers like any event, and the client leaves
 * at once and comes back at a random moment within that window: through the proxy, to a
 * process still up; a room's hundreds of phones spread over the window.
 *   connect_error {code, message}  the server refused us (and we gave up: see `renewToken`)
 */

const ENGINE_OPEN = '0';
const ENGINE_CLOSE = '1';
const ENGINE_PING = '2';
const ENGINE_PONG = '3';
const ENGINE_MESSAGE = '4';

const CONNECT = 0;
const DISCONNECT = 1;
const EVENT = 2;
const ACK = 3;
const CONNECT_ERROR = 4;

// A realtime process about to stop asks its clients to come back within a window
// (realtime/server.py).
const SERVER_RESTART = 'server_restart';

// Codes our realtime server gives when it refuses the token (realtime/app.py).
const TOKEN_REFUSED = ['auth.token_missing', 'auth.token_invalid'];

const NOT_CONNECTED = { code: 'realtime.disconnected', message: '连接已断开，正在重新连接' };
const ACK_TIMEOUT = { code: 'realtime.timeout', message: '服务器响应超时，请稍后重试' };

function failure(error) {
  return { ok: false, error: Object.assign({}, error) };
}

/** `packet` without its Engine.IO type: "0/live,{...}" → {type, namespace, id, payload}. */
function decodeSocketPacket(text) {
  const type = Number(text.charAt(0));
  let i = 1;
  let namespace = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    namespace = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }
  const idMatch = /^\d+/.exec(text.slice(i));
  const id = idMatch ? Number(idMatch[0]) : null;
  const rest = text.slice(i + (idMatch ? idMatch[0].length : 0));
  return { type, namespace, id, payload: rest ? JSON.parse(rest) : undefined };
}

/** The Engine.IO message carrying a Socket.IO packet, e.g. `42/live,7["chat",{...}]`. */
function encodeSocketPacket(type, namespace, id, payload) {
  const scope = namespace === '/' ? '' : `${namespace},`;
  const ackId = id === null || id === undefined ? '' : String(id);
  const body = payload === undefined ? '' : JSON.stringify(payload);
  return `${ENGINE_MESSAGE}${type}${scope}${ackId}${body}`;
}

class RealtimeClient {
  /**
   * options:
   *   url             ws(s)://host[:port], e.g. config.realtimeBase()
   *   namespace       '/live' by default
   *   getToken()      the access token to connect with (string or Promise); read again on
   *                   every (re)connection, so a refreshed token is used
   *   renewToken()    optional Promise: called once when the server refuses the token (the
   *                   access token lives 15 minutes; a reconnect later needs a fresh one);
   *                   when it fails, or the fresh token is refused too, the client gives up
   *   connectSocket   wx.connectSocket by default (tests and node pass their own)
   *   ackTimeoutMs, connectTimeoutMs, reconnectDelayMs, reconnectDelayMaxMs, random
   */
  constructor(options) {
    const o = Object.assign(
      {
        namespace: '/live',
        path: '/socket.io/',
        ackTimeoutMs: 10000,
        connectTimeoutMs: 10000,
        reconnectDelayMs: 1000,
        reconnectDelayMaxMs: 20000,
        random: Math.random,
        renewToken: null,
        connectSocket: (opts) => wx.connectSocket(opts),
      },
      options,
    );
    this.options = o;
    this.namespace = o.namespace;
    this.listeners = {};
    this.task = null; // the SocketTask in use; callbacks of older ones are ignored
    this.status = 'idle'; // idle | connecting | connected | waiting (to reconnect) | closed
    this.pendingAcks = new Map();
    this.nextAckId = 0;
    this.attempts = 0; // failed attempts since the last successful connection
    this.restartWindowMs = 0; // set by a server_restart until the reconnection is scheduled
    this.everConnected = false;
    this.tokenRenewed = false; // renewToken is tried once per refusal streak
    this.timers = { heartbeat: null, reconnect: null, connect: null };
    this.waiters = []; // connect() promises waiting for the next connection
  }

  get connected() {
    return this.status === 'connected';
  }

  on(event, handler) {
    (this.listeners[event] = this.listeners[event] || []).push(handler);
    return () => this.off(event, handler);
  }

  off(event, handler) {
    this.listeners[event] = (this.listeners[event] || []).filter((h) => h !== handler);
  }

  fire(event, ...args) {
    (this.listeners[event] || []).slice().forEach((handler) => {
      try {
        handler(...args);
      } catch (error) {
        // One page's broken handler must not stop the others nor the connection.
        console.error(`realtime handler for "${event}" failed`, error);
      }
    });
  }

  /** Connect (if not already): resolves once the namespace is connected; rejects with
   * {code, message} when the server refuses us for good or `close()` is called first.
   * Lost networks do not reject: the client keeps trying with backoff. */
  connect() {
    if (this.connected) return Promise.resolve();
    const waiting = new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.status === 'idle' || this.status === 'closed') {
      this.status = 'connecting';
      this.open();
    }
    return waiting;
  }

  /** Emit an event and wait for the server's acknowledgement. Never rejects: resolves to the
   * server's {ok, data} / {ok: false, error}, or to {ok: false, error} with code
   * `realtime.disconnected` (not connected, or lost before the answer) or `realtime.timeout`. */
  emit(event, data, options) {
    if (!this.connected) return Promise.resolve(failure(NOT_CONNECTED));
    const timeoutMs = (options && options.timeoutMs) || this.options.ackTimeoutMs;
    const id = this.nextAckId;
    this.nextAckId += 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingAcks.delete(id);
        resolve(failure(ACK_TIMEOUT));
      }, timeoutMs);
      this.pendingAcks.set(id, { resolve, timer });
      this.send(
        encodeSocketPacket(EVENT, this.namespace, id, data === undefined ? [event] : [event, data]),
      );
    });
  }

  /** Leave for good: no more reconnections. */
  close() {
    this.shutdown('io client disconnect');
  }

  shutdown(reason) {
    const wasConnected = this.connected;
    this.status = 'closed';
    this.clearTimers();
    const task = this.task;
    this.task = null;
    if (task) {
      if (wasConnected) this.sendOn(task, encodeSocketPacket(DISCONNECT, this.namespace));
      this.closeTask(task);
    }
    this.settleAcks();
    this.rejectWaiters({ code: 'realtime.closed', message: '连接已关闭' });
    if (wasConnected) this.fire('disconnect', reason);
  }

  /** Skip the backoff wait and reconnect now (e.g. when the app comes back to the
   * foreground or the network returns). */
  reconnectNow() {
    if (this.status !== 'waiting') return;
    clearTimeout(this.timers.reconnect);
    this.status = 'connecting';
    this.open();
  }

  // ---- the connection --------------------------------------------------------------------

  async open() {
    let token = '';
    try {
      token = (await this.options.getToken()) || '';
    } catch (error) {
      token = ''; // the server answers auth.token_missing, handled like any refusal
    }
    if (this.status !== 'connecting') return; // closed while the token was read
    this.token = token;
    const url = `${this.options.url}${this.options.path}?EIO=4&transport=websocket`;
    let task = null;
    const lost = (reason) => this.lost(task, reason);
    try {
      task = this.options.connectSocket({ url, fail: () => lost('transport error') });
    } catch (error) {
      // e.g. too many sockets open at once on an old base library: wait and try again.
      this.status = 'waiting';
      this.scheduleReconnect();
      return;
    }
    this.task = task;
    task.onMessage((message) => this.receive(task, message && message.data));
    task.onClose(() => lost('transport close'));
    task.onError(() => lost('transport error'));
    // No open packet and namespace answer within the limit: a half-open network; try again.
    this.timers.connect = setTimeout(() => lost('connect timeout'), this.options.connectTimeoutMs);
  }

  receive(task, data) {
    if (task !== this.task || typeof data !== 'string' || !data) return;
    const kind = data.charAt(0);
    if (kind === ENGINE_OPEN) {
      let handshake = {};
      try {
        handshake = JSON.parse(data.slice(1));
      } catch (error) {
        // keep the protocol's default intervals
      }
      this.heartbeatMs = (handshake.pingInterval || 25000) + (handshake.pingTimeout || 20000);
      this.armHeartbeat();
      this.send(encodeSocketPacket(CONNECT, this.namespace, null, { token: this.token }));
    } else if (kind === ENGINE_PING) {
      // Engine.IO v4: the server pings, we answer. Silence for longer than its interval plus
      // timeout means the link is dead even if the socket has not noticed.
      this.send(ENGINE_PONG);
      this.armHeartbeat();
    } else if (kind === ENGINE_CLOSE) {
      this.lost(task, 'transport close');
    } else if (kind === ENGINE_MESSAGE) {
      let packet;
      try {
        packet = decodeSocketPacket(data.slice(1));
      } catch (error) {
        return; // not JSON: nothing we can act on
      }
      if (packet.namespace === this.namespace) this.handlePacket(packet);
    }
  }

  handlePacket(packet) {
    switch (packet.type) {
      case CONNECT:
        this.connectedAs((packet.payload && packet.payload.sid) || null);
        break;
      case CONNECT_ERROR:
        this.refused(packet.payload || {});
        break;
      case EVENT: {
        const [name, ...args] = Array.isArray(packet.payload) ? packet.payload : [];
        if (typeof name !== 'string') return;
        // Our server never asks clients to acknowledge; answer anyway so that it would not
        // wait on us if it ever did.
        if (packet.id !== null) this.send(encodeSocketPacket(ACK, this.namespace, packet.id, []));
        this.fire(name, ...args);
        if (name === SERVER_RESTART) this.restartAnnounced(args[0]);
        break;
      }
      case ACK: {
        const pending = this.pendingAcks.get(packet.id);
        if (!pending) return; // answered after its timeout
        this.pendingAcks.delete(packet.id);
        clearTimeout(pending.timer);
        pending.resolve(Array.isArray(packet.payload) ? packet.payload[0] : undefined);
        break;
      }
      case DISCONNECT:
        // The server put us out of the namespace on purpose: like socket.io-client, do not
        // come back by ourselves.
        this.shutdown('io server disconnect');
        break;
      default:
        break; // binary packets: not used by our server
    }
  }

  connectedAs(sid) {
    clearTimeout(this.timers.connect);
    const reconnected = this.everConnected;
    this.status = 'connected';
    this.everConnected = true;
    this.attempts = 0;
    this.tokenRenewed = false;
    this.sid = sid;
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w.resolve());
    this.fire('connect', { sid, reconnected });
    if (reconnected) this.fire('reconnect', { sid });
  }

  /** The server refused the namespace connection. A refused token is renewed once and tried
   * again at once; any other refusal (or a second one) is final. */
  refused(payload) {
    const error = {
      code: (payload.data && payload.data.code) || 'realtime.refused',
      message: payload.message || '无法连接直播间',
    };
    const task = this.task;
    this.task = null;
    this.clearTimers();
    if (task) this.closeTask(task);
    if (TOKEN_REFUSED.indexOf(error.code) !== -1 && this.options.renewToken && !this.tokenRenewed) {
      this.tokenRenewed = true;
      Promise.resolve()
        .then(() => this.options.renewToken())
        .then(
          () => {
            if (this.status === 'connecting') this.open();
          },
          () => this.giveUp(error),
        );
      return;
    }
    this.giveUp(error);
  }

  giveUp(error) {
    if (this.status === 'closed') return;
    this.fire('connect_error', error);
    this.rejectWaiters(error);
    this.shutdown('io client disconnect');
  }

  /** The server is stopping: leave now (it closes our connection next anyway) and come back
   * within its window rather than after the usual backoff step. */
  restartAnnounced(payload) {
    const windowMs = Number(payload && payload.reconnect_in_ms);
    this.restartWindowMs = windowMs > 0 ? windowMs : this.options.reconnectDelayMs;
    this.lost(this.task, 'server restart');
  }

  /** The transport is gone (or as good as gone): tidy up and, unless closed, try again. */
  lost(task, reason) {
    if (task === null || task !== this.task) return; // an old socket's late news
    this.task = null;
    this.clearTimers();
    this.closeTask(task);
    const wasConnected = this.connected;
    this.settleAcks();
    if (this.status === 'closed') return;
    this.status = 'waiting';
    if (wasConnected) this.fire('disconnect', reason);
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const o = this.options;
    this.attempts += 1;
    let delayMs;
    if (this.restartWindowMs) {
      // Announced: anywhere in the server's window; failures after that back off as usual.
      delayMs = Math.round(this.restartWindowMs * o.random());
      this.restartWindowMs = 0;
    } else {
      // Exponential backoff with jitter (50–100% of the step), so that a room's hundreds of
      // phones do not all come back in the same second after a server is lost.
      const step = Math.min(o.reconnectDelayMaxMs, o.reconnectDelayMs * 2 ** (this.attempts - 1));
      delayMs = Math.round(step * (0.5 + 0.5 * o.random()));
    }
    this.fire('reconnecting', { attempt: this.attempts, delayMs });
    this.timers.reconnect = setTimeout(() => {
      if (this.status !== 'waiting') return;
      this.status = 'connecting';
      this.open();
    }, delayMs);
  }

  armHeartbeat() {
    clearTimeout(this.timers.heartbeat);
    const task = this.task;
    this.timers.heartbeat = setTimeout(() => this.lost(task, 'ping timeout'), this.heartbeatMs);
  }

  // ---- small helpers -------------------------------------------------------------------

  send(text) {
    if (this.task) this.sendOn(this.task, text);
  }

  sendOn(task, text) {
    try {
      task.send({ data: text, fail: () => this.lost(task, 'transport error') });
    } catch (error) {
      this.lost(task, 'transport error');
    }
  }

  closeTask(task) {
    try {
      task.close({ code: 1000 });
    } catch (error) {
      // already closed
    }
  }

  clearTimers() {
    Object.keys(this.timers).forEach((name) => clearTimeout(this.timers[name]));
  }

  /** Calls in flight get no answer on a new connection (the server knows us by a new sid):
   * tell their callers now rather than at their timeouts. */
  settleAcks() {
    this.pendingAcks.forEach((pending) => {
      clearTimeout(pending.timer);
      pending.resolve(failure(NOT_CONNECTED));
    });
    this.pendingAcks.clear();
  }

  rejectWaiters(error) {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w.reject(Object.assign({}, error)));
  }
}

module.exports = { RealtimeClient, decodeSocketPacket, encodeSocketPacket };
