"""Redeeming consumers' e-coupons (电子券核销) and the brand's members (会员).

A consumer who checked an item got a coupon bound to that one code (checks.py). They show
its QR in the store that sold them the item; the store scans it here. Redeeming is one
transaction: the coupon's status moves issued → redeemed by a guarded update (two scans at
once: one wins, the other is told the coupon was redeemed), the item is marked sold by this
store if its scan-out was skipped (the store's stock follows), the brand pays the store the
coupon's value into its cash account through the ledger (cause CONSUMER_COUPON, once per
coupon), the consumer becomes a member attributed to this store if no store had them, and
the scan is recorded (REDEEM) after diversion had its look at it.

The brand reads every redemption, a distributor its stores', a store its own; the brand
lists its members, who are WeChat users and nothing more: no openid, no phone, ever.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from backend.catalog import service as catalog_service
from backend.codes import diversion, members
from backend.codes.errors import CodeNotFound, WrongKind
from backend.codes.lookup import FoundCode, find
from backend.codes.models import (
    BrandMember,
    CodeBatch,
    CodeCampaign,
    ConsumerCoupon,
    CouponStatus,
    ProductCode,
    ScanAction,
)
from backend.codes.tokens import coupon_token_in, item_serial, token_in
from backend.identity import service as identity_service
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import exports, sql
from backend.infra.exports import Column, Kind, Row
from backend.kernel.errors import Conflict, NotFound
from backend.ledger import service as ledger_service
from backend.org import service as org_service

CHINA = ZoneInfo("Asia/Shanghai")


class CouponNotFound(NotFound):
    """Unknown, forged, malformed or another brand's coupon: all the same to the store."""

    code = "codes.coupon_not_found"
    message = "找不到该电子券：请扫描顾客出示的本品牌电子券二维码"


class CouponRedeemed(Conflict):
    code = "codes.coupon_redeemed"
    message = "该券已核销，不能重复核销"


class CouponExpired(Conflict):
    code = "codes.coupon_expired"
    message = "该券已过期，不能核销"


class CouponOwn(Conflict):
    """A store's staff redeeming a coupon that they, or anyone of the same store, got by
    checking the item: the brand would pay the store for a sale to no consumer."""

    code = "codes.coupon_own"
    message = "本店人员领取的电子券不能在本店核销，请由顾客本人出示"


class CouponOtherStore(Conflict):
    code = "codes.coupon_other_store"
    message = "该券只能在售出该商品的门店核销"


