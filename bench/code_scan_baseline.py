"""Baseline for bench/code_scans.py: the scan's token lookup in raw asyncpg on bare Sanic.

`POST /api/v1/codes/scans` here does only what every scan must do before its business:

* verifies the caller's access token (PyJWT, cached per token string, as our API caches it)
  and requires a store owner's or clerk's;
* reads `{code, action}` from the JSON body and the token out of the scanned URL
  (backend.codes.tokens.token_in, pure);
* reads the code with its box and batch by the same fixed SQL as backend/codes/lookup.py
  (one indexed read on product_codes.token, from an asyncpg pool of --pool connections);
* answers 200 with a few of the columns read (404 for an unknown code).

No transaction, no write, no stock, reward or scan row: the floor under our endpoint's
latency on the same HTTP server and the same database.

Started exactly like bench/bare_sanic.py (one process, `Sanic.serve_single`, no access log).

    .venv/bin/python bench/code_scan_baseline.py --port 8102 --dsn postgres://... --data-dir DIR
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from backend.codes.lookup import _FIND
from backend.codes.tokens import token_in

STORE_ROLES = {"store_owner", "store_clerk"}


def create_app(dsn: str, secret: str, pool_size: int) -> Sanic:
    app = Sanic("code_scan_baseline")
    app.config.ACCESS_LOG = False

    @lru_cache(maxsize=50_000)
    def claims_of(token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_exp": False}
        )
        return claims

    @app.before_server_start
    async def start(app: Sanic) -> None:
        app.ctx.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await app.ctx.pool.close()

    @app.get("/")
    async def ready(request: Request) -> HTTPResponse:
        return json_response({"ok": True})

    @app.post("/api/v1/codes/scans")
    async def scan(request: Request) -> HTTPResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = claims_of(token.strip())
        except jwt.PyJWTError:
            return json_response({"error": "auth.token_invalid"}, status=401)
        if scheme.lower() != "bearer" or claims["exp"] <= datetime.now(UTC).timestamp():
            return json_response({"error": "auth.token_invalid"}, status=401)
        if claims.get("role") not in STORE_ROLES:
            return json_response({"error": "auth.role_required"}, status=403)
        body = request.json
        code = token_in(str(body.get("code", "")))
        if code is None or body.get("action") not in ("receive", "sell"):
            return json_response({"error": "codes.invalid"}, status=400)
        row = await request.app.ctx.pool.fetchrow(_FIND, code)
        if row is None or row["batch_status"] != "ready":
            return json_response({"error": "codes.not_found"}, status=404)
        return json_response(
            {
                "action": body["action"],
                "code": {"kind": row["kind"], "serial": row["serial"]},
                "product": {"sku_id": row["sku_id"]},
                "box": {"id": row["box_id"], "store_id": row["box_store_id"]},
            }
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--data-dir", required=True, help="B2BC_DATA_DIR (its secrets.json)")
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    secret = json.loads((Path(args.data_dir) / "secrets.json").read_text())["jwt_secret"]
    app = create_app(args.dsn, secret, args.pool)
    app.prepare(host=args.host, port=args.port, single_process=True, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
