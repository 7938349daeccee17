/**
 * Where the mini-program finds the platform.
 *
 * The API base URL is read each time it is needed (not once at load), so that a tester who
 * points the app at another server (see `setApiBase`) is heard at once, without a restart.
 * Order of precedence:
 *   1. storage key `b2bc.apiBase` (a developer or tester's override, kept on the phone);
 *   2. the ext config's `apiBase` (third-party platform builds: one code base per brand);
 *   3. DEFAULT_API_BASE, the embedded server `make run` starts.
 * The realtime server sits behind the same origin (the reverse proxy sends `/socket.io/` to
 * it), so its URL is derived from the API's: http → ws, https → wss.
 */

const DEFAULT_API_BASE = 'http://127.0.0.1:8000';
const API_BASE_STORAGE_KEY = 'b2bc.apiBase';
const API_PREFIX = '/api/v1';

// Milliseconds. A request WeChat has not answered by then fails like a lost network.
const REQUEST_TIMEOUT_MS = 15000;

function readStorage(key) {
  try {
    return wx.getStorageSync(key);
  } catch (e) {
    return ''; // storage can fail on a full or locked device: fall back to the defaults
  }
}

function readExtConfig() {
  try {
    return (typeof wx.getExtConfigSync === 'function' && wx.getExtConfigSync()) || {};
  } catch (e) {
    return {}; // outside a third-party platform build there is no ext config
  }
}

function withoutTrailingSlash(url) {
  return url.replace(/\/+$/, '');
}

function apiBase() {
  const chosen = readStorage(API_BASE_STORAGE_KEY) || readExtConfig().apiBase || DEFAULT_API_BASE;
  return withoutTrailingSlash(String(chosen));
}

/** Keep an override on this phone; an empty value goes back to the default. */
function setApiBase(url) {
  if (url) {
    wx.setStorageSync(API_BASE_STORAGE_KEY, withoutTrailingSlash(String(url)));
  } else {
    wx.removeStorageSync(API_BASE_STORAGE_KEY);
  }
}

/** e.g. `ws://127.0.0.1:8000`: the origin of the Socket.IO server. */
function realtimeBase() {
  return apiBase().replace(/^http(s?):\/\//i, (_, secure) => (secure ? 'wss://' : 'ws://'));
}

module.exports = {
  DEFAULT_API_BASE,
  API_BASE_STORAGE_KEY,
  API_PREFIX,
  REQUEST_TIMEOUT_MS,
  apiBase,
  setApiBase,
  realtimeBase,
};
