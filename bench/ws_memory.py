"""Memory per websocket connection: python-socketio under uvicorn with its defaults (the bare
baseline) against the websocket settings our realtime process uses (`REALTIME_WEBSOCKETS` in
backend/cli.py: realtime/transport.py's protocol, no transport keepalive, no
permessage-deflate), for clients that offer permessage-deflate (browsers, python's websockets)
and clients that do not (WeChat's wx.connectSocket by default).

For each (server settings, client kind) in one run: a server process with a bare Socket.IO
namespace starts on a loopback port; a client process opens --clients connections (Engine.IO
handshake, Socket.IO connect to /live) and asks the server, over one of them, for its
resident memory (VmRSS) before and after; the figure is the growth per connection. Only
python-socketio and uvicorn run in the server: what differs is the websocket layer.

    .venv/bin/python bench/ws_memory.py                 # 1,000 connections per case
    .venv/bin/python bench/ws_memory.py --clients 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench_common import free_port

from backend.cli import REALTIME_WEBSOCKETS

SERVER = """
import json, sys
import socketio, uvicorn

port, settings = int(sys.argv[1]), json.loads(sys.argv[2])
sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])

@sio.on("connect", namespace="/live")
async def connect(sid, environ, auth):
    return None

@sio.on("rss", namespace="/live")
async def rss(sid, data=None):
    import gc
    gc.collect()
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])

uvicorn.run(socketio.ASGIApp(sio), host="127.0.0.1", port=port, log_config=None, **settings)
"""

CLIENT = """
import asyncio, json, sys
import websockets

port, count, deflate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
URL = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"

async def connect(held):
    ws = await websockets.connect(URL, compression="deflate" if deflate else None)
    await ws.recv()                      # Engine.IO open
    await ws.send("40/live,{}")          # Socket.IO connect
    await ws.recv()
    held.append(ws)

async def rss(ws):
    await ws.send('42/live,1["rss"]')
    while True:
        message = await ws.recv()
        if message == "2":
            await ws.send("3")           # Engine.IO ping
        elif message.startswith("43/live,1"):
            return json.loads(message[len("43/live,1"):])[0]

async def main():
    held = []
    await connect(held)
    before = await rss(held[0])
    for _ in range(0, count, 100):
        await asyncio.gather(*(connect(held) for _ in range(100)))
    await asyncio.sleep(1)
    after = await rss(held[0])
    print(json.dumps({"before": before, "after": after, "n": len(held) - 1}))
    for ws in held:
        await ws.close()

asyncio.run(main())
"""


def measure(settings: dict[str, object], clients: int, deflate: bool) -> float:
    """KB of server memory per connection."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), json.dumps(settings)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.5)
        answer = subprocess.run(
            [sys.executable, "-c", CLIENT, str(port), str(clients), "1" if deflate else "0"],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        figures = json.loads(answer.stdout.strip().splitlines()[-1])
        return float(figures["after"] - figures["before"]) / figures["n"]
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    args = parser.parse_args()
    cases = [("bare (uvicorn defaults)", {}), ("ours (REALTIME_WEBSOCKETS)", REALTIME_WEBSOCKETS)]
    print(f"server memory per connection, {args.clients:,} connections per case")
    print(f"{'server':<28}{'client offers deflate':>24}{'client without deflate':>26}")
    for name, settings in cases:
        with_deflate = measure(settings, args.clients, deflate=True)
        without = measure(settings, args.clients, deflate=False)
        print(f"{name:<28}{with_deflate:>21.1f} KB{without:>23.1f} KB")
    print("deflate: browsers and python's websockets offer it; wx.connectSocket not by default")


if __name__ == "__main__":
    main()