def _instant(value: Any) -> datetime | None:
    """A timestamp as read by fixed SQL: asyncpg gives datetimes, SQLite ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def china_text(moment: datetime) -> str:
    """A moment as people in China read it in a message: "2026年12月05日 15:30"."""
    return moment.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")


# The coupon by its token, with its code's token (the scan starts from the code as every
# store scan does) and its campaign's name.
_COUPON = (
    "SELECT v.id, v.brand_id, v.campaign_id, v.code_id, v.user_id, v.value_fen, v.status,"
    " v.expires_at, v.store_id, v.redeemed_at, c.token AS code_token"
    " FROM consumer_coupons v JOIN product_codes c ON c.id = v.code_id"
    " WHERE v.token = $1"
)
# issued → redeemed, once: a second scan (or one racing this) changes nothing.
_REDEEM = (
    "UPDATE consumer_coupons SET status = $2, store_id = $3, redeemed_by_id = $4,"
    " redeemed_at = $5 WHERE id = $1 AND status = $6"
)
# The item sold by this store, unless its scan-out (or a racing one) sold it already.
_SELL = (
    "UPDATE product_codes SET sold_at = $2, store_id = $3"
    " WHERE id = $1 AND kind = 'item' AND sold_at IS NULL"
)
_SOLD_ONE = (
    "INSERT INTO store_code_stock (brand_id, store_id, sku_id, received, sold, updated_at)"
    " VALUES ($1, $2, $3, 0, 1, $4) ON CONFLICT (store_id, sku_id)"
    " DO UPDATE SET sold = store_code_stock.sold + 1, updated_at = $4"
)
_SCAN = (
    "INSERT INTO code_scans (brand_id, code_id, action, store_id, user_id, items, latitude,"
    " longitude, diverted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


@dataclass(frozen=True, slots=True)
class _Coupon:
    id: int
    brand_id: int
    campaign_id: int
    code_id: int
    user_id: int
    value_fen: int
    status: str
    expires_at: datetime
    store_id: int | None
    redeemed_at: datetime | None
    code_token: str


async def _coupon(text: str, brand_id: int) -> _Coupon:
    """The brand's coupon that the store's scanner read (its URL or bare token)."""
    token = coupon_token_in(text)
    if token is None:
        if "/c/" in text.lower() and token_in(text) is not None:
            raise WrongKind("这是商品上的码，请扫描顾客出示的电子券二维码")
        raise CouponNotFound()
    row = await sql.fetch_one(_COUPON, token)
    if row is None or row["brand_id"] != brand_id:
        raise CouponNotFound()
    expires_at = _instant(row["expires_at"])
    assert expires_at is not None
    return _Coupon(
        id=int(row["id"]),
        brand_id=int(row["brand_id"]),
        campaign_id=int(row["campaign_id"]),
        code_id=int(row["code_id"]),
        user_id=int(row["user_id"]),
        value_fen=int(row["value_fen"]),
        status=row["status"],
        expires_at=expires_at,
        store_id=row["store_id"],
        redeemed_at=_instant(row["redeemed_at"]),
        code_token=row["code_token"],
    )


def _redeemed(coupon: _Coupon, store_id: int) -> CouponRedeemed:
    """Why a redeemed coupon is refused: when, and whether here or elsewhere."""
    where = "本店" if coupon.store_id == store_id else "其他门店"
    when = china_text(coupon.redeemed_at) if coupon.redeemed_at else ""
    return CouponRedeemed(
        f"该券已于 {when} 在{where}核销，不能重复核销",
        details={
            "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
            "this_store": coupon.store_id == store_id,
        },
    )


def _check(
    coupon: _Coupon, code: FoundCode, principal: Principal, now: datetime, *, staff_held: bool
) -> None:
    """Refuse what may not be redeemed here, before anything is written."""
    store_id = principal.store_id
    assert store_id is not None
    if coupon.status == CouponStatus.REDEEMED:
        raise _redeemed(coupon, store_id)
    if coupon.user_id == principal.user_id or staff_held:
        raise CouponOwn()
    if coupon.expires_at <= now:
        raise CouponExpired(
            f"该券已于 {china_text(coupon.expires_at)} 过期，不能核销",
            details={"expires_at": coupon.expires_at.isoformat()},
        )
    # This store sold the item, or holds it: its box was received here.
    sold_here = code.sold_at is not None and code.item_store_id == store_id
    held_here = code.sold_at is None and code.box_store_id == store_id
    if not (sold_here or held_here):
        raise CouponOtherStore()


async def _product(brand_id: int, sku_id: int) -> dict[str, Any]:
    cards = await catalog_service.sku_cards(brand_id, [sku_id])
    return cards.get(sku_id) or {"sku_id": sku_id, "name": "", "spec": "", "image_url": ""}


async def redeem(
    principal: Principal,
    text: str,
    *,
    latitude: float | None,
    longitude: float | None,
    now: datetime,
    deps: Any = None,
) -> dict[str, Any]:
    """The store of `principal` redeems the coupon its scanner read (`text`). Refusals
    (unknown, another brand's, redeemed, expired, another store's item) write nothing."""
    assert principal.brand_id is not None and principal.store_id is not None
    brand_id, store_id = principal.brand_id, principal.store_id
    coupon = await _coupon(text, brand_id)
    try:
        code = await find(coupon.code_token, brand_id)
    except CodeNotFound as exc:  # its batch is no longer usable: the coupon is no good
        raise CouponNotFound() from exc
    staff_held = await identity_service.works_at_store(coupon.user_id, store_id)
    _check(coupon, code, principal, now, staff_held=staff_held)
    store = await org_service.store_profile(principal, store_id)
    async with sql.transaction():
        if not await sql.execute(
            _REDEEM,
            coupon.id,
            CouponStatus.REDEEMED.value,
            store_id,
            principal.user_id,
            now,
            CouponStatus.ISSUED.value,
        ):
            # Another scan redeemed it since we read it: tell this one what it lost to.
            raise _redeemed(await _coupon(text, brand_id), store_id)
        sold_now = False
        if code.sold_at is None and await sql.execute(_SELL, code.id, now, store_id):
            sold_now = True
            await sql.execute(_SOLD_ONE, brand_id, store_id, code.sku_id, now)
        await ledger_service.post(
            brand_id=brand_id,
            store_id=store_id,
            kind=ledger_service.AccountKind.CASH,
            amount=coupon.value_fen,
            cause=ledger_service.EntryCause.CONSUMER_COUPON,
            cause_id=coupon.id,
            order_id=ledger_service.NO_ORDER,
            now=now,
        )
        attributed = await members.attribute(brand_id, coupon.user_id, store_id, now)
        where = diversion.Surfaced(
            store_id=store_id,
            store_distributor_id=store.distributor_id,
            store_region_id=store.region_id,
            action=ScanAction.REDEEM.value,
            latitude=latitude,
            longitude=longitude,
        )
        diverted = await diversion.note_scan(code, where, now, deps) is not None
        await sql.execute(
            _SCAN,
            brand_id,
            code.id,
            ScanAction.REDEEM.value,
            store_id,
            principal.user_id,
            1 if sold_now else 0,
            latitude,
            longitude,
            diverted,
            now,
        )
    return {
        "coupon_id": coupon.id,
        "value_fen": coupon.value_fen,
        "redeemed_at": now.isoformat(),
        "product": await _product(brand_id, code.sku_id),
        "code": {"serial_text": item_serial(code.batch_no, code.serial)},
        "credited": {"kind": "cash", "amount_fen": coupon.value_fen},
        "sold_now": sold_now,
        "member_attributed": attributed,
        "diverted": diverted,
    }


# ---- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedemptionFilter:
    store_id: int | None = None
    distributor_id: int | None = None
    campaign_id: int | None = None
    sku_id: int | None = None
    first_day: date | None = None
    last_day: date | None = None


def _visible_redemptions(principal: Principal) -> QuerySet[ConsumerCoupon] | None:
    """The redeemed coupons the caller may see: the brand's, its distributor's stores', or
    its store's; None for anyone else."""
    query = ConsumerCoupon.filter(brand_id=principal.brand_id, status=CouponStatus.REDEEMED.value)
    if principal.role in BRAND_ROLES:
        return query
    if principal.role in DISTRIBUTOR_ROLES and principal.distributor_id is not None:
        return query.filter(store__distributor_id=principal.distributor_id)
    if principal.role in STORE_ROLES and principal.store_id is not None:
        return query.filter(store_id=principal.store_id)
    return None


