"""Consumers' genuine checks (扫码验真) and the e-coupons they bring (一物一码电子券).

Any signed-in WeChat user may check an item's code: the answer says it is genuine, when it
was first checked and how many times. Every check counts (one guarded UPDATE of the code's
row, which also holds concurrent checks of the same code in line until this one commits),
writes a CHECK scan and makes the user a member of the brand.

If an active campaign covers the item's SKU now, the first consumer to check the code gets
its coupon: the campaign's `committed_fen` moves by a guarded UPDATE that never passes the
budget, then the coupon row is inserted (one per code: ON CONFLICT keeps the first). Later
checks by the same user show their coupon again; another user sees that it was taken.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.catalog import service as catalog_service
from backend.codes import members
from backend.codes.campaigns import covers, iso
from backend.codes.errors import WrongKind
from backend.codes.lookup import FoundCode, find
from backend.codes.models import CampaignStatus, CouponStatus, ScanAction
from backend.codes.tokens import coupon_url, item_serial, new_token
from backend.identity.access import Principal
from backend.infra import sql
from backend.kernel.money import yuan
from backend.org import service as org_service

TAKEN = "该商品的券已被领取"
SPENT = "活动券已发完"
CLOSED = "活动已结束"

_COUNT = (
    "UPDATE product_codes SET checks = checks + 1,"
    " first_checked_at = COALESCE(first_checked_at, $2)"
    " WHERE id = $1 RETURNING checks, first_checked_at"
)
_SCAN = (
    "INSERT INTO code_scans (brand_id, code_id, action, store_id, user_id, items, latitude,"
    " longitude, diverted, created_at) VALUES ($1, $2, $3, NULL, $4, 0, NULL, NULL, $5, $6)"
)
_COUPON_OF_CODE = (
    "SELECT id, user_id, token, value_fen, status, expires_at, redeemed_at, campaign_id"
    " FROM consumer_coupons WHERE code_id = $1"
)
# The campaigns running now (at most one covers a SKU: publishing refuses overlaps).
_RUNNING = (
    "SELECT id, name, sku_ids, coupon_value_fen, coupon_valid_days FROM code_campaigns"
    " WHERE brand_id = $1 AND status = $2 AND starts_at <= $3 AND ends_at > $3 ORDER BY id"
)
_COMMIT = (
    "UPDATE code_campaigns SET committed_fen = committed_fen + $2"
    " WHERE id = $1 AND status = $3 AND starts_at <= $4 AND ends_at > $4"
    " AND committed_fen + $2 <= budget_fen"
)
_STILL_RUNNING = (
    "SELECT id FROM code_campaigns"
    " WHERE id = $1 AND status = $2 AND starts_at <= $3 AND ends_at > $3"
)
_UNCOMMIT = "UPDATE code_campaigns SET committed_fen = committed_fen - $2 WHERE id = $1"
_GIVE = (
    "INSERT INTO consumer_coupons (brand_id, campaign_id, code_id, user_id, token, value_fen,"
    " status, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (code_id) DO NOTHING RETURNING id"
)

COUPON_STATUS_LABELS = {"issued": "可使用", "redeemed": "已核销", "expired": "已过期"}


def _instant(value: Any) -> datetime | None:
    """A timestamp as read: asyncpg gives datetimes, SQLite ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def coupon_state(status: str, expires_at: datetime, now: datetime) -> str:
    """issued, redeemed, or expired (an issued coupon past its time; no row changes)."""
    if status == CouponStatus.ISSUED.value and expires_at <= now:
        return "expired"
    return status


def coupon_view(row: Any, *, public_base_url: str, now: datetime) -> dict[str, Any]:
    expires_at = _instant(row["expires_at"])
    assert expires_at is not None
    state = coupon_state(row["status"], expires_at, now)
    return {
        "id": int(row["id"]),
        "token": row["token"],
        "qr_text": coupon_url(public_base_url, row["token"]),
        "value_fen": int(row["value_fen"]),
        "value_text": f"¥{yuan(int(row['value_fen']))}",
        "expires_at": iso(expires_at),
        "status": state,
        "status_label": COUPON_STATUS_LABELS.get(state, state),
        "redeemed_at": iso(_instant(row["redeemed_at"])),
    }


async def _product(code: FoundCode) -> dict[str, Any]:
    cards = await catalog_service.sku_cards(code.brand_id, [code.sku_id])
    return cards.get(
        code.sku_id, {"sku_id": code.sku_id, "name": "本品牌商品", "spec": "", "image_url": ""}
    )


async def _give(
    code: FoundCode, user_id: int, *, now: datetime
) -> tuple[dict[str, Any] | None, str, dict[str, Any] | None]:
    """(the coupon row of this user for the code, or None; the note why not; its
    campaign). Run inside the check's transaction, after the code's row is locked."""
    held = await sql.fetch_one(_COUPON_OF_CODE, code.id)
    if held is not None:
        if int(held["user_id"]) != user_id:
            return None, TAKEN, None
        campaign = await sql.fetch_one(
            "SELECT id, name FROM code_campaigns WHERE id = $1", held["campaign_id"]
        )
        return dict(held), "", dict(campaign) if campaign else None
    running = await sql.fetch(_RUNNING, code.brand_id, CampaignStatus.ACTIVE.value, now)
    campaign = next((row for row in running if covers(_sku_ids(row["sku_ids"]), code.sku_id)), None)
    if campaign is None:
        return None, "", None
    value = int(campaign["coupon_value_fen"])
    if not await sql.execute(_COMMIT, campaign["id"], value, CampaignStatus.ACTIVE.value, now):
        # Its budget is spent, or it ended while this check waited for the campaign's row.
        still = await sql.fetch_one(
            _STILL_RUNNING, campaign["id"], CampaignStatus.ACTIVE.value, now
        )
        return None, SPENT if still else CLOSED, None
    token = new_token()
    expires_at = now + timedelta(days=int(campaign["coupon_valid_days"]))
    given = await sql.fetch_one(
        _GIVE,
        code.brand_id,
        campaign["id"],
        code.id,
        user_id,
        token,
        value,
        CouponStatus.ISSUED.value,
        expires_at,
        now,
    )
    if given is None:  # another check gave it first: give the budget back
        await sql.execute(_UNCOMMIT, campaign["id"], value)
        return await _give(code, user_id, now=now)
    row = {
        "id": given["id"],
        "token": token,
        "value_fen": value,
        "status": CouponStatus.ISSUED.value,
        "expires_at": expires_at,
        "redeemed_at": None,
    }
    return row, "", {"id": campaign["id"], "name": campaign["name"]}


