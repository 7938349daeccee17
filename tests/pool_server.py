"""An API process of its own, with the pool its environment sets, for tests/test_db_pool.py
and tests/test_pgbouncer.py.

The test suite's own app shares the suite's Tortoise connection (one per process), so a
small pool, or one behind PgBouncer, needs a process of its own. Beside the API it answers
`GET /test/pool` with this process's pool figures (backend/infra/pgpool.py), which asks
nothing of the database. Run by `api_process` below: python -m tests.pool_server PORT, with
its settings in the environment as `b2bc serve` reads them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def plain_url(database_url: str) -> str:
    """A database URL without its query (the suite's ?maxsize=; each process sets its own)."""
    return database_url.split("?", maxsplit=1)[0]


@contextlib.contextmanager
def api_process(database_url: str, redis_url: str, **env: str) -> Iterator[str]:
    """This module's server on a free port until the block ends; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    data_dir = tempfile.mkdtemp(prefix="b2bc-pool-")
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "B2BC_DATA_DIR": data_dir,
        "B2BC_PORT": str(port),
        "B2BC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "B2BC_ACCESS_LOG": "0",
        "B2BC_LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.pool_server", str(port)], env=environ, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the API process exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/test/pool").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the API process never answered")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)


def main(port: int) -> None:
    import uvicorn
    from sanic import Request
    from sanic.response import HTTPResponse, json

    from backend.app import create_app
    from backend.config import load_settings
    from backend.infra.pgpool import pool_timeouts, pool_usage

    app = create_app(load_settings(), name="b2bc_pool_test")

    @app.get("/test/pool")
    async def pool(request: Request) -> HTTPResponse:
        return json({"timeouts": pool_timeouts(), **pool_usage()})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(int(sys.argv[1]))
