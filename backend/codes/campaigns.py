"""Consumer campaigns (扫码领券活动): the brand writes one as a draft, publishes it, may add
budget or move its end while it runs, and ends it early; a consumer checking an item of its
SKUs inside its window gets an e-coupon bound to that code (backend/codes/checks.py).

Two active campaigns never cover one SKU at the same moment, so a checked item has at most
one campaign to give from. Publishing and moving an end take every campaign row of the
brand FOR UPDATE first, so two publishes at once are judged one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.functions import Count, Sum

from backend.catalog import service as catalog_service
from backend.codes.errors import Invalid
from backend.codes.models import CampaignStatus, CodeCampaign, ConsumerCoupon, CouponStatus
from backend.identity.access import BRAND_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict, NotFound
from backend.kernel.money import yuan

MAX_SKUS = 50
MAX_VALUE_FEN = 100_000  # ¥1,000 a coupon
MAX_VALID_DAYS = 365
MAX_BUDGET_FEN = 10_000_000_000  # ¥1 亿
MAX_WINDOW = timedelta(days=731)
# What the brand may still change once a campaign is out.
LIVE_FIELDS = frozenset({"budget_fen", "ends_at"})
BODY_FIELDS = (
    "name",
    "sku_ids",
    "starts_at",
    "ends_at",
    "coupon_value_fen",
    "coupon_valid_days",
    "budget_fen",
)

STATUS_LABELS = {
    CampaignStatus.DRAFT.value: "草稿",
    CampaignStatus.ACTIVE.value: "已发布",
    CampaignStatus.ENDED.value: "已提前结束",
}
PHASE_LABELS = {
    "draft": "草稿",
    "upcoming": "未开始",
    "running": "进行中",
    "finished": "已到期",
    "ended": "已提前结束",
}


# ---- errors --------------------------------------------------------------------------------


class CampaignNotFound(NotFound):
    code = "codes.campaign_not_found"
    message = "找不到该消费者活动"


class CampaignInvalid(Invalid):
    message = "活动内容有误"


class CampaignOverlap(Conflict):
    """Another active campaign covers one of the SKUs in an overlapping window; `details`
    names each: [{campaign_id, name, sku_ids}]."""

    code = "codes.campaign_overlap"
    message = "同一商品同一时间只能有一个进行中的活动"


class CampaignLocked(Conflict):
    code = "codes.campaign_locked"
    message = "活动已发布，只能追加预算或调整结束时间"


class CampaignNotDraft(Conflict):
    code = "codes.campaign_not_draft"
    message = "活动已发布，不能重复发布"


class CampaignNotActive(Conflict):
    code = "codes.campaign_not_active"
    message = "只有已发布的活动可以结束"


class CampaignEnded(Conflict):
    code = "codes.campaign_ended"
    message = "活动已结束，不能再修改"


# ---- what a campaign says ------------------------------------------------------------------------


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def problems(fields: dict[str, Any]) -> list[dict[str, str]]:
    """What is wrong across fields (each field's own bounds are the request model's)."""
    found = []
    if fields["ends_at"] <= fields["starts_at"]:
        found.append(problem("ends_at", "结束时间须晚于开始时间"))
    elif fields["ends_at"] - fields["starts_at"] > MAX_WINDOW:
        found.append(problem("ends_at", "活动时长不能超过两年"))
    if fields["budget_fen"] < fields["coupon_value_fen"]:
        found.append(problem("budget_fen", "预算不能少于一张券的面值"))
    return found


def phase(campaign: CodeCampaign, now: datetime) -> str:
    if campaign.status == CampaignStatus.DRAFT:
        return "draft"
    if campaign.status == CampaignStatus.ENDED:
        return "ended"
    if now < campaign.starts_at:
        return "upcoming"
    return "running" if now < campaign.ends_at else "finished"


def _actions(campaign: CodeCampaign, now: datetime) -> list[str]:
    if campaign.status == CampaignStatus.DRAFT:
        return ["edit", "publish"]
    if campaign.status == CampaignStatus.ACTIVE:
        return ["edit", "end"] if now < campaign.ends_at else ["edit"]
    return []


def covers(campaign_sku_ids: Iterable[int], sku_id: int) -> bool:
    return sku_id in set(campaign_sku_ids)


def campaign_view(
    campaign: CodeCampaign,
    *,
    skus: dict[int, dict[str, Any]],
    figures: dict[str, int],
    now: datetime,
) -> dict[str, Any]:
    current = phase(campaign, now)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "status_label": STATUS_LABELS.get(campaign.status, campaign.status),
        "phase": current,
        "phase_label": PHASE_LABELS[current],
        "sku_ids": list(campaign.sku_ids),
        "skus": [
            {"id": sku_id, "name": skus[sku_id]["name"], "spec": skus[sku_id]["spec"]}
            for sku_id in campaign.sku_ids
            if sku_id in skus
        ],
        "starts_at": iso(campaign.starts_at),
        "ends_at": iso(campaign.ends_at),
        "coupon_value_fen": campaign.coupon_value_fen,
        "coupon_text": f"¥{yuan(campaign.coupon_value_fen)} 到店抵扣券",
        "coupon_valid_days": campaign.coupon_valid_days,
        "budget_fen": campaign.budget_fen,
        "committed_fen": campaign.committed_fen,
        "budget_left_fen": max(0, campaign.budget_fen - campaign.committed_fen),
        "coupons_given": figures.get("given", 0),
        "coupons_redeemed": figures.get("redeemed", 0),
        "redeemed_fen": figures.get("redeemed_fen", 0),
        "editable": {"draft": "all", "active": "limited"}.get(campaign.status, "none"),
        "actions": _actions(campaign, now),
        "created_at": iso(campaign.created_at),
        "updated_at": iso(campaign.updated_at),
    }


async def _figures(brand_id: int, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Coupons given and redeemed per campaign, and what the redeemed ones were worth. (An
    index on consumer_coupons (campaign_id, status) would keep this quick for campaigns with
    very many coupons; the brand's own index bounds it meanwhile.)"""
    if not campaign_ids:
        return {}
    found: dict[int, dict[str, int]] = {
        campaign_id: {"given": 0, "redeemed": 0, "redeemed_fen": 0} for campaign_id in campaign_ids
    }
    rows = (
        await ConsumerCoupon.filter(brand_id=brand_id, campaign_id__in=list(campaign_ids))
        .annotate(count=Count("id"), worth=Sum("value_fen"))
        .group_by("campaign_id", "status")
        .values("campaign_id", "status", "count", "worth")
    )
    for row in rows:
        figures = found[int(row["campaign_id"])]
        figures["given"] += int(row["count"])
        if row["status"] == CouponStatus.REDEEMED.value:
            figures["redeemed"] += int(row["count"])
            figures["redeemed_fen"] += int(row["worth"] or 0)
    return found


