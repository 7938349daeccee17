// The console's only way to the API: the session's tokens on every call, one refresh when
// the access token has expired, and every failure as an ApiError with the server's stable
// code and Chinese message (or a network message of our own).
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

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function send(path, { method = "GET", body, query, token }) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}${queryString(query)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network.unreachable", "网络连接失败，请检查网络后重试");
  }
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error || {};
    throw new ApiError(
      response.status,
      error.code || "http.error",
      error.message || `服务暂时不可用（${response.status}）`,
      error.details,
    );
  }
  return payload;
}

let refreshing = null;

async function refreshOnce() {
  // Concurrent calls that all met an expired token share one refresh: the refresh token
  // rotates, and presenting the old one twice would end the whole sign-in.
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

export async function signIn(username, password) {
  const pair = await send("/auth/staff/login", {
    method: "POST",
    body: { username, password },
  });
  session.set(pair);
  const profile = await api("/me");
  session.update({ profile });
  return session.get();
}

export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } finally {
    session.clear();
  }
}
