// The console's only way to the API: the session's tokens on every call, one shared refresh
// when the access token has expired, an Idempotency-Key on every create, and every failure as
// an ApiError carrying the server's stable code and Chinese message (or a network message).
const SESSION_KEY = "b2bc.console.session";
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
    } catch {
      return null;
    }
  },
  set(pair) {
    const value = {
      accessToken: pair.access_token,
      refreshToken: pair.refresh_token,
      identity: pair.identity,
      profile: pair.profile || this.get()?.profile || null,
    };
    localStorage.setItem(SESSION_KEY, JSON.stringify(value));
    listeners.forEach((listener) => listener(value));
    return value;
  },
  update(changes) {
    const value = { ...this.get(), ...changes };
    localStorage.setItem(SESSION_KEY, JSON.stringify(value));
    listeners.forEach((listener) => listener(value));
  },
  clear() {
    localStorage.removeItem(SESSION_KEY);
    listeners.forEach((listener) => listener(null));
  },
  subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((each) => params.append(key, String(each)));
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

// A fresh key for one user action. Keep it while retrying that action (a double click or a
// retry after a timeout then creates nothing twice); take a new one for the next action.
export function newIdempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/** The key to retry an action with after it failed: the same one while the first attempt may
 * have gone through or may still run (no answer, 5xx, 429, "still processing"), a new one
 * after a refusal. The server keeps a refusal under its key: the same key again would replay
 * it, and a corrected form under it would be refused as a reused key. */
export function keyAfter(error, key) {
  const refused = error instanceof ApiError && error.status >= 400 && error.status < 500 &&
    error.status !== 429 && error.code !== "idempotency.in_progress";
  return refused ? newIdempotencyKey() : key;
}

async function failure(response) {
  const payload = await response.json().catch(() => null);
  const error = payload?.error || {};
  return new ApiError(
    response.status,
    error.code || "http.error",
    error.message || `服务暂时不可用（${response.status}），请稍后重试`,
    error.details,
  );
}

async function send(path, { method = "GET", body, query, token, idempotencyKey, raw = false, form }) {
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(`/api/v1${path}${queryString(query)}`, {
      method,
      headers,
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch {
    throw new ApiError(0, "network.unreachable", "网络连接失败，请检查网络后重试");
  }
  if (!response.ok) throw await failure(response);
  if (raw) return response;
  return response.status === 204 ? null : response.json().catch(() => null);
}

let refreshing = null;

function refreshOnce() {
  // Calls that all met an expired token share one refresh: the refresh token rotates, and
  // presenting the old one twice would end the whole sign-in.
  if (!refreshing) {
    const current = session.get();
    refreshing = send("/auth/refresh", {
      method: "POST",
      body: { refresh_token: current?.refreshToken },
    })
      .then((pair) => session.set(pair))
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** Calls the API as the signed-in person: `api("/orders", { query: { status: "paid" } })`.
 * Creates pass `idempotencyKey` (see newIdempotencyKey); `raw: true` answers the Response. */
export async function api(path, options = {}) {
  const token = session.get()?.accessToken;
  try {
    return await send(path, { ...options, token });
  } catch (error) {
    if (error.status !== 401 || !token) throw error;
    if (error.code !== "auth.token_expired") {
      session.clear();
      throw error;
    }
    try {
      await refreshOnce();
    } catch (refreshError) {
      session.clear();
      throw refreshError;
    }
    return send(path, { ...options, token: session.get()?.accessToken });
  }
}

/** A create: POST with a key for this one action (pass the same key again to retry it). */
export function create(path, body, idempotencyKey = newIdempotencyKey()) {
  return api(path, { method: "POST", body, idempotencyKey });
}

/** Uploads one file as multipart form data under `field`. */
export function upload(path, file, field = "file", extra = {}) {
  const form = new FormData();
  form.append(field, file);
  Object.entries(extra).forEach(([key, value]) => form.append(key, value));
  return api(path, { method: "POST", form, idempotencyKey: newIdempotencyKey() });
}

/** Saves what an export route answers (CSV, XLSX) under the name the server gives it. */
export async function download(path, query, fallbackName = "export.csv") {
  const response = await api(path, { query, raw: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const named = /filename\*=UTF-8''([^;]+)/i.exec(disposition) || /filename="?([^";]+)"?/i.exec(disposition);
  const name = named ? decodeURIComponent(named[1]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function signIn(username, password) {
  const pair = await send("/auth/staff/login", { method: "POST", body: { username, password } });
  session.set(pair);
  const profile = await api("/me");
  session.update({ profile });
  return session.get();
}

export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch {
    /* the token may already be gone; signing out here still ends the session */
  } finally {
    session.clear();
  }
}
