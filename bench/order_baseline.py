"""Baseline for bench/order_placement.py: order placement in raw asyncpg on bare Sanic.

`POST /api/v1/orders` does the work our endpoint does, written by hand in one transaction:

* the caller's access token is verified (PyJWT, cached per token string, as our API caches
  it) and must be a store owner's or clerk's;
* the Idempotency-Key is claimed (`INSERT ... ON CONFLICT DO NOTHING`; a replay returns the
  stored answer);
* the store is read, then the SKUs (with their product), the distributor's stock rows and the
  matching price entries, and the lines are priced with the same pure functions our quote uses
  (backend.catalog.pricing, no ORM);
* stock is taken with guarded updates in SKU id order
  (`UPDATE distributor_skus SET stock = stock - $q WHERE ... AND stock >= $q`);
* the order, its lines (one pipelined executemany) and its first event are inserted, and the
  answer is stored on the idempotency record.

Started exactly like bench/bare_sanic.py (one process, `Sanic.serve_single`, no access log),
with an asyncpg pool of --pool connections (the same as ours in the comparison).

    .venv/bin/python bench/order_baseline.py --port 8101 --dsn postgres://... --data-dir DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg
import jwt
from sanic import Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from backend.catalog.pricing import PriceTier, RequestedLine, SkuOffer, quote_lines

STORE_ROLES = {"store_owner", "store_clerk"}
PAY_TIMEOUT = timedelta(minutes=30)


class Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        self.status = status
        self.code = code


def create_app(dsn: str, secret: str, pool_size: int) -> Sanic:
    app = Sanic("order_baseline")
    app.config.ACCESS_LOG = False

    @lru_cache(maxsize=50_000)
    def claims_of(token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_exp": False}
        )
        return claims

    @app.before_server_start
    async def start(app: Sanic) -> None:
        app.ctx.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await app.ctx.pool.close()

    @app.get("/")
    async def ready(request: Request) -> HTTPResponse:
        return json_response({"ok": True})

    @app.post("/api/v1/orders")
    async def place_order(request: Request) -> HTTPResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = claims_of(token.strip())
        except jwt.PyJWTError:
            return json_response({"error": "auth.token_invalid"}, status=401)
        if scheme.lower() != "bearer" or claims["exp"] <= datetime.now(UTC).timestamp():
            return json_response({"error": "auth.token_invalid"}, status=401)
        if claims.get("role") not in STORE_ROLES:
            return json_response({"error": "auth.role_required"}, status=403)
        key = (request.headers.get("idempotency-key") or "").strip()
        if not key or len(key) > 64:
            return json_response({"error": "idempotency.key_required"}, status=422)
        lines = request.json["lines"]
        requested = [RequestedLine(int(x["sku_id"]), int(x["quantity"])) for x in lines]
        try:
            async with request.app.ctx.pool.acquire() as conn, conn.transaction():
                status, result = await _place(conn, claims, key, request.body, requested)
        except Refused as exc:
            return json_response({"error": exc.code}, status=exc.status)
        return json_response(result, status=status)

    async def _place(
        conn: asyncpg.Connection,
        claims: dict[str, Any],
        key: str,
        body: bytes,
        requested: list[RequestedLine],
    ) -> tuple[int, Any]:
        now = datetime.now(UTC)
        user_id = int(claims["sub"])
        owner = f"user:{user_id}"
        claim_id = await conn.fetchval(
            "INSERT INTO idempotency_records (scope, owner, key, request_hash, created_at)"
            " VALUES ('order.place', $1, $2, $3, $4)"
            " ON CONFLICT (scope, owner, key) DO NOTHING RETURNING id",
            owner,
            key,
            hashlib.sha256(body).hexdigest(),
            now,
        )
        if claim_id is None:
            row = await conn.fetchrow(
                "SELECT response_status, response_body FROM idempotency_records"
                " WHERE scope = 'order.place' AND owner = $1 AND key = $2",
                owner,
                key,
            )
            return row["response_status"], json.loads(row["response_body"])
        store = await conn.fetchrow(
            "SELECT id, brand_id, distributor_id, salesperson_id, tier, status FROM stores"
            " WHERE id = $1 AND brand_id = $2",
            claims.get("stid"),
            claims.get("bid"),
        )
        if store is None or store["status"] != "active":
            raise Refused(404, "org.store_not_found")
        brand_id, distributor_id = store["brand_id"], store["distributor_id"]
        ids = sorted({line.sku_id for line in requested})
        skus = await conn.fetch(
            "SELECT s.id, s.name, s.unit, s.list_price_fen, s.case_size, s.min_order_qty,"
            " s.is_active AND p.is_active AS active, p.name AS product_name"
            " FROM skus s JOIN products p ON p.id = s.product_id"
            " WHERE s.id = ANY($1::bigint[]) AND s.brand_id = $2",
            ids,
            brand_id,
        )
        stock = {
            row["sku_id"]: row
            for row in await conn.fetch(
                "SELECT sku_id, is_available, stock FROM distributor_skus"
                " WHERE distributor_id = $1 AND sku_id = ANY($2::bigint[])",
                distributor_id,
                ids,
            )
        }
        tiers: dict[int, list[PriceTier]] = {sku_id: [] for sku_id in ids}
        for row in await conn.fetch(
            "SELECT sku_id, distributor_id, store_tier, min_qty, unit_price_fen"
            " FROM price_entries WHERE brand_id = $1 AND sku_id = ANY($2::bigint[])"
            " AND (distributor_id IS NULL OR distributor_id = $3)"
            " AND (store_tier IS NULL OR store_tier = $4)",
            brand_id,
            ids,
            distributor_id,
            store["tier"],
        ):
            tiers[row["sku_id"]].append(
                PriceTier(
                    row["min_qty"],
                    row["unit_price_fen"],
                    for_distributor=row["distributor_id"] is not None,
                    for_tier=row["store_tier"] is not None,
                )
            )
        offers = {}
        for sku in skus:
            row = stock.get(sku["id"])
            offers[sku["id"]] = SkuOffer(
                sku_id=sku["id"],
                product_name=sku["product_name"],
                sku_name=sku["name"],
                unit=sku["unit"],
                list_price_fen=sku["list_price_fen"],
                case_size=sku["case_size"],
                min_order_qty=sku["min_order_qty"],
                is_active=sku["active"],
                sold_here=row is not None and row["is_available"],
                stock=row["stock"] if row is not None else 0,
                tiers=tuple(tiers[sku["id"]]),
            )
        quote = quote_lines(offers, requested)
        if not quote.orderable:
            raise Refused(409, "order.lines_unavailable")
        for line in sorted(quote.lines, key=lambda line: line.sku_id):
            taken = await conn.execute(
                "UPDATE distributor_skus SET stock = stock - $1 WHERE distributor_id = $2"
                " AND sku_id = $3 AND is_available AND stock >= $1",
                line.quantity,
                distributor_id,
                line.sku_id,
            )
            if taken != "UPDATE 1":
                raise Refused(409, "order.lines_unavailable")  # rolls the transaction back
        order_no = f"{now:%y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"
        deadline = now + PAY_TIMEOUT
        order_id = await conn.fetchval(
            "INSERT INTO orders (order_no, brand_id, distributor_id, store_id, salesperson_id,"
            " placed_by_id, channel, status, list_amount_fen, discount_fen, payable_fen,"
            " pay_deadline, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, 'self', 'pending_payment', $7, $8, $9, $10,"
            " $11, $11) RETURNING id",
            order_no,
            brand_id,
            distributor_id,
            store["id"],
            store["salesperson_id"],
            user_id,
            quote.list_amount_fen,
            quote.discount_fen,
            quote.payable_fen,
            deadline,
            now,
        )
        await conn.executemany(
            "INSERT INTO order_lines (order_id, sku_id, product_name, sku_name, unit, quantity,"
            " list_unit_price_fen, unit_price_fen, list_amount_fen, discount_fen, payable_fen)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            [
                (
                    order_id,
                    line.sku_id,
                    line.product_name,
                    line.sku_name,
                    line.unit,
                    line.quantity,
                    line.list_unit_price_fen,
                    line.unit_price_fen,
                    line.list_amount_fen,
                    line.discount_fen,
                    line.payable_fen,
                )
                for line in quote.lines
            ],
        )
        await conn.execute(
            "INSERT INTO order_events (order_id, actor_id, actor_role, from_status, to_status,"
            " note, created_at) VALUES ($1, $2, $3, NULL, 'pending_payment', '', $4)",
            order_id,
            user_id,
            claims.get("role") or "",
            now,
        )
        result = {
            "id": order_id,
            "order_no": order_no,
            "store_id": store["id"],
            "distributor_id": distributor_id,
            "salesperson_id": store["salesperson_id"],
            "placed_by_user_id": user_id,
            "channel": "self",
            "status": "pending_payment",
            "status_name": "待付款",
            "list_amount_fen": quote.list_amount_fen,
            "discount_fen": quote.discount_fen,
            "payable_fen": quote.payable_fen,
            "pay_deadline": deadline.isoformat(),
            "created_at": now.isoformat(),
            "updated_at": now.isoformat(),
            "lines": [
                {
                    "sku_id": line.sku_id,
                    "product_name": line.product_name,
                    "sku_name": line.sku_name,
                    "unit": line.unit,
                    "quantity": line.quantity,
                    "list_unit_price_fen": line.list_unit_price_fen,
                    "unit_price_fen": line.unit_price_fen,
                    "list_amount_fen": line.list_amount_fen,
                    "discount_fen": line.discount_fen,
                    "payable_fen": line.payable_fen,
                }
                for line in quote.lines
            ],
            "timeline": [
                {
                    "from_status": None,
                    "to_status": "pending_payment",
                    "actor_user_id": user_id,
                    "actor_role": claims.get("role") or "",
                    "note": "",
                    "at": now.isoformat(),
                }
            ],
        }
        await conn.execute(
            "UPDATE idempotency_records SET response_status = 201, response_body = $1"
            " WHERE id = $2",
            json.dumps(result, ensure_ascii=False, separators=(",", ":")),
            claim_id,
        )
        return 201, result

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--data-dir", required=True, help="B2BC_DATA_DIR (its secrets.json)")
    parser.add_argument("--pool", type=int, default=5)
    args = parser.parse_args()
    secret = json.loads((Path(args.data_dir) / "secrets.json").read_text())["jwt_secret"]
    app = create_app(args.dsn, secret, args.pool)
    app.prepare(host=args.host, port=args.port, single_process=True, motd=False)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