async def _views(
    brand_id: int, campaigns: Sequence[CodeCampaign], now: datetime
) -> list[dict[str, Any]]:
    skus = await catalog_service.sku_cards(
        brand_id, {sku_id for campaign in campaigns for sku_id in campaign.sku_ids}
    )
    figures = await _figures(brand_id, [campaign.id for campaign in campaigns])
    return [
        campaign_view(campaign, skus=skus, figures=figures[campaign.id], now=now)
        for campaign in campaigns
    ]


async def _view(campaign: CodeCampaign, now: datetime) -> dict[str, Any]:
    return (await _views(campaign.brand_id, [campaign], now))[0]  # type: ignore[attr-defined]


# ---- who may ----------------------------------------------------------------------------------


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None or principal.role not in BRAND_ROLES:
        raise CampaignNotFound()
    return principal.brand_id


async def _owned(principal: Principal, campaign_id: int, *, lock: bool = False) -> CodeCampaign:
    campaigns = CodeCampaign.filter(id=campaign_id, brand_id=_brand_of(principal))
    campaign = await (campaigns.select_for_update() if lock else campaigns).first()
    if campaign is None:
        raise CampaignNotFound()
    return campaign


# Fixed SQL: the ORM drops FOR UPDATE from a values_list query.
_LOCK_CAMPAIGNS = "SELECT id FROM code_campaigns WHERE brand_id = $1 ORDER BY id FOR UPDATE"


