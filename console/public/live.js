// The console's realtime link: Socket.IO namespace /console, signed in with the current access
// token. The server puts brand staff in their brand's room and distributor staff in their
// distributor's, so only complaints the viewer may read are announced.
import { io } from "socket.io-client";
import { api, session } from "./api.js";

export function connectLive({ onComplaintChanged, onStatus }) {
  const socket = io("/console", {
    transports: ["websocket"],
    auth: (callback) => callback({ token: session.get()?.accessToken }),
    reconnectionDelayMax: 10000,
  });
  socket.on("connect", () => onStatus("online"));
  socket.on("disconnect", () => onStatus("offline"));
  socket.on("connect_error", async (error) => {
    onStatus("offline");
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
  socket.on("complaint.changed", (event) => onComplaintChanged(event));
  return () => socket.disconnect();
}
