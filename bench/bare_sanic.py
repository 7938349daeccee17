"""Baseline for bench/auth_get.py: a bare Sanic hello-world JSON server.

Started exactly the way `b2bc serve --workers 1` starts the API (backend/cli.py: one process,
`prepare(single_process=True)`, then `Sanic.serve_single`), with the access log off, so the
two servers run the same process layout and the comparison is fair.

    .venv/bin/python bench/bare_sanic.py --port 8100
"""

from __future__ import annotations

import argparse

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json


def create_app() -> Sanic:
    app = Sanic("bare_hello")
    app.config.ACCESS_LOG = False

    @app.get("/")
    async def hello(request: Request) -> HTTPResponse:
        return json({"hello": "world"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    app = create_app()
    app.prepare(host=args.host, port=args.port, single_process=True, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