async def _lock_brand_campaigns(brand_id: int) -> None:
    """Every campaign row of the brand, locked in id order until the transaction ends: the
    overlap check that follows is then judged against what every other publish committed.
    (SQLite has no row locks: its writing transactions already run one at a time.)"""
    if sql.is_postgres():
        await sql.fetch(_LOCK_CAMPAIGNS, brand_id)


async def _check_skus(brand_id: int, sku_ids: Sequence[int]) -> list[dict[str, str]]:
    known = await catalog_service.known_ids(brand_id, "sku", sku_ids)
    if missing := [sku_id for sku_id in sku_ids if sku_id not in known]:
        return [problem("sku_ids", f"商品不存在: {missing}")]
    return []


def _refuse(found: list[dict[str, str]]) -> None:
    if found:
        raise CampaignInvalid(found[0]["message"], details=found)


async def _refuse_overlap(
    brand_id: int,
    *,
    campaign_id: int,
    sku_ids: Sequence[int],
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """409 when another active campaign of the brand shares a SKU and a moment."""
    others = await CodeCampaign.filter(
        brand_id=brand_id,
        status=CampaignStatus.ACTIVE.value,
        starts_at__lt=ends_at,
        ends_at__gt=starts_at,
    ).exclude(id=campaign_id)
    wanted = set(sku_ids)
    clashes = [
        {"campaign_id": other.id, "name": other.name, "sku_ids": sorted(shared)}
        for other in others
        if (shared := wanted & set(other.sku_ids))
    ]
    if clashes:
        names = "、".join(f"「{clash['name']}」" for clash in clashes)
        raise CampaignOverlap(
            f"同一商品同一时间只能有一个进行中的活动：与{names}的商品和时间重叠",
            details=clashes,
        )


# ---- brand: writing campaigns ---------------------------------------------------------------


async def create_campaign(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A draft from a whole body (types and bounds checked, times in UTC)."""
    brand_id = _brand_of(principal)
    found = problems(fields)
    if fields["ends_at"] <= now:
        found.append(problem("ends_at", "结束时间须晚于现在"))
    _refuse(found or await _check_skus(brand_id, fields["sku_ids"]))
    campaign = await CodeCampaign.create(
        brand_id=brand_id,
        created_by_id=principal.user_id,
        status=CampaignStatus.DRAFT.value,
        committed_fen=0,
        created_at=now,
        updated_at=now,
        **{key: fields[key] for key in BODY_FIELDS},
    )
    return await _view(campaign, now)


async def list_campaigns(
    principal: Principal,
    *,
    status: str | None,
    sku_id: int | None,
    text: str | None,
    before: int | None,
    limit: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The brand's campaigns, newest first (`limit` rows; SKU filtered here: it is JSON)."""
    brand_id = _brand_of(principal)
    campaigns = CodeCampaign.filter(brand_id=brand_id)
    if status is not None:
        campaigns = campaigns.filter(status=status)
    if text:
        campaigns = campaigns.filter(name__icontains=text)
    found: list[CodeCampaign] = []
    while len(found) < limit:
        page = campaigns if before is None else campaigns.filter(id__lt=before)
        batch = await page.order_by("-id").limit(limit)
        if not batch:
            break
        found.extend(c for c in batch if sku_id is None or covers(c.sku_ids, sku_id))
        before = batch[-1].id
    return await _views(brand_id, found[:limit], now)


async def get_campaign(principal: Principal, campaign_id: int, *, now: datetime) -> dict[str, Any]:
    return await _view(await _owned(principal, campaign_id), now)


def _refuse_live_change(
    campaign: CodeCampaign, differing: dict[str, Any], now: datetime
) -> list[dict[str, str]]:
    """A published campaign: only more budget, and an end that is still ahead."""
    if set(differing) - LIVE_FIELDS:
        raise CampaignLocked()
    if differing.get("budget_fen", campaign.budget_fen) < campaign.budget_fen:
        raise CampaignLocked(f"活动已发布，预算只能增加（当前 ¥{yuan(campaign.budget_fen)}）")
    if "ends_at" in differing and differing["ends_at"] <= now:
        return [problem("ends_at", "结束时间须晚于现在")]
    return []


async def update_campaign(
    principal: Principal, campaign_id: int, changes: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A draft changes freely; a published campaign only in budget (up) and end (ahead, and
    still clear of other campaigns); an ended one not at all. A refused change writes
    nothing."""
    brand_id = _brand_of(principal)
    async with sql.transaction():
        await _lock_brand_campaigns(brand_id)
        campaign = await _owned(principal, campaign_id, lock=True)
        if campaign.status == CampaignStatus.ENDED:
            raise CampaignEnded()
        current = {key: getattr(campaign, key) for key in BODY_FIELDS}
        differing = {key: value for key, value in changes.items() if current[key] != value}
        if not differing:
            return await _view(campaign, now)
        found: list[dict[str, str]] = []
        if campaign.status == CampaignStatus.ACTIVE:
            found = _refuse_live_change(campaign, differing, now)
        merged = {**current, **differing}
        found = found or problems(merged)
        if not found and "sku_ids" in differing:
            found = await _check_skus(brand_id, merged["sku_ids"])
        _refuse(found)
        if campaign.status == CampaignStatus.ACTIVE and "ends_at" in differing:
            await _refuse_overlap(
                brand_id,
                campaign_id=campaign.id,
                sku_ids=campaign.sku_ids,
                starts_at=campaign.starts_at,
                ends_at=merged["ends_at"],
            )
        for key, value in differing.items():
            setattr(campaign, key, value)
        campaign.updated_at = now
        await campaign.save(update_fields=[*differing, "updated_at"])
    return await _view(campaign, now)


async def publish_campaign(
    principal: Principal, campaign_id: int, *, now: datetime
) -> dict[str, Any]:
    """Out: consumers checking its SKUs inside its window get coupons from now on."""
    brand_id = _brand_of(principal)
    async with sql.transaction():
        await _lock_brand_campaigns(brand_id)
        campaign = await _owned(principal, campaign_id, lock=True)
        if campaign.status != CampaignStatus.DRAFT:
            raise CampaignNotDraft()
        found = []
        if campaign.ends_at <= now:
            found.append(problem("ends_at", "结束时间已过，请修改后再发布"))
        _refuse(found or await _check_skus(brand_id, campaign.sku_ids))
        await _refuse_overlap(
            brand_id,
            campaign_id=campaign.id,
            sku_ids=campaign.sku_ids,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
        )
        campaign.status = CampaignStatus.ACTIVE.value
        campaign.updated_at = now
        await campaign.save(update_fields=["status", "updated_at"])
    return await _view(campaign, now)


async def end_campaign(principal: Principal, campaign_id: int, *, now: datetime) -> dict[str, Any]:
    """No coupon is given from it after this; coupons already given stay valid."""
    async with sql.transaction():
        campaign = await _owned(principal, campaign_id, lock=True)
        if campaign.status != CampaignStatus.ACTIVE:
            raise CampaignNotActive()
        campaign.status = CampaignStatus.ENDED.value
        campaign.updated_at = now
        await campaign.save(update_fields=["status", "updated_at"])
    return await _view(campaign, now)
