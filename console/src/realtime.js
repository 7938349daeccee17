// The console's one realtime link: Socket.IO namespace /console, signed in with the current
// access token. The server puts brand staff in their brand's room and distributor staff in
// their distributor's, so only what the viewer may read is announced. Pages subscribe to the
// events they show; the link opens with the first subscriber and closes with the last.
import { ref } from "vue";
import { io } from "socket.io-client";
import { api, session } from "./api.js";

export const liveStatus = ref("offline"); // online | offline
let socket = null;
const handlers = new Map(); // event -> Set(handler)

function connect() {
  socket = io("/console", {
    transports: ["websocket"],
    auth: (callback) => callback({ token: session.get()?.accessToken }),
    reconnectionDelayMax: 10000,
  });
  socket.on("connect", () => (liveStatus.value = "online"));
  socket.on("disconnect", () => (liveStatus.value = "offline"));
  socket.on("connect_error", async (error) => {
    liveStatus.value = "offline";
    if (error?.data?.code === "auth.token_invalid") {
      // Most likely expired: any API call refreshes it; then try again with the new one.
      try {
        await api("/me");
        socket?.connect();
      } catch {
        /* signed out: the app returns to the sign-in page */
      }
    }
  });
  socket.onAny((event, payload) => handlers.get(event)?.forEach((handler) => handler(payload)));
}

/** Calls `handler(payload)` on each `event` until the returned function is called. */
export function onLive(event, handler) {
  if (!socket) connect();
  if (!handlers.has(event)) handlers.set(event, new Set());
  handlers.get(event).add(handler);
  return () => {
    handlers.get(event)?.delete(handler);
    if ([...handlers.values()].every((set) => set.size === 0)) disconnectLive();
  };
}

export function disconnectLive() {
  socket?.disconnect();
  socket = null;
  liveStatus.value = "offline";
}
