/**
 * The API client of the mini-program, over `wx.request`.
 *
 *   api.get(path, query?)            api.post(path, body?, options?)
 *   api.put(path, body?, options?)   api.del(path, options?)
 *
 * Paths are relative to /api/v1 (`api.get('/orders')`). Each call resolves to the parsed JSON
 * body of a 2xx answer and rejects with an ApiError otherwise: the server answers every error
 * as `{"error": {"code", "message", "details"}}`, and `message` is Chinese text meant for the
 * user (show it as is, e.g. with `api.toastError(err)`).
 *
 * options: `idempotencyKey` (sent as Idempotency-Key; a create the server must do once, such
 * as placing an order, needs one, see `api.newIdempotencyKey()`), `query` (for post/put/del),
 * `auth: false` (sign-in calls: no token, no refresh).
 *
 * Tokens: the short-lived access token goes in `Authorization: Bearer`. When it has expired
 * the server answers 401; the client then refreshes the session once and retries the call
 * once. Refresh tokens rotate and a second use of an old one ends the whole sign-in, so every
 * call that meets a 401 at the same time waits on one shared refresh. When the refresh is
 * refused, the session is cleared, the call rejects with `auth.expired`, and the user is sent
 * to the login page (`setAuthExpiredHandler` replaces that step, for tests or another flow).
 */

const config = require('../config');
const session = require('./session');

const LOGIN_PAGE = '/pages/login/index';
const NETWORK_FAILED = { code: 'network.failed', message: '网络不给力，请稍后重试' };
const AUTH_EXPIRED = { code: 'auth.expired', message: '登录已过期，请重新登录' };

class ApiError extends Error {
  constructor({ code, message, status = 0, details = null }) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status; // 0 when the server never answered
    this.details = details;
  }
}

/** Tunables, changed by tests (no waiting) and nowhere else. */
const settings = {
  // Waits before each retry of a call lost on the network. Only calls that are safe to send
  // twice are retried: GETs, and POST/PUTs with an idempotency key (the server answers a
  // repeated key with the first result).
  retryDelaysMs: [400, 1200],
  timeoutMs: config.REQUEST_TIMEOUT_MS,
};

let authExpiredHandler = null;

/** Replace what happens when the sign-in has ended (default: reLaunch to the login page). */
function setAuthExpiredHandler(handler) {
  authExpiredHandler = handler || null;
}

function signInEnded() {
  if (authExpiredHandler) {
    authExpiredHandler();
  } else {
    wx.reLaunch({ url: LOGIN_PAGE });
  }
}

// ---- building and sending one request ------------------------------------------------

