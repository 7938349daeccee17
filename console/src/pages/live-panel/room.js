// The host's link to a session's room: Socket.IO namespace /live (not the console's /console
// link in realtime.js), signed in with the current access token. On every (re)connect it joins
// the room and hands the join state on as the event "state"; every push of the room goes to
// `onEvent(name, data)`. Host actions are events acknowledged with {ok, data | error}.
import { ref } from "vue";
import { io } from "socket.io-client";
import { api, ApiError, session } from "../../api.js";

// Counters are pushed as absolute values with a version that only grows (one per room,
// backend/livestream/room.py), and pushes can arrive out of order: each counter keeps the
// greatest version shown and an older push is dropped. A (re)join's state is as new as its
// version, for every counter. Counters: viewers, ticker, card (on screen), stock:<product>
// (what is left of it: ticker and card carry it), drop:<id>.
export function newestKeeper() {
  let floor = -1;
  let versions = {};
  return {
    reset(version) {
      floor = typeof version === "number" ? version : -1;
      versions = {};
    },
    /** Whether a push of `key` at `version` is not older than what is shown (then it is). */
    fresh(key, version) {
      if (typeof version !== "number") return true; // a server without versions
      if (version < Math.max(floor, versions[key] ?? -1)) return false;
      versions[key] = version;
      return true;
    },
  };
}

/** Joins session `sessionId`'s room. Returns { status (a ref: online | offline),
 * send(name, data) → the acknowledged data or an ApiError with the server's message,
 * close() }. */
export function joinRoom(sessionId, onEvent) {
  const status = ref("offline");
  const socket = io("/live", {
    transports: ["websocket"],
    auth: (callback) => callback({ token: session.get()?.accessToken }),
    reconnectionDelayMax: 10000,
  });
  socket.on("connect", async () => {
    status.value = "online";
    const joined = await socket.emitWithAck("join", { session_id: sessionId }).catch(() => null);
    onEvent("state", joined?.ok ? joined.data : null);
  });
  socket.on("disconnect", () => (status.value = "offline"));
  socket.on("connect_error", async (error) => {
    status.value = "offline";
    if (error?.data?.code === "auth.token_invalid") {
      // Most likely expired: any API call refreshes it; then try again with the new one.
      try {
        await api("/me");
        socket.connect();
      } catch {
        /* signed out: the app returns to the sign-in page */
      }
    }
  });
  socket.onAny((name, data) => onEvent(name, data));

  async function send(name, data = {}) {
    if (!socket.connected) throw new ApiError(0, "live.offline", "未连接直播间，请稍候重试");
    const reply = await socket.timeout(10000).emitWithAck(name, data).catch(() => null);
    if (!reply) throw new ApiError(0, "live.timeout", "直播间没有响应，请稍后重试");
    if (!reply.ok) throw new ApiError(0, reply.error.code, reply.error.message);
    return reply.data;
  }
  return { status, send, close: () => socket.disconnect() };
}