async def _filtered(principal: Principal, wanted: RedemptionFilter) -> QuerySet[ConsumerCoupon]:
    query = _visible_redemptions(principal)
    if query is None:
        return ConsumerCoupon.filter(id__lt=0)
    if wanted.store_id is not None:
        query = query.filter(store_id=wanted.store_id)
    if wanted.distributor_id is not None:
        query = query.filter(store__distributor_id=wanted.distributor_id)
    if wanted.campaign_id is not None:
        query = query.filter(campaign_id=wanted.campaign_id)
    if wanted.sku_id is not None:
        batches = CodeBatch.filter(brand_id=principal.brand_id, sku_id=wanted.sku_id)
        batch_ids = await batches.values_list("id", flat=True)
        query = query.filter(code__batch_id__in=list(batch_ids) or [0])
    period = ledger_service.china_days(wanted.first_day, wanted.last_day)
    if period.since is not None:
        query = query.filter(redeemed_at__gte=period.since)
    if period.until is not None:
        query = query.filter(redeemed_at__lt=period.until)
    return query


async def list_redemptions(
    principal: Principal, wanted: RedemptionFilter, *, before: int | None, limit: int
) -> dict[str, Any]:
    """A page of redemptions, newest redeemed first (keyset on redeemed_at and id: `before`
    is the id of the last row shown), with the figures of everything the filter matches."""
    query = await _filtered(principal, wanted)
    # One row of totals: grouped by the brand (one value here), as Tortoise would otherwise
    # group by every column once the filter joins another table.
    totals = (
        await query.annotate(
            count=Count("id"), value=Sum("value_fen"), stores=Count("store_id", distinct=True)
        )
        .group_by("brand_id")
        .values("count", "value", "stores")
    )
    total = totals[0] if totals else {}
    figures = {
        "count": int(total.get("count") or 0),
        "value_fen": int(total.get("value") or 0),
        "stores": int(total.get("stores") or 0),
    }
    page = query
    if before is not None:
        last = await query.filter(id=before).first()
        if last is None or last.redeemed_at is None:
            return {"items": [], "next_before": None, "figures": figures}
        page = page.filter(
            Q(redeemed_at__lt=last.redeemed_at) | Q(redeemed_at=last.redeemed_at, id__lt=before)
        )
    rows = await page.order_by("-redeemed_at", "-id").limit(limit + 1)
    shown = rows[:limit]
    items = await _redemption_views(principal, shown)
    more = len(rows) > limit and shown
    return {"items": items, "next_before": shown[-1].id if more else None, "figures": figures}


