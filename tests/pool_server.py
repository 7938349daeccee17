"""An API process of its own, with the pool its environment sets, for tests/test_db_pool.py.

The test suite's own app shares the suite's Tortoise connection (one per process), so a
small pool, or one behind PgBouncer, needs a process of its own. Beside the API it answers
`GET /test/pool` with this process's pool figures (backend/infra/pgpool.py), which asks
nothing of the database. Usage: python -m tests.pool_server PORT (settings from the
environment, as `b2bc serve` reads them).
"""

from __future__ import annotations

import sys

import uvicorn
from sanic import Request
from sanic.response import HTTPResponse, json

from backend.app import create_app
from backend.config import load_settings
from backend.infra.pgpool import pool_timeouts, pool_usage


def main(port: int) -> None:
    app = create_app(load_settings(), name="b2bc_pool_test")

    @app.get("/test/pool")
    async def pool(request: Request) -> HTTPResponse:
        return json({"timeouts": pool_timeouts(), **pool_usage()})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(int(sys.argv[1]))
