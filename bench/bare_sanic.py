"""Baseline for bench/auth_get.py: a bare Sanic hello-world JSON server.

Runs Sanic's own server in a single process (one worker, no access log), the same way
`b2bc serve --workers 1` runs the API, so the two can be compared fairly.

    .venv/bin/python bench/bare_sanic.py --port 8100
"""

from __future__ import annotations

import argparse

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

app = Sanic("bare_hello")
app.config.ACCESS_LOG = False


@app.get("/")
async def hello(request: Request) -> HTTPResponse:
    return json({"hello": "world"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    app.run(
        host=args.host,
        port=args.port,
        workers=1,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