async def _redemption_views(
    principal: Principal, coupons: list[ConsumerCoupon]
) -> list[dict[str, Any]]:
    brand_id = principal.brand_id
    assert brand_id is not None
    if not coupons:
        return []
    code_ids = [c.code_id for c in coupons]  # type: ignore[attr-defined]
    codes = {
        int(row["id"]): row
        for row in await ProductCode.filter(id__in=code_ids).values(
            "id", "serial", "batch_id", "batch__batch_no", "batch__sku_id"
        )
    }
    campaign_ids = {c.campaign_id for c in coupons}  # type: ignore[attr-defined]
    campaigns = dict(await CodeCampaign.filter(id__in=list(campaign_ids)).values_list("id", "name"))
    store_ids = [c.store_id for c in coupons if c.store_id is not None]  # type: ignore[attr-defined]
    stores = await org_service.store_cards(brand_id, store_ids)
    distributors = await org_service.names(
        brand_id, "distributor", [s["distributor_id"] for s in stores.values()]
    )
    # The member each coupon's consumer is (staff see the member's number, never the user).
    user_ids = list({c.user_id for c in coupons})  # type: ignore[attr-defined]
    member_ids = dict(
        await BrandMember.filter(brand_id=brand_id, user_id__in=user_ids).values_list(
            "user_id", "id"
        )
    )
    skus = await catalog_service.sku_cards(
        brand_id, [row["batch__sku_id"] for row in codes.values()]
    )
    views = []
    for coupon in coupons:
        code = codes[coupon.code_id]  # type: ignore[attr-defined]
        store = stores.get(coupon.store_id)  # type: ignore[attr-defined]
        sku = skus.get(code["batch__sku_id"], {"sku_id": code["batch__sku_id"], "name": ""})
        distributor_id = store["distributor_id"] if store else None
        views.append(
            {
                "id": coupon.id,
                "value_fen": coupon.value_fen,
                "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
                "issued_at": coupon.created_at.isoformat(),
                "store": {"id": store["id"], "name": store["name"]} if store else None,
                "distributor": (
                    {"id": distributor_id, "name": distributors.get(distributor_id, "")}
                    if distributor_id is not None
                    else None
                ),
                "campaign": {
                    "id": coupon.campaign_id,  # type: ignore[attr-defined]
                    "name": campaigns.get(coupon.campaign_id, ""),  # type: ignore[attr-defined]
                },
                "product": {"sku_id": sku["sku_id"], "name": sku["name"]},
                "code": {"serial_text": item_serial(code["batch__batch_no"], code["serial"])},
                "batch": {"id": code["batch_id"], "batch_no": code["batch__batch_no"]},
                "member_id": (
                    None if principal.role in STORE_ROLES else member_ids.get(coupon.user_id)  # type: ignore[attr-defined]
                ),
            }
        )
    return views


# ---- members ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberFilter:
    store_id: int | None = None
    distributor_id: int | None = None
    attributed: bool | None = None
    first_day: date | None = None
    last_day: date | None = None


async def list_members(
    principal: Principal, wanted: MemberFilter, *, before: int | None, limit: int
) -> dict[str, Any]:
    """A page of the brand's members, newest first, with how many coupons each got and
    redeemed, and the figures of everything the filter matches. Only what the brand may
    know: when they joined, which store brought them; never who they are."""
    brand_id = principal.brand_id
    assert brand_id is not None
    query = BrandMember.filter(brand_id=brand_id)
    if wanted.store_id is not None:
        query = query.filter(store_id=wanted.store_id)
    if wanted.distributor_id is not None:
        query = query.filter(store__distributor_id=wanted.distributor_id)
    if wanted.attributed is not None:
        query = query.filter(store_id__isnull=not wanted.attributed)
    period = ledger_service.china_days(wanted.first_day, wanted.last_day)
    if period.since is not None:
        query = query.filter(joined_at__gte=period.since)
    if period.until is not None:
        query = query.filter(joined_at__lt=period.until)
    total = await query.count()
    attributed = await query.filter(store_id__isnull=False).count()
    page = query.filter(id__lt=before) if before is not None else query
    rows = await page.order_by("-id").limit(limit + 1)
    shown = rows[:limit]
    more = len(rows) > limit and shown
    return {
        "items": await _member_views(brand_id, shown),
        "next_before": shown[-1].id if more else None,
        "figures": {"members": total, "attributed": attributed},
    }


