/**
 * `wx.connectSocket` faked, with a scripted Socket.IO server on the other end.
 *
 * FakeSocketTask has the SocketTask surface (onOpen/onMessage/onClose/onError/send/close)
 * and lets a test act as the server: `serverSends('2')`, `drop()`.
 * FakeLiveServer answers like realtime/app.py + realtime/live.py: the Engine.IO open
 * packet, the namespace CONNECT (checking the token), and acknowledgements of events by a
 * table of handlers.
 */

class FakeSocketTask {
  constructor(options) {
    this.url = options.url;
    this.options = options;
    this.sent = [];
    this.closed = false;
    this.handlers = {};
  }

  onOpen(cb) {
    this.handlers.open = cb;
  }

  onMessage(cb) {
    this.handlers.message = cb;
  }

  onClose(cb) {
    this.handlers.close = cb;
  }

  onError(cb) {
    this.handlers.error = cb;
  }

  send({ data }) {
    if (this.closed) throw new Error('send on a closed socket');
    this.sent.push(data);
    if (this.onClientSend) this.onClientSend(data);
  }

  close() {
    this.closed = true;
  }

  // ---- the server's side ----

  serverSends(text) {
    if (!this.closed) this.handlers.message({ data: text });
  }

  drop() {
    this.closed = true;
    this.handlers.close({ code: 1006, reason: 'abnormal closure' });
  }
}

// The server's answers come asynchronously, as over a network, but as microtasks rather than
// timers, so that tests with fake timers control only the client's own clock.
const later = (fn) => Promise.resolve().then(fn);

const HANDSHAKE = { sid: 'engine-1', upgrades: [], pingInterval: 25000, pingTimeout: 20000 };

/**
 * A scripted server for namespace /live.
 *   const server = new FakeLiveServer({
 *     tokens: ['T1'],
 *     events: { join: (data) => ({ ok: true, data: { ... } }) },
 *   });
 *   new RealtimeClient({ connectSocket: server.connectSocket, ... })
 * `server.autoOpen = false` leaves new sockets silent (a half-open network).
 */
class FakeLiveServer {
  constructor({ tokens = ['T1'], events = {}, namespace = '/live' } = {}) {
    this.tokens = tokens; // accepted access tokens
    this.events = events; // name → (data, task) => ack payload (or undefined: no answer)
    this.namespace = namespace;
    this.tasks = [];
    this.received = []; // [name, data] of every event, in order
    this.autoOpen = true;
    this.connectSocket = jest.fn((options) => this.accept(options));
  }

  get last() {
    return this.tasks[this.tasks.length - 1];
  }

  accept(options) {
    const task = new FakeSocketTask(options);
    task.onClientSend = (text) => this.receive(task, text);
    this.tasks.push(task);
    if (this.autoOpen) {
      // WeChat opens the socket asynchronously; the server speaks first.
      later(() => task.serverSends(`0${JSON.stringify(HANDSHAKE)}`));
    }
    return task;
  }

  receive(task, text) {
    const prefix = `4`;
    if (!text.startsWith(prefix)) return; // pongs
    const ns = `${this.namespace},`;
    const type = text.charAt(1);
    const rest = text.slice(2 + ns.length);
    if (type === '0') {
      const auth = JSON.parse(rest);
      later(() => {
        if (this.tokens.indexOf(auth.token) !== -1) {
          task.serverSends(`40${ns}{"sid":"sid-${this.tasks.length}"}`);
        } else {
          const refusal = {
            message: '登录凭证无效，请重新登录',
            data: { code: 'auth.token_invalid' },
          };
          task.serverSends(`44${ns}${JSON.stringify(refusal)}`);
        }
      });
    } else if (type === '2') {
      const [, id, payload] = /^(\d*)(.*)$/.exec(rest);
      const [name, data] = JSON.parse(payload);
      this.received.push([name, data]);
      const handler = this.events[name];
      const answer = handler ? handler(data, task) : { ok: false, error: { code: 'unknown' } };
      if (id !== '' && answer !== undefined) {
        later(() => task.serverSends(`43${ns}${id}${JSON.stringify([answer])}`));
      }
    }
  }

  /** A push to every open socket, as the server's room broadcast. */
  push(name, data) {
    this.tasks
      .filter((t) => !t.closed)
      .forEach((t) => t.serverSends(`42${this.namespace},${JSON.stringify([name, data])}`));
  }
}

module.exports = { FakeSocketTask, FakeLiveServer, HANDSHAKE };
