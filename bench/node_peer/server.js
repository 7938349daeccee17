// The Node.js peer of bench/live_fanout.py: socket.io 4.8 doing what its BARE_SERVER does
// for python-socketio. Namespace /live, `join` enters the room and acks,
// `host:push_product` broadcasts the same card to the room (the host included, as
// python-socketio's emit to a room does) and acks. No auth, no Redis, no database.
// Usage: node server.js PORT CARD_JSON
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const card = JSON.parse(process.argv[3]);
const ROOM = "live:bare";

const httpServer = http.createServer();
// socket.io's defaults, said out loud: both transports (the bench's readiness probe is a
// polling handshake, its clients open websockets directly) and no permessage-deflate.
const io = new Server(httpServer, { perMessageDeflate: false, serveClient: false });
const live = io.of("/live");

live.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    socket.join(ROOM);
    if (typeof ack === "function") {
      ack({ ok: true, data: { session_id: (data || {}).session_id ?? null } });
    }
  });
  socket.on("host:push_product", (data, ack) => {
    live.to(ROOM).emit("product", card);
    if (typeof ack === "function") {
      ack({ ok: true, data: card });
    }
  });
});

httpServer.listen(port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