async def _member_views(brand_id: int, rows: list[BrandMember]) -> list[dict[str, Any]]:
    if not rows:
        return []
    user_ids = [m.user_id for m in rows]  # type: ignore[attr-defined]
    counts = {
        int(row["user_id"]): row
        for row in await sql.fetch(
            "SELECT user_id, COUNT(*) AS coupons,"
            " SUM(CASE WHEN status = $2 THEN 1 ELSE 0 END) AS redeemed"
            " FROM consumer_coupons WHERE brand_id = $1 AND user_id IN ($3) GROUP BY user_id",
            brand_id,
            CouponStatus.REDEEMED.value,
            user_ids,
        )
    }
    names = await org_service.names(
        brand_id,
        "store",
        [m.store_id for m in rows if m.store_id is not None],  # type: ignore[attr-defined]
    )
    views = []
    for member in rows:
        store_id = member.store_id  # type: ignore[attr-defined]
        tally = counts.get(member.user_id)  # type: ignore[attr-defined]
        views.append(
            {
                "id": member.id,
                "joined_at": member.joined_at.isoformat(),
                "store": None
                if store_id is None
                else {"id": store_id, "name": names.get(store_id, "")},
                "attributed_at": member.attributed_at.isoformat() if member.attributed_at else None,
                "coupons": int(tally["coupons"]) if tally else 0,
                "redeemed": int(tally["redeemed"] or 0) if tally else 0,
            }
        )
    return views


# ---- export -----------------------------------------------------------------------------------

EXPORT_BATCH = 500
TABLE = exports.Table(
    "电子券核销",
    (
        Column("券编号", 10, Kind.NUMBER),
        Column("核销时间", 20, Kind.TIME),
        Column("门店", 24),
        Column("经销商", 20),
        Column("商品", 28),
        Column("物码序号", 22),
        Column("批次号", 16),
        Column("券面额（元）", 12, Kind.MONEY),
        Column("活动", 20),
        Column("领券时间", 20, Kind.TIME),
        Column("会员编号", 10, Kind.NUMBER),
    ),
    seconds=True,
)


def _at(text: str | None) -> datetime | None:
    return None if text is None else exports.china_time(datetime.fromisoformat(text))


def _export_row(view: dict[str, Any]) -> Row:
    return (
        view["id"],
        _at(view["redeemed_at"]),
        view["store"]["name"] if view["store"] else None,
        view["distributor"]["name"] if view["distributor"] else None,
        view["product"]["name"],
        view["code"]["serial_text"],
        view["batch"]["batch_no"],
        view["value_fen"],
        view["campaign"]["name"],
        _at(view["issued_at"]),
        view["member_id"],
    )


async def export_rows(
    principal: Principal, wanted: RedemptionFilter, size: int = EXPORT_BATCH
) -> AsyncIterator[list[Row]]:
    """The filtered redemptions in the order they were redeemed, one list per keyset batch
    of `size` (memory stays flat however many there are)."""
    query = await _filtered(principal, wanted)
    page = query
    while True:
        rows = await page.order_by("redeemed_at", "id").limit(size)
        if rows:
            yield [_export_row(view) for view in await _redemption_views(principal, rows)]
        if len(rows) < size:
            return
        last = rows[-1]
        page = query.filter(
            Q(redeemed_at__gt=last.redeemed_at) | Q(redeemed_at=last.redeemed_at, id__gt=last.id)
        )


def export_chunks(
    principal: Principal, wanted: RedemptionFilter, format: Literal["csv", "xlsx"]
) -> AsyncGenerator[bytes]:
    encode = exports.xlsx_chunks if format == "xlsx" else exports.csv_chunks
    return encode(TABLE, export_rows(principal, wanted))