def _sku_ids(value: Any) -> list[int]:
    """A JSON column as read: asyncpg and SQLite give its text."""
    loaded = json.loads(value) if isinstance(value, str | bytes) else value
    return [int(sku_id) for sku_id in loaded or []]


async def check(
    principal: Principal, text: str, *, public_base_url: str, now: datetime
) -> dict[str, Any]:
    """Check one item's code for the signed-in user; see the module's docstring."""
    code = await find(text)
    if code.is_box:
        raise WrongKind("这是箱码，请扫商品上的码验真")
    async with sql.transaction():
        counted = await sql.fetch_one(_COUNT, code.id, now)
        assert counted is not None  # the code was just found, and codes are never deleted
        await sql.execute(
            _SCAN, code.brand_id, code.id, ScanAction.CHECK.value, principal.user_id, False, now
        )
        await members.join(code.brand_id, principal.user_id, now)
        coupon, note, campaign = await _give(code, principal.user_id, now=now)
    checks = int(counted["checks"])
    coupon_out = None
    if coupon is not None:
        coupon_out = coupon_view(coupon, public_base_url=public_base_url, now=now)
        coupon_out["campaign"] = campaign
    return {
        "genuine": True,
        "brand": {"id": code.brand_id, "name": await org_service.brand_name(code.brand_id)},
        "product": await _product(code),
        "batch": {
            "batch_no": code.batch_no,
            "produced_on": str(code.produced_on) if code.produced_on else None,
        },
        "code": {"serial_text": item_serial(code.batch_no, code.serial)},
        "first_checked_at": iso(_instant(counted["first_checked_at"])),
        "checks": checks,
        "first_check": checks == 1,
        "coupon": coupon_out,
        "coupon_note": note,
    }


# ---- the consumer's coupons ----------------------------------------------------------------------

_MINE = (
    "SELECT k.id, k.brand_id, k.token, k.value_fen, k.status, k.expires_at, k.redeemed_at,"
    " k.store_id, k.created_at, k.campaign_id, m.name AS campaign_name, t.sku_id"
    " FROM consumer_coupons k"
    " JOIN code_campaigns m ON m.id = k.campaign_id"
    " JOIN product_codes c ON c.id = k.code_id"
    " JOIN code_batches t ON t.id = c.batch_id"
    " WHERE k.user_id = $1 AND k.id < $2"
)
# The states a consumer filters by (an expired coupon is an issued one past its time): the
# condition on the coupon, $3 being now.
_STATE_SQL = {
    "issued": " AND k.status = 'issued' AND k.expires_at > $3",
    "expired": " AND k.status = 'issued' AND k.expires_at <= $3",
    "redeemed": " AND k.status = 'redeemed'",
}
_NEWEST = " ORDER BY k.id DESC LIMIT "
MAX_ID = 2**63 - 1


async def my_coupons(
    principal: Principal,
    *,
    state: str | None,
    before: int | None,
    limit: int,
    public_base_url: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The signed-in user's coupons of every brand, newest first (`limit` rows)."""
    condition = _STATE_SQL.get(state or "", "")
    args: list[Any] = [principal.user_id, before or MAX_ID]
    if "$3" in condition:
        args.append(now)
    statement = f"{_MINE}{condition}{_NEWEST}${len(args) + 1}"
    args.append(limit)
    rows = await sql.fetch(statement, *args)
    by_brand: dict[int, list[Any]] = {}
    for row in rows:
        by_brand.setdefault(int(row["brand_id"]), []).append(row)
    brands = {brand_id: await org_service.brand_name(brand_id) for brand_id in by_brand}
    products: dict[int, dict[int, dict[str, Any]]] = {}
    stores: dict[int, dict[int, str]] = {}
    for brand_id, found in by_brand.items():
        products[brand_id] = await catalog_service.sku_cards(
            brand_id, {int(row["sku_id"]) for row in found}
        )
        stores[brand_id] = await org_service.names(
            brand_id, "store", {int(row["store_id"]) for row in found if row["store_id"]}
        )
    views = []
    for row in rows:
        brand_id, sku_id = int(row["brand_id"]), int(row["sku_id"])
        view = coupon_view(row, public_base_url=public_base_url, now=now)
        store_id = row["store_id"]
        view.update(
            brand={"id": brand_id, "name": brands[brand_id]},
            product=products[brand_id].get(
                sku_id, {"sku_id": sku_id, "name": "本品牌商品", "spec": "", "image_url": ""}
            ),
            campaign={"id": int(row["campaign_id"]), "name": row["campaign_name"]},
            store=(
                {"id": int(store_id), "name": stores[brand_id].get(int(store_id), "")}
                if store_id
                else None
            ),
            created_at=iso(_instant(row["created_at"])),
        )
        views.append(view)
    return views