function encodeQuery(query) {
  const parts = [];
  Object.keys(query || {}).forEach((key) => {
    const value = query[key];
    if (value === undefined || value === null) return; // an unset filter is left out
    const values = Array.isArray(value) ? value : [value];
    values.forEach((v) => parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`));
  });
  return parts.length ? `?${parts.join('&')}` : '';
}

function urlFor(path, query) {
  const cleanPath = path.charAt(0) === '/' ? path : `/${path}`;
  return `${config.apiBase()}${config.API_PREFIX}${cleanPath}${encodeQuery(query)}`;
}

function headersFor(auth, idempotencyKey) {
  const header = { 'Content-Type': 'application/json' };
  let token = null;
  if (auth) {
    const current = session.getSession();
    token = current ? current.access_token : null;
    if (token) header.Authorization = `Bearer ${token}`;
  }
  if (idempotencyKey) header['Idempotency-Key'] = idempotencyKey;
  return { header, token };
}

/** One wx.request: resolves to {status, data} whatever the status; rejects only when no
 * answer came back (offline, DNS, timeout), with ApiError `network.failed`. */
function sendOnce(method, url, body, header) {
  return new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      data: body,
      header,
      timeout: settings.timeoutMs,
      dataType: 'json',
      success: (res) => resolve({ status: res.statusCode, data: res.data }),
      fail: (err) =>
        reject(new ApiError({ ...NETWORK_FAILED, details: { errMsg: err && err.errMsg } })),
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Send, and send again after a pause when the network lost it and `retriable` says that a
 * second copy is harmless. Headers are read for every attempt, so a retry carries the token
 * of the moment. Resolves to {response, token}: the token the answered attempt carried. */
async function sendWithRetries(method, url, body, { auth, idempotencyKey, retriable }) {
  const delays = retriable ? settings.retryDelaysMs : [];
  for (let attempt = 0; ; attempt += 1) {
    const { header, token } = headersFor(auth, idempotencyKey);
    try {
      return { response: await sendOnce(method, url, body, header), token };
    } catch (error) {
      if (error.code !== NETWORK_FAILED.code || attempt >= delays.length) throw error;
      await sleep(delays[attempt]);
    }
  }
}

function isSuccess(status) {
  return status >= 200 && status < 300;
}

function errorFrom(response) {
  const envelope = response.data && typeof response.data === 'object' ? response.data.error : null;
  if (envelope && typeof envelope.code === 'string') {
    return new ApiError({
      code: envelope.code,
      message: envelope.message || '操作失败，请稍后重试',
      status: response.status,
      details: envelope.details === undefined ? null : envelope.details,
    });
  }
  // Not our server's answer (a proxy's error page, a gateway timeout): say something useful.
  return new ApiError({
    code: `http.${response.status}`,
    message: response.status >= 500 ? '服务暂时不可用，请稍后重试' : '请求失败，请稍后重试',
    status: response.status,
  });
}

// ---- the session: one shared refresh ---------------------------------------------------

let refreshing = null; // the refresh in flight, shared by every call that needs it

function endSignIn() {
  session.clearSession();
  signInEnded();
  return new ApiError({ ...AUTH_EXPIRED, status: 401 });
}

async function runRefresh() {
  const current = session.getSession();
  if (!current || !current.refresh_token) throw endSignIn();
  // Never retried: if the server used the token but its answer was lost, sending the same
  // token again would count as a replay and end the sign-in. A network failure keeps the
  // session, so the next call can try again.
  const { response } = await sendWithRetries(
    'POST',
    urlFor('/auth/refresh'),
    { refresh_token: current.refresh_token },
    { auth: false, retriable: false },
  );
  if (isSuccess(response.status)) return session.saveSession(response.data);
  if (response.status >= 500 || response.status === 429) throw errorFrom(response); // transient
  throw endSignIn(); // refused: expired, revoked or replayed
}

/** Refresh the session now (one refresh at a time, whoever asks). Resolves to the new
 * session; rejects with `auth.expired` when the sign-in is over. The realtime client uses it
 * too, when the server refuses its token on reconnect. */
function refreshSession() {
  if (!refreshing) {
    // then(ok, failed) rather than finally(): older iOS base libraries lack finally.
    const settled = () => {
      refreshing = null;
    };
    refreshing = runRefresh().then(
      (renewed) => {
        settled();
        return renewed;
      },
      (error) => {
        settled();
        throw error;
      },
    );
  }
  return refreshing;
}

/** A call carrying `sentToken` was answered 401: make sure a newer token exists. */
async function renewAfter(sentToken) {
  const current = session.getSession();
  if (sentToken && !current) {
    // Another call has already ended the sign-in (and sent the user to the login page).
    throw new ApiError({ ...AUTH_EXPIRED, status: 401 });
  }
  if (current && current.access_token !== sentToken) return; // renewed while we waited
  await refreshSession();
}

// ---- the public calls -------------------------------------------------------------------

async function request(method, path, body, options) {
  const opts = options || {};
  const auth = opts.auth !== false;
  const idempotencyKey = opts.idempotencyKey || null;
  const url = urlFor(path, opts.query);
  const how = { auth, idempotencyKey, retriable: method === 'GET' || Boolean(idempotencyKey) };

  let { response, token } = await sendWithRetries(method, url, body, how);
  if (response.status === 401 && auth) {
    // A 401 means the server did nothing, so sending the call again is safe even without
    // an idempotency key. Once only: a second 401 is reported as it is.
    await renewAfter(token);
    ({ response } = await sendWithRetries(method, url, body, how));
  }
  if (isSuccess(response.status)) return response.data;
  throw errorFrom(response);
}

function get(path, query) {
  return request('GET', path, undefined, { query });
}

function post(path, body, options) {
  return request('POST', path, body === undefined ? {} : body, options);
}

function put(path, body, options) {
  return request('PUT', path, body === undefined ? {} : body, options);
}

function del(path, options) {
  return request('DELETE', path, undefined, options);
}

// ---- signing in and out -----------------------------------------------------------------

function wxLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) =>
        res && res.code
          ? resolve(res.code)
          : reject(new ApiError({ code: 'wechat.login_failed', message: '微信登录失败，请重试' })),
      fail: () =>
        reject(new ApiError({ code: 'wechat.login_failed', message: '微信登录失败，请重试' })),
    });
  });
}

/** Sign in with WeChat: wx.login's one-time code for our tokens, saved as the session.
 * Resolves to the answer (`identity` tells the role and store). Not retried: a code can
 * be used once. */
async function login() {
  const code = await wxLoginCode();
  const answer = await post('/auth/wechat/login', { code }, { auth: false });
  session.saveSession(answer);
  return answer;
}

/** Bind the phone from getPhoneNumber's one-time code. The answer lists the person's
 * identities (`memberships`); when the phone brought exactly one and the server switched
 * into it (`switched`), it carries new tokens, which replace the session as /auth/switch's
 * would; `needs_switch` says several wait to be chosen from. A phone already bound to
 * another WeChat user is refused (auth.phone_taken), and nothing changes. Not retried: the
 * code can be used once. */
async function bindPhone(code) {
  const answer = await post('/auth/wechat/phone', { code });
  if (answer && answer.switched && answer.access_token) session.saveSession(answer);
  return answer;
}

/** Sign out: the server ends every token of this sign-in; the phone forgets them even when
 * the server cannot be reached. */
async function logout() {
  try {
    if (session.getSession()) await post('/auth/logout');
  } catch (error) {
    // signed out locally all the same
  } finally {
    session.clearSession();
  }
}

// ---- idempotency keys -------------------------------------------------------------------

// Idempotency keys must be unique for this user, not secret. wx.getRandomValues is
// asynchronous, so a small pool of its bytes is kept filled in the background; when it is
// empty (or the API is missing, as in old base libraries) Math.random fills in, and the time
// prefix alone already separates keys made on different milliseconds.
let randomPool = [];
let poolFilling = false;

function fillRandomPool() {
  if (poolFilling || typeof wx === 'undefined' || typeof wx.getRandomValues !== 'function') return;
  poolFilling = true;
  try {
    wx.getRandomValues({
      length: 96,
      success: (res) => {
        randomPool = randomPool.concat(Array.from(new Uint8Array(res.randomValues)));
      },
      complete: () => {
        poolFilling = false;
      },
    });
  } catch (error) {
    poolFilling = false;
  }
}

function randomBytes(count) {
  const bytes = [];
  for (let i = 0; i < count; i += 1) {
    bytes.push(randomPool.length ? randomPool.pop() : Math.floor(Math.random() * 256));
  }
  if (randomPool.length < 24) fillRandomPool();
  return bytes;
}

/** A new key, e.g. `mp-lx2k9a1c-9f86d081884c7d659a2feaa0`: one per user action (make it
 * when the user taps "submit" and keep it for that action's retries). */
function newIdempotencyKey() {
  const hex = randomBytes(12)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  return `mp-${Date.now().toString(36)}-${hex}`;
}

fillRandomPool();

// ---- for pages --------------------------------------------------------------------------

const runningLocks = new WeakMap(); // page → keys of the actions running on it

/**
 * Run `fn` unless the same action is already running on this page, and show it: `data[key]`
 * is true meanwhile (bind it to the button's `loading`/`disabled`). A second tap while the
 * first submission runs does nothing and resolves to undefined.
 *   onSubmit() { return withButtonLock(this, 'submitting', () => api.post(...)) }
 */
async function withButtonLock(page, key, fn) {
  // The WeakMap, not page.data, is the guard: it is set before anything asynchronous, even
  // where setData is not applied at once.
  const running = runningLocks.get(page) || new Set();
  if (running.has(key)) return undefined;
  running.add(key);
  runningLocks.set(page, running);
  page.setData({ [key]: true });
  try {
    return await fn();
  } finally {
    running.delete(key);
    page.setData({ [key]: false });
  }
}

/** Tell the user what went wrong, in the server's words. Nothing for `auth.expired`: the
 * user is already on the way to the login page. */
function toastError(error) {
  if (error && error.code === AUTH_EXPIRED.code) return;
  const message = (error && error.code && error.message) || '操作失败，请稍后重试';
  wx.showToast({ title: message, icon: 'none', duration: 2500 });
}

module.exports = {
  ApiError,
  LOGIN_PAGE,
  settings,
  get,
  post,
  put,
  del,
  login,
  bindPhone,
  logout,
  refreshSession,
  setAuthExpiredHandler,
  newIdempotencyKey,
  withButtonLock,
  toastError,
};
