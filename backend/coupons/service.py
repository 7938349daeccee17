"""Coupons: templates (brand), issuance in batches and every month, claims by stores, the
wallet, and use at checkout, once, given back when the order is cancelled or refunded.

Every count that must not be exceeded moves by a guarded update: a template's issued_count
(its stock), a coupon's status (one order holds it), an issuance's last_period (one process
issues each month). A store's own claims are counted under a lock on the store's row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from backend.catalog import service as catalog_service
from backend.coupons.models import (
    ClaimStatus,
    Coupon,
    CouponEvent,
    CouponEventKind,
    CouponIssuance,
    CouponKind,
    CouponSource,
    CouponStatus,
    CouponTemplate,
    IssuanceSchedule,
    TemplateStatus,
    VoucherClaim,
    VoucherClaimItem,
)
from backend.coupons.terms import Effect, PayableLine, Refusal, Terms, apply
from backend.identity import service as identity_service
from backend.identity.access import DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import sql
from backend.infra.logging import get_logger
from backend.kernel import money
from backend.kernel.errors import Conflict, InvalidInput, NotFound
from backend.kernel.ports import Port
from backend.ledger import service as ledger_service
from backend.notifications import service as notifications_service
from backend.org import service as org_service
from backend.promotions import service as promotions_service

log = get_logger("coupons")
AUDIENCE_KEYS = ("distributor_ids", "region_ids", "tiers", "tags")


class TemplateNotFound(NotFound):
    code = "coupon.template_not_found"
    message = "找不到该优惠券"


class CouponNotFound(NotFound):
    code = "coupon.not_found"
    message = "找不到该优惠券"


class InvalidTerms(InvalidInput):
    code = "coupon.invalid_terms"
    message = "优惠券规则有误"


class UnknownReference(InvalidInput):
    code = "coupon.unknown_reference"
    message = "优惠券引用了不存在的商品、分类、经销商或区域"


class TemplateEnded(Conflict):
    code = "coupon.template_ended"
    message = "该优惠券已停止发放"


class OutOfStock(Conflict):
    code = "coupon.out_of_stock"
    message = "优惠券已发完"


class ClaimLimitReached(Conflict):
    code = "coupon.claim_limit_reached"
    message = "已达到该券的领取上限"


class NotClaimable(Conflict):
    code = "coupon.not_claimable"
    message = "该优惠券不可领取"


class NotYours(Conflict):
    code = "coupon.not_yours"
    message = "这张优惠券不属于该门店"


class AlreadyUsed(Conflict):
    code = "coupon.already_used"
    message = "这张优惠券已被使用"


class Expired(Conflict):
    code = "coupon.expired"
    message = "这张优惠券已过期"


class NotStarted(Conflict):
    code = "coupon.not_started"
    message = "这张优惠券还未到可用时间"


class NotApplicable(Conflict):
    code = "coupon.not_applicable"
    message = "这张优惠券不适用于当前订单"


# ---- views ----------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _terms(template: CouponTemplate) -> Terms:
    return Terms.from_stored(template.kind, template.terms)


def template_view(template: CouponTemplate) -> dict[str, Any]:
    left = (
        None if template.total_quantity is None else template.total_quantity - template.issued_count
    )
    return {
        "id": template.id,
        "name": template.name,
        "kind": template.kind,
        "status": template.status,
        "description": _terms(template).describe(),
        "terms": template.terms,
        "audience": template.audience,
        "valid_from": _iso(template.valid_from),
        "valid_until": _iso(template.valid_until),
        "valid_days": template.valid_days,
        "total_quantity": template.total_quantity,
        "issued_count": template.issued_count,
        "left": left,
        "per_store_limit": template.per_store_limit,
        "claimable": template.claimable,
        "created_at": _iso(template.created_at),
    }


def coupon_state(coupon: Coupon, now: datetime) -> str:
    """available, used, expired or not_started, as the wallet shows it."""
    if coupon.status == CouponStatus.USED:
        return "used"
    if coupon.valid_until <= now:
        return "expired"
    if coupon.valid_from > now:
        return "not_started"
    return "available"


STATE_LABELS = {
    "available": "可使用",
    "used": "已使用",
    "expired": "已过期",
    "not_started": "未生效",
}


def _exchange_sku_ids(templates: Iterable[CouponTemplate]) -> set[int]:
    return {
        int(item["sku_id"])
        for template in templates
        if template.kind == CouponKind.EXCHANGE
        for item in template.terms.get("exchange", ())
    }


async def _exchange_skus(
    brand_id: int, templates: Iterable[CouponTemplate]
) -> dict[int, catalog_service.SkuSummary]:
    """The SKUs the exchange vouchers among `templates` give, named: one query for them all."""
    return await catalog_service.sku_summaries(brand_id, _exchange_sku_ids(templates))


def exchange_view(
    template: CouponTemplate, skus: Mapping[int, catalog_service.SkuSummary]
) -> list[dict[str, Any]]:
    """What an exchange voucher gives, SKU by SKU, named (empty for other kinds)."""
    if template.kind != CouponKind.EXCHANGE:
        return []
    listed = []
    for item in template.terms.get("exchange", ()):
        sku = skus.get(int(item["sku_id"]))
        listed.append(
            {
                "sku_id": item["sku_id"],
                "quantity": item["quantity"],
                "product_id": None if sku is None else sku.product_id,
                "product_name": "" if sku is None else sku.product_name,
                "sku_name": "" if sku is None else sku.sku_name,
                "unit": "" if sku is None else sku.unit,
            }
        )
    return listed


def coupon_view(
    coupon: Coupon,
    template: CouponTemplate,
    now: datetime,
    skus: Mapping[int, catalog_service.SkuSummary] | None = None,
) -> dict[str, Any]:
    """A coupon as its store sees it; `skus` names what an exchange voucher gives."""
    state = coupon_state(coupon, now)
    return {
        "id": coupon.id,
        "template_id": template.id,
        "name": template.name,
        "kind": template.kind,
        "description": _terms(template).describe(),
        "exchange": exchange_view(template, skus or {}),
        "state": state,
        "state_label": STATE_LABELS[state],
        "valid_from": _iso(coupon.valid_from),
        "valid_until": _iso(coupon.valid_until),
        "order_id": coupon.order_id,  # type: ignore[attr-defined]
        "source": coupon.source,
        "issued_at": _iso(coupon.issued_at),
    }


def issuance_view(issuance: CouponIssuance) -> dict[str, Any]:
    return {
        "id": issuance.id,
        "template_id": issuance.template_id,  # type: ignore[attr-defined]
        "audience": issuance.audience,
        "schedule": issuance.schedule,
        "day_of_month": issuance.day_of_month,
        "last_period": issuance.last_period,
        "active": issuance.active,
        "issued_total": issuance.issued_total,
        "created_at": _iso(issuance.created_at),
    }


# ---- templates (brand) ----------------------------------------------------------------------


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:  # the routes admit brand roles only, which carry a brand
        raise TemplateNotFound()
    return principal.brand_id


def _problems(fields: dict[str, Any]) -> list[dict[str, str]]:
    """What makes a template contradictory, each naming its field."""
    problems = []
    terms, kind = fields["terms"], fields["kind"]

    def problem(field: str, code: str, message: str) -> None:
        problems.append({"field": field, "code": code, "message": message})

    if kind == CouponKind.REDUCTION and terms["amount_off_fen"] >= terms["threshold_fen"]:
        problem("terms.amount_off_fen", "reduction_not_below_threshold", "减免金额须小于使用门槛")
    if kind == CouponKind.EXCHANGE and (terms["sku_ids"] or terms["category_ids"]):
        problem("terms", "exchange_with_scope", "兑换券用兑换商品指定范围，不另设适用商品或分类")
    fixed = fields["valid_from"] is not None or fields["valid_until"] is not None
    if fixed == (fields["valid_days"] is not None):
        problem("valid_days", "validity_ambiguous", "有效期请二选一：固定起止时间，或领取后若干天")
    elif fixed and (fields["valid_from"] is None or fields["valid_until"] is None):
        problem("valid_until", "validity_incomplete", "固定有效期须同时设置开始和结束时间")
    elif fixed and fields["valid_until"] <= fields["valid_from"]:
        problem("valid_until", "validity_reversed", "结束时间须晚于开始时间")
    return problems


async def create_template(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    brand_id = _brand_of(principal)
    if problems := _problems(fields):
        raise InvalidTerms(problems[0]["message"], details=problems)
    terms, audience = fields["terms"], fields["audience"]
    exchange_skus = {item["sku_id"] for item in terms["exchange"]}
    await promotions_service.refuse_unknown_references(
        brand_id,
        {
            "sku": set(terms["sku_ids"]) | exchange_skus,
            "category": set(terms["category_ids"]),
            "distributor": set(audience["distributor_ids"]),
            "region": set(audience["region_ids"]),
        },
        UnknownReference,
    )
    template = await CouponTemplate.create(
        brand_id=brand_id, created_by_id=principal.user_id, created_at=now, updated_at=now, **fields
    )
    return template_view(template)


async def _template(principal: Principal, template_id: int) -> CouponTemplate:
    template = await CouponTemplate.get_or_none(id=template_id, brand_id=_brand_of(principal))
    if template is None:
        raise TemplateNotFound()
    return template


async def get_template(principal: Principal, template_id: int) -> dict[str, Any]:
    return template_view(await _template(principal, template_id))


async def brand_templates(brand_id: int, template_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The brand's templates among `template_ids`, by id (one query; another brand's or a
    missing one is left out)."""
    if not template_ids:
        return {}
    found = await CouponTemplate.filter(id__in=template_ids, brand_id=brand_id)
    return {template.id: template_view(template) for template in found}


async def template_detail(
    principal: Principal, template_id: int, *, now: datetime
) -> dict[str, Any]:
    """A template with its use figures, as brand staff see it."""
    template = await _template(principal, template_id)
    figures = await template_figures([template.id], now)
    return {**template_view(template), "figures": figures[template.id]}


async def list_templates(
    principal: Principal,
    *,
    status: str | None,
    kind: str | None,
    before: int | None,
    limit: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The brand's templates newest first, each with its use figures (one query per page)."""
    templates = CouponTemplate.filter(brand_id=_brand_of(principal))
    if status is not None:
        templates = templates.filter(status=status)
    if kind is not None:
        templates = templates.filter(kind=kind)
    if before is not None:
        templates = templates.filter(id__lt=before)
    found = await templates.order_by("-id").limit(limit)
    figures = await template_figures([t.id for t in found], now)
    return [{**template_view(t), "figures": figures[t.id]} for t in found]


NO_FIGURES = {"issued": 0, "claimed": 0, "used": 0, "expired": 0}


async def template_figures(template_ids: Sequence[int], now: datetime) -> dict[int, dict[str, int]]:
    """How each template's coupons fared: issued by the brand (batches, live drops), claimed
    by stores in the 领券中心, used in an order now, and expired unused. One grouped count over
    the (template_id, store_id) index for a whole page of templates."""
    found = {template_id: dict(NO_FIGURES) for template_id in template_ids}
    if not template_ids:
        return found
    rows = await sql.fetch(
        "SELECT template_id,"
        " SUM(CASE WHEN source = $1 THEN 0 ELSE 1 END) AS issued,"
        " SUM(CASE WHEN source = $1 THEN 1 ELSE 0 END) AS claimed,"
        " SUM(CASE WHEN status = $2 THEN 1 ELSE 0 END) AS used,"
        " SUM(CASE WHEN status = $3 AND valid_until <= $4 THEN 1 ELSE 0 END) AS expired"
        " FROM coupons WHERE template_id IN ($5) GROUP BY template_id",
        CouponSource.CLAIM.value,
        CouponStatus.USED.value,
        CouponStatus.AVAILABLE.value,
        now,
        list(template_ids),
    )
    for row in rows:
        found[int(row["template_id"])] = {key: int(row[key] or 0) for key in NO_FIGURES}
    return found


async def set_claiming(
    principal: Principal, template_id: int, *, claimable: bool, per_store_limit: int, now: datetime
) -> dict[str, Any]:
    """The 领券中心 settings of an active template: whether stores may claim it there, and how
    many each may claim (coupons already claimed stay). An ended template is refused (409)."""
    template = await _template(principal, template_id)
    changed = await CouponTemplate.filter(
        id=template.id, status=TemplateStatus.ACTIVE.value
    ).update(claimable=claimable, per_store_limit=per_store_limit, updated_at=now)
    if not changed:
        raise TemplateEnded("该优惠券已停止发放，不能再设置领券中心")
    return await template_detail(principal, template.id, now=now)


async def end_template(principal: Principal, template_id: int, *, now: datetime) -> dict[str, Any]:
    """Stop issuing and claiming; coupons already in wallets stay usable until they expire."""
    template = await _template(principal, template_id)
    await CouponTemplate.filter(id=template.id).update(
        status=TemplateStatus.ENDED.value, updated_at=now
    )
    await CouponIssuance.filter(template_id=template.id).update(active=False)
    return await template_detail(principal, template.id, now=now)


# ---- issuing --------------------------------------------------------------------------------


def _validity(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    if template.valid_days is not None:
        return now, now + timedelta(days=template.valid_days)
    assert template.valid_from is not None and template.valid_until is not None  # validated
    return template.valid_from, template.valid_until


def _refuse_unissuable(template: CouponTemplate, now: datetime) -> None:
    if template.status != TemplateStatus.ACTIVE:
        raise TemplateEnded()
    if template.valid_until is not None and template.valid_until <= now:
        raise TemplateEnded("该优惠券的有效期已过，不能再发放")


async def _take_stock(template_id: int, count: int) -> None:
    """Count `count` more coupons as issued, within the template's total, or raise."""
    taken = await sql.execute(
        "UPDATE coupon_templates SET issued_count = issued_count + $1"
        " WHERE id = $2 AND (total_quantity IS NULL OR issued_count + $1 <= total_quantity)",
        count,
        template_id,
    )
    if not taken:
        raise OutOfStock()


async def _issue(
    template: CouponTemplate,
    store_ids: Sequence[int],
    *,
    source: CouponSource,
    issuance_id: int | None,
    period: str,
    now: datetime,
) -> list[int]:
    """Put a coupon in each store's wallet (none twice for one issuance and period), take the
    stock for those written, and record their events. Run inside a transaction: running out
    of stock raises after writing, and the rollback takes it all back."""
    valid_from, valid_until = _validity(template, now)
    issued: list[int] = []
    for store_id in store_ids:  # one statement each: RETURNING tells which were new
        row = await sql.fetch_one(
            "INSERT INTO coupons (brand_id, template_id, store_id, source, issuance_id, period,"
            " status, valid_from, valid_until, issued_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (issuance_id, period, store_id) DO NOTHING RETURNING id",
            template.brand_id,  # type: ignore[attr-defined]
            template.id,
            store_id,
            source.value,
            issuance_id,
            period,
            CouponStatus.AVAILABLE.value,
            valid_from,
            valid_until,
            now,
        )
        if row is not None:
            issued.append(int(row["id"]))
    if issued:
        await _take_stock(template.id, len(issued))
        kind = CouponEventKind.CLAIMED if source == CouponSource.CLAIM else CouponEventKind.ISSUED
        await sql.execute_many(
            "INSERT INTO coupon_events (coupon_id, kind, order_id, created_at)"
            " VALUES ($1, $2, NULL, $3)",
            [(coupon_id, kind.value, now) for coupon_id in issued],
        )
    return issued


async def issue_one_for_live(
    template_id: int, store_id: int, *, brand_id: int, now: datetime
) -> int:
    """Put one coupon of the brand's template into the store's wallet for a live session's
    coupon drop; the new coupon's id. The template's status, validity and stock apply
    (TemplateNotFound, TemplateEnded, OutOfStock).

    Run inside the caller's transaction (the drop's counter and claim are written there):
    running out of stock raises after the coupon row is written, and only that rollback
    takes it back, so outside a transaction this refuses to run at all."""
    template = await _template_to_issue("issue_one_for_live", template_id, brand_id, now)
    # No issuance: the NULL issuance_id never conflicts, so every call writes one coupon;
    # the drop's unique (drop, store) claim is what keeps it to one per store.
    [coupon_id] = await _issue(
        template, [store_id], source=CouponSource.LIVE, issuance_id=None, period="", now=now
    )
    return coupon_id


async def issue_for_display(
    template_id: int, store_id: int, *, brand_id: int, count: int, now: datetime
) -> list[int]:
    """Put `count` coupons of the brand's template into the store's wallet as a display
    program's reward; the new coupons' ids. The same rules and the same transaction duty as
    issue_one_for_live: the DisplayReward unique per signing and check keeps it to once."""
    template = await _template_to_issue("issue_for_display", template_id, brand_id, now)
    return await _issue(
        template,
        [store_id] * count,
        source=CouponSource.DISPLAY,
        issuance_id=None,
        period="",
        now=now,
    )


async def _template_to_issue(
    caller: str, template_id: int, brand_id: int, now: datetime
) -> CouponTemplate:
    """The brand's template, if it may be issued now, for an issue that must run inside its
    caller's transaction (running out of stock raises after writing)."""
    if not isinstance(connections.get(sql.CONNECTION), TransactionalDBClient):
        raise RuntimeError(f"{caller} must run inside the caller's transaction")
    template = await CouponTemplate.get_or_none(id=template_id, brand_id=brand_id)
    if template is None:
        raise TemplateNotFound()
    _refuse_unissuable(template, now)
    return template


async def droppable_templates(
    brand_id: int, *, text: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The brand's active coupon templates, newest first, as a live session's coupon drop
    picks one: its name and what it is worth, not its audience or stock."""
    templates = CouponTemplate.filter(brand_id=brand_id, status=TemplateStatus.ACTIVE.value)
    if text:
        templates = templates.filter(name__icontains=text)
    if before is not None:
        templates = templates.filter(id__lt=before)
    return [
        {
            "id": template.id,
            "name": template.name,
            "kind": template.kind,
            "description": _terms(template).describe(),
        }
        for template in await templates.order_by("-id").limit(limit)
    ]


async def known_template_ids(brand_id: int, template_ids: Sequence[int]) -> set[int]:
    """Which of `template_ids` are the brand's coupon templates (a live session's drops)."""
    found = await CouponTemplate.filter(brand_id=brand_id, id__in=list(template_ids)).values_list(
        "id", flat=True
    )
    return {int(template_id) for template_id in found}  # type: ignore[call-overload]


async def exchange_template_ids(brand_id: int, template_ids: Sequence[int]) -> set[int]:
    """Which of `template_ids` are the brand's active exchange templates: what a display
    program may pay its rewards in."""
    found = await CouponTemplate.filter(
        brand_id=brand_id,
        id__in=list(template_ids),
        kind=CouponKind.EXCHANGE.value,
        status=TemplateStatus.ACTIVE.value,
    ).values_list("id", flat=True)
    return {int(template_id) for template_id in found}  # type: ignore[call-overload]


def admits(audience: dict[str, Any], store: org_service.StoreContext, tags: Sequence[str]) -> bool:
    """Whether `store` (with its `tags`) is in `audience`: the rule coupons apply, which
    display programs share so the two never disagree."""
    return _admits(audience, store, tags)


def period_of(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


async def create_issuance(
    principal: Principal, template_id: int, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A batch to an audience: issued now when once; every month on its day when monthly (this
    month's too, at once, if its day has come)."""
    template = await _template(principal, template_id)
    _refuse_unissuable(template, now)
    audience = fields["audience"]
    brand_id: int = template.brand_id  # type: ignore[attr-defined]
    await promotions_service.refuse_unknown_references(
        brand_id,
        {"distributor": set(audience["distributor_ids"]), "region": set(audience["region_ids"])},
        UnknownReference,
    )
    named = audience.get("store_ids", [])
    if unknown := sorted(set(named) - set(await org_service.names(brand_id, "store", named))):
        message = f"门店不存在: {unknown}"
        raise UnknownReference(message, details=[{"kind": "store", "ids": unknown}])
    async with in_transaction():
        issuance = await CouponIssuance.create(
            brand_id=template.brand_id,  # type: ignore[attr-defined]
            template_id=template.id,
            audience=audience,
            schedule=fields["schedule"],
            day_of_month=fields["day_of_month"],
            created_by_id=principal.user_id,
            created_at=now,
        )
        if issuance.schedule == IssuanceSchedule.ONCE:
            await _run_issuance(issuance, template, "", now)
    if issuance.schedule == IssuanceSchedule.MONTHLY:
        await issue_due(now, issuance_ids=[issuance.id])
    return issuance_view(await CouponIssuance.get(id=issuance.id))


async def _run_issuance(
    issuance: CouponIssuance, template: CouponTemplate, period: str, now: datetime
) -> int:
    audience = issuance.audience
    store_ids = await org_service.active_store_ids(
        issuance.brand_id,  # type: ignore[attr-defined]
        **{key: audience[key] for key in AUDIENCE_KEYS},
        store_ids=audience.get("store_ids", []),  # batches made before stores could be named
    )
    issued = await _issue(
        template,
        store_ids,
        source=CouponSource.ISSUANCE,
        issuance_id=issuance.id,
        period=period,
        now=now,
    )
    await CouponIssuance.filter(id=issuance.id).update(
        issued_total=issuance.issued_total + len(issued)
    )
    return len(issued)


async def issue_due(now: datetime, *, issuance_ids: Sequence[int] | None = None) -> int:
    """Issue every monthly batch whose day has come this month and that has not been issued
    for this month. Safe to run in every process: the month is claimed by a guarded update
    in the same transaction as the coupons, and a batch short of stock issues nothing (it is
    logged, and the month is not retried)."""
    period = period_of(now)
    due = CouponIssuance.filter(
        schedule=IssuanceSchedule.MONTHLY.value, active=True, day_of_month__lte=now.day
    )
    if issuance_ids is not None:
        due = due.filter(id__in=list(issuance_ids))
    issued = 0
    not_yet = Q(last_period__isnull=True) | Q(last_period__lt=period)
    for issuance in await due.filter(not_yet).order_by("id"):
        try:
            async with in_transaction():
                claimed = await sql.execute(
                    "UPDATE coupon_issuances SET last_period = $1 WHERE id = $2"
                    " AND (last_period IS NULL OR last_period < $1)",
                    period,
                    issuance.id,
                )
                if not claimed:
                    continue  # another process issued this month
                template = await CouponTemplate.get(id=issuance.template_id)  # type: ignore[attr-defined]
                _refuse_unissuable(template, now)
                issued += await _run_issuance(issuance, template, period, now)
        except (OutOfStock, TemplateEnded) as refused:
            log.error(
                "monthly coupon issuance refused",
                extra={"issuance_id": issuance.id, "period": period, "reason": refused.code},
            )
            await CouponIssuance.filter(id=issuance.id).update(last_period=period)
    return issued


async def issue_due_job(deps: Any) -> int:
    """The background scheduler's entry (it passes the process's Deps)."""
    return await issue_due(deps.clock.now())


async def list_issuances(principal: Principal, template_id: int) -> list[dict[str, Any]]:
    template = await _template(principal, template_id)
    issuances = await CouponIssuance.filter(template_id=template.id).order_by("-id")
    return [issuance_view(issuance) for issuance in issuances]


# ---- stores: claiming and the wallet ----------------------------------------------------------


def _store_of(principal: Principal) -> int:
    if principal.role not in STORE_ROLES or principal.store_id is None:
        raise CouponNotFound()
    return principal.store_id


def _brand_of_store(principal: Principal) -> int:
    if principal.brand_id is None:  # a store's principal always carries its brand
        raise CouponNotFound()
    return principal.brand_id


def _admits(audience: dict[str, Any], store: org_service.StoreContext, tags: Sequence[str]) -> bool:
    return (
        (not audience["distributor_ids"] or store.distributor_id in audience["distributor_ids"])
        and (not audience["region_ids"] or store.region_id in audience["region_ids"])
        and (not audience["tiers"] or store.tier in audience["tiers"])
        and (not audience["tags"] or bool(set(audience["tags"]) & set(tags)))
    )


async def claimable(principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
    """The 领券中心: templates this store may claim now, with how many it has claimed."""
    store = await org_service.store_for_ordering(principal, None)
    tags = await org_service.store_tags(store.id)
    templates = await CouponTemplate.filter(
        brand_id=store.brand_id, status=TemplateStatus.ACTIVE.value, claimable=True
    ).order_by("-id")
    held = await _claimed_counts(store.id, [t.id for t in templates])
    return [
        {
            **template_view(template),
            "claimed": held.get(template.id, 0),
            "can_claim": held.get(template.id, 0) < template.per_store_limit
            and (
                template.total_quantity is None or template.issued_count < template.total_quantity
            ),
        }
        for template in templates
        if _admits(template.audience, store, tags)
        and (template.valid_until is None or template.valid_until > now)
    ]


async def _claimed_counts(store_id: int, template_ids: Sequence[int]) -> dict[int, int]:
    if not template_ids:
        return {}
    rows = await sql.fetch(
        "SELECT template_id, COUNT(*) AS claimed FROM coupons"
        " WHERE store_id = $1 AND source = $2 AND template_id IN ($3) GROUP BY template_id",
        store_id,
        CouponSource.CLAIM.value,
        list(template_ids),
    )
    return {int(row["template_id"]): int(row["claimed"]) for row in rows}


async def claim(principal: Principal, template_id: int, *, now: datetime) -> dict[str, Any]:
    """The store takes one coupon: within its own limit (counted under a lock on the store)
    and the template's stock (a guarded update), or 409 with nothing written."""
    store = await org_service.store_for_ordering(principal, None)
    template = await CouponTemplate.get_or_none(id=template_id, brand_id=store.brand_id)
    if template is None or not template.claimable:
        raise NotClaimable() if template is not None else TemplateNotFound()
    _refuse_unissuable(template, now)
    if not _admits(template.audience, store, await org_service.store_tags(store.id)):
        raise NotClaimable("该优惠券不面向您的门店")
    async with in_transaction():
        await org_service.lock_store(store.id)
        held = (await _claimed_counts(store.id, [template.id])).get(template.id, 0)
        if held >= template.per_store_limit:
            raise ClaimLimitReached(f"每店限领 {template.per_store_limit} 张，您已领取 {held} 张")
        [coupon_id] = await _issue(
            template, [store.id], source=CouponSource.CLAIM, issuance_id=None, period="", now=now
        )
    skus = await _exchange_skus(store.brand_id, [template])
    return coupon_view(await Coupon.get(id=coupon_id), template, now, skus)


async def wallet(
    principal: Principal, *, state: str | None, now: datetime, limit: int, before: int | None
) -> list[dict[str, Any]]:
    """The store's coupons, newest first; `state` filters as the wallet's tabs do."""
    store_id = _store_of(principal)
    coupons = Coupon.filter(store_id=store_id)
    if state == "used":
        coupons = coupons.filter(status=CouponStatus.USED.value)
    elif state == "expired":
        coupons = coupons.filter(status=CouponStatus.AVAILABLE.value, valid_until__lte=now)
    elif state == "available":
        coupons = coupons.filter(status=CouponStatus.AVAILABLE.value, valid_until__gt=now)
    if before is not None:
        coupons = coupons.filter(id__lt=before)
    found = await coupons.order_by("-id").limit(limit).prefetch_related("template")
    # The exchange vouchers' SKUs, named for the whole page at once: never a query per coupon.
    skus = await _exchange_skus(_brand_of_store(principal), [c.template for c in found])
    return [coupon_view(coupon, coupon.template, now, skus) for coupon in found]


async def wallet_coupon(principal: Principal, coupon_id: int, *, now: datetime) -> dict[str, Any]:
    """One coupon of the store's wallet; another store's is not found."""
    coupon = await Coupon.get_or_none(id=coupon_id, store_id=_store_of(principal))
    if coupon is None:
        raise CouponNotFound()
    template = await CouponTemplate.get(id=coupon.template_id)  # type: ignore[attr-defined]
    skus = await _exchange_skus(_brand_of_store(principal), [template])
    return coupon_view(coupon, template, now, skus)


# ---- checkout ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A coupon as it prices a cart: what it takes off each bought line."""

    coupon_id: int
    name: str
    description: str
    kind: str
    effect: Effect

    def view(self) -> dict[str, Any]:
        return {
            "coupon_id": self.coupon_id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "amount_fen": self.effect.amount_fen,
        }


async def _usable_rows(store_id: int, now: datetime, coupon_id: int | None = None) -> list[Any]:
    # The cast: PostgreSQL types a parameter compared with a bare 0 as a 32-bit int, so any
    # coupon id above 2^31 - 1 (ids are bigints) failed in the driver.
    return await sql.fetch(
        "SELECT c.id, c.valid_until, t.name, t.kind, t.terms"
        " FROM coupons c JOIN coupon_templates t ON t.id = c.template_id"
        " WHERE c.store_id = $1 AND c.status = $2 AND c.valid_from <= $3 AND c.valid_until > $3"
        " AND (CAST($4 AS BIGINT) = 0 OR c.id = $4) ORDER BY c.valid_until, c.id",
        store_id,
        CouponStatus.AVAILABLE.value,
        now,
        coupon_id or 0,
    )


# Decode columns read with fixed SQL as the ORM would (SQLite gives text for both).
_TERMS_JSON = CouponTemplate._meta.fields_map["terms"]
_VALID_UNTIL = Coupon._meta.fields_map["valid_until"]


def _valid_until(row: Any) -> str | None:
    return _iso(_VALID_UNTIL.to_python_value(row["valid_until"]))


def _applied(row: Any, lines: Sequence[PayableLine], channel: str) -> Applied | Refusal:
    stored = _TERMS_JSON.to_python_value(row["terms"])
    terms = Terms.from_stored(row["kind"], stored)
    outcome = apply(terms, lines, channel)
    if isinstance(outcome, Refusal):
        return outcome
    return Applied(row["id"], row["name"], terms.describe(), row["kind"], outcome)


async def options(
    store_id: int, lines: Sequence[PayableLine], channel: str, now: datetime
) -> list[dict[str, Any]]:
    """The store's coupons usable now, each with what it would take off this cart or why it
    does not apply, best first: for the cart's coupon picker."""
    listed = []
    for row in await _usable_rows(store_id, now):
        outcome = _applied(row, lines, channel)
        if isinstance(outcome, Refusal):
            listed.append(
                {
                    "coupon_id": row["id"],
                    "name": row["name"],
                    "kind": row["kind"],
                    "usable": False,
                    "reason": {"code": outcome.code, "message": outcome.message},
                    "valid_until": _valid_until(row),
                }
            )
        else:
            listed.append({**outcome.view(), "usable": True, "valid_until": _valid_until(row)})
    return sorted(listed, key=lambda option: (not option["usable"], -option.get("amount_fen", 0)))


async def price_with(
    store_id: int, coupon_id: int, lines: Sequence[PayableLine], channel: str, now: datetime
) -> Applied:
    """The coupon chosen for an order, applied to its lines; 409 naming why it can't be."""
    rows = await _usable_rows(store_id, now, coupon_id)
    if not rows:
        await _refuse_unusable(store_id, coupon_id, now)
    outcome = _applied(rows[0], lines, channel)
    if isinstance(outcome, Refusal):
        raise NotApplicable(outcome.message, details={"code": outcome.code})
    return outcome


async def _refuse_unusable(store_id: int, coupon_id: int, now: datetime) -> NoReturn:
    """Say why a coupon is not among the store's usable ones."""
    coupon = await Coupon.get_or_none(id=coupon_id)
    if coupon is None:
        raise CouponNotFound()
    if coupon.store_id != store_id:  # type: ignore[attr-defined]
        raise NotYours()
    if coupon.status == CouponStatus.USED:
        raise AlreadyUsed()
    if coupon.valid_from > now:
        raise NotStarted()
    raise Expired()


async def use(store_id: int, coupon_id: int, order_id: int, now: datetime) -> None:
    """Mark the coupon used by the order, inside the order's transaction: a guarded update, so
    of concurrent checkouts with one coupon exactly one gets it (the others roll back)."""
    used = await sql.execute(
        "UPDATE coupons SET status = $1, order_id = $2, used_at = $3"
        " WHERE id = $4 AND store_id = $5 AND status = $6"
        " AND valid_from <= $3 AND valid_until > $3",
        CouponStatus.USED.value,
        order_id,
        now,
        coupon_id,
        store_id,
        CouponStatus.AVAILABLE.value,
    )
    if not used:
        await _refuse_unusable(store_id, coupon_id, now)
    await sql.execute(
        "INSERT INTO coupon_events (coupon_id, kind, order_id, created_at) VALUES ($1, $2, $3, $4)",
        coupon_id,
        CouponEventKind.USED.value,
        order_id,
        now,
    )


async def used_among(coupon_ids: Sequence[int]) -> int:
    """How many of these coupons an order is using now (a live session's report: coupons
    dropped, then used)."""
    if not coupon_ids:
        return 0
    return await Coupon.filter(id__in=list(coupon_ids), status=CouponStatus.USED.value).count()


async def give_back(order_id: int, now: datetime) -> None:
    """Return the order's coupon to its store's wallet (the order was cancelled, expired or
    refunded in full), in that move's transaction. Returning twice changes nothing."""
    returned = await sql.fetch(
        "UPDATE coupons SET status = $1, order_id = NULL, used_at = NULL"
        " WHERE order_id = $2 AND status = $3 RETURNING id",
        CouponStatus.AVAILABLE.value,
        order_id,
        CouponStatus.USED.value,
    )
    if returned:
        await sql.execute_many(
            "INSERT INTO coupon_events (coupon_id, kind, order_id, created_at)"
            " VALUES ($1, $2, $3, $4)",
            [(row["id"], CouponEventKind.RETURNED.value, order_id, now) for row in returned],
        )


async def history(principal: Principal, coupon_id: int) -> list[dict[str, Any]]:
    coupon = await Coupon.get_or_none(id=coupon_id, store_id=_store_of(principal))
    if coupon is None:
        raise CouponNotFound()
    events = await CouponEvent.filter(coupon_id=coupon.id).order_by("id")
    return [
        {"kind": event.kind, "order_id": event.order_id, "at": _iso(event.created_at)}
        for event in events
    ]


# ---- voucher claims (核销) ---------------------------------------------------------------------


class ClaimedOrders(Protocol):
    """What voucher claims read of orders: the fulfilled ones that used a coupon, and how
    people name an order."""

    async def fulfilled_with_coupons(self, distributor_id: int) -> list[sql.Row]: ...

    async def order_labels(
        self, distributor_id: int, order_ids: Sequence[int]
    ) -> dict[int, dict[str, str]]: ...


# Orders are ordering's, and ordering depends on coupons: app.py plugs ordering's service in.
ORDERS: Port[ClaimedOrders] = Port("coupons.service.ORDERS")


def claim_view(claim: VoucherClaim) -> dict[str, Any]:
    status = ClaimStatus(claim.status)
    return {
        "id": claim.id,
        "distributor_id": claim.distributor_id,
        "status": status.value,
        "status_name": CLAIM_STATUS_NAMES[status],
        "amount_fen": claim.amount_fen,
        "vouchers": claim.vouchers,
        "note": claim.note,
        "reject_reason": claim.reject_reason,
        "created_at": _iso(claim.created_at),
        "decided_at": _iso(claim.decided_at),
        "settled_at": _iso(claim.settled_at),
    }


CLAIM_STATUS_NAMES = {
    ClaimStatus.SUBMITTED: "待审核",
    ClaimStatus.APPROVED: "已确认，待结算",
    ClaimStatus.SETTLED: "已结算",
    ClaimStatus.REJECTED: "已驳回",
}


def _distributor_of(principal: Principal) -> int:
    if principal.role not in DISTRIBUTOR_ROLES or principal.distributor_id is None:
        raise ClaimNotFound()
    return principal.distributor_id


async def claimable_vouchers(principal: Principal, used: Sequence[sql.Row]) -> list[dict[str, Any]]:
    """Of the coupons `used` in orders this distributor fulfilled (ordering's
    fulfilled_with_coupons: the route passes them, as ordering depends on coupons), the
    exchange vouchers no claim holds yet, with their value in each order."""
    _distributor_of(principal)
    if not used:
        return []
    coupon_ids = [row["coupon_id"] for row in used]
    vouchers = await sql.fetch(
        "SELECT c.id, t.name FROM coupons c JOIN coupon_templates t ON t.id = c.template_id"
        " WHERE c.id IN ($1) AND t.kind = $2"
        " AND NOT EXISTS (SELECT 1 FROM voucher_claim_items i WHERE i.coupon_id = c.id)",
        coupon_ids,
        CouponKind.EXCHANGE.value,
    )
    names = {row["id"]: row["name"] for row in vouchers}
    return [
        {
            "coupon_id": row["coupon_id"],
            "name": names[row["coupon_id"]],
            "order_id": row["order_id"],
            "order_no": row["order_no"],
            "store_name": row["store_name"],
            "amount_fen": row["coupon_discount_fen"],
        }
        for row in used
        if row["coupon_id"] in names
    ]


async def submit_claim(
    deps: Any, principal: Principal, used: Sequence[sql.Row], note: str, *, now: datetime
) -> dict[str, Any]:
    """Claim every voucher claimable now (of `used`, as in claimable_vouchers). A voucher
    already in another claim (a concurrent submission) makes this one 409, nothing written.
    The brand's staff are notified in the same transaction."""
    distributor_id = _distributor_of(principal)
    vouchers = await claimable_vouchers(principal, used)
    if not vouchers:
        raise NothingToClaim()
    try:
        async with sql.transaction():
            claim = await VoucherClaim.create(
                brand_id=principal.brand_id,
                distributor_id=distributor_id,
                amount_fen=sum(v["amount_fen"] for v in vouchers),
                vouchers=len(vouchers),
                note=note,
                submitted_by_id=principal.user_id,
                created_at=now,
            )
            await VoucherClaimItem.bulk_create(
                [
                    VoucherClaimItem(
                        claim_id=claim.id,
                        coupon_id=v["coupon_id"],
                        order_id=v["order_id"],
                        amount_fen=v["amount_fen"],
                    )
                    for v in vouchers
                ]
            )
            await _tell_about_claim(deps, claim, submitted=True, now=now)
    except IntegrityError as exc:
        raise ClaimConflict() from exc
    return {**claim_view(claim), "items": vouchers}


async def _visible_claim(principal: Principal, claim_id: int) -> VoucherClaim:
    claims = VoucherClaim.filter(id=claim_id, brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        claims = claims.filter(distributor_id=principal.distributor_id)
    claim = await claims.first()
    if claim is None:
        raise ClaimNotFound()
    return claim


async def get_claim(principal: Principal, claim_id: int) -> dict[str, Any]:
    """A claim with each voucher in it: its name, the order it was used in, its value."""
    claim = await _visible_claim(principal, claim_id)
    items = await sql.fetch(
        "SELECT i.coupon_id, t.name, i.order_id, i.amount_fen FROM voucher_claim_items i"
        " JOIN coupons c ON c.id = i.coupon_id JOIN coupon_templates t ON t.id = c.template_id"
        " WHERE i.claim_id = $1 ORDER BY i.id",
        claim.id,
    )
    [view] = await _with_distributor_names(claim.brand_id, [claim_view(claim)])  # type: ignore[attr-defined]
    return {**view, "items": [dict(item) for item in items]}


async def _with_distributor_names(
    brand_id: int, views: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each claim with its distributor's name (brand staff review many distributors')."""
    named = await org_service.names(brand_id, "distributor", [v["distributor_id"] for v in views])
    return [{**view, "distributor_name": named.get(view["distributor_id"], "")} for view in views]


def _claims_seen_by(principal: Principal, distributor_id: int | None) -> QuerySet[VoucherClaim]:
    """Brand staff see every claim of the brand (one distributor's when asked); distributor
    staff their distributor's only."""
    claims = VoucherClaim.filter(brand_id=principal.brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        claims = claims.filter(distributor_id=principal.distributor_id)
    if distributor_id is not None:
        claims = claims.filter(distributor_id=distributor_id)
    return claims


async def list_claims(
    principal: Principal,
    *,
    status: str | None,
    distributor_id: int | None = None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    claims = _claims_seen_by(principal, distributor_id)
    if status is not None:
        claims = claims.filter(status=status)
    if before is not None:
        claims = claims.filter(id__lt=before)
    found = [claim_view(c) for c in await claims.order_by("-id").limit(limit)]
    return await _with_distributor_names(_brand_of(principal), found)


async def claim_counts(principal: Principal, distributor_id: int | None = None) -> dict[str, Any]:
    """How many of the caller's claims are in each status, and for how much: the tabs of
    the claims list, and what is still to be approved or paid."""
    rows = (
        await _claims_seen_by(principal, distributor_id)
        .annotate(claims=Count("id"), amount=Sum("amount_fen"))
        .group_by("status")
        .values("status", "claims", "amount")
    )
    by_status = {status.value: 0 for status in ClaimStatus}
    amount_fen = {status.value: 0 for status in ClaimStatus}
    for row in rows:
        by_status[row["status"]] = int(row["claims"])
        amount_fen[row["status"]] = int(row["amount"] or 0)
    return {"by_status": by_status, "amount_fen": amount_fen, "total": sum(by_status.values())}


CLAIM_MOVES = {
    "approve": (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED),
    "reject": (ClaimStatus.SUBMITTED, ClaimStatus.REJECTED),
    "settle": (ClaimStatus.APPROVED, ClaimStatus.SETTLED),
}


async def decide_claim(
    deps: Any, principal: Principal, claim_id: int, action: str, *, reason: str, now: datetime
) -> dict[str, Any]:
    """The brand approves, rejects or settles a claim: a guarded status move, and for approve
    and settle the distributor's voucher account moves in the same transaction, as does the
    notification to the distributor's staff."""
    claim = await _visible_claim(principal, claim_id)
    source, target = CLAIM_MOVES[action]
    stamp = "settled_at" if target == ClaimStatus.SETTLED else "decided_at"
    changes: dict[str, Any] = {"status": target.value, stamp: now}
    if target == ClaimStatus.REJECTED:
        changes["reject_reason"] = reason or "未说明原因"
    async with sql.transaction():
        moved = await VoucherClaim.filter(id=claim.id, status=source.value).update(**changes)
        if not moved:
            raise ClaimStatusChanged(
                f"该核销单当前为「{CLAIM_STATUS_NAMES[ClaimStatus(claim.status)]}」，不能{ACTION_NAMES[action]}"
            )
        if target != ClaimStatus.REJECTED:
            await ledger_service.voucher_claim_moved(
                brand_id=claim.brand_id,  # type: ignore[attr-defined]
                distributor_id=claim.distributor_id,
                claim_id=claim.id,
                amount_fen=claim.amount_fen,
                settled=target == ClaimStatus.SETTLED,
                now=now,
            )
        claim.status, claim.reject_reason = target.value, changes.get("reject_reason", "")
        await _tell_about_claim(deps, claim, submitted=False, now=now)
    return await get_claim(principal, claim.id)


async def _tell_about_claim(
    deps: Any, claim: VoucherClaim, *, submitted: bool, now: datetime
) -> None:
    """A submitted claim is the brand staff's to review; a decision is news for the
    distributor's staff (pushed to their consoles once the caller's transaction commits)."""
    brand_id: int = claim.brand_id  # type: ignore[attr-defined]
    distributor_id: int = claim.distributor_id
    status = ClaimStatus(claim.status)
    amount = f"{money.yuan(claim.amount_fen)} 元，{claim.vouchers} 张兑换券"
    if submitted:
        named = await org_service.names(brand_id, "distributor", [distributor_id])
        told = await identity_service.brand_staff_user_ids(brand_id)
        title = f"核销单 #{claim.id} 待审核"
        body = f"{named.get(distributor_id, '经销商')}申请核销 {amount}"
    else:
        told = await identity_service.distributor_staff_user_ids(brand_id, distributor_id)
        title = f"核销单 #{claim.id} {CLAIM_STATUS_NAMES[status]}"
        body = f"驳回原因：{claim.reject_reason}" if status == ClaimStatus.REJECTED else amount
    await notifications_service.notify(
        brand_id,
        told,
        kind=f"claim.{status.value}",
        title=title,
        body=body,
        link=f"claim:{claim.id}",
        now=now,
        broadcast=deps.broadcast,
    )


ACTION_NAMES = {"approve": "确认", "reject": "驳回", "settle": "结算"}


class ClaimNotFound(NotFound):
    code = "coupon.claim_not_found"
    message = "找不到该核销单"


class NothingToClaim(Conflict):
    code = "coupon.nothing_to_claim"
    message = "暂无可核销的兑换券（订单送达后可核销）"


class ClaimConflict(Conflict):
    code = "coupon.claim_conflict"
    message = "部分兑换券已在其他核销单中，请刷新后重试"


class ClaimStatusChanged(Conflict):
    code = "coupon.claim_status_changed"
    message = "核销单状态已变化"


# ---- analytics: what coupons earned (issue 21) ------------------------------------------------

EFFECT_KIND_NAMES = {
    CouponKind.REDUCTION.value: "满减券",
    CouponKind.DISCOUNT.value: "折扣券",
    CouponKind.EXCHANGE.value: "兑换券",
}


@dataclass
class EffectTemplate:
    """How the coupons of one template handed out in a period fared by now, counted as the
    coupon list counts them (template_figures): issued by the brand (batches, live drops,
    display rewards) or claimed by the stores in the 领券中心; used by an order now; expired
    unused. `used_order_ids`: the orders using them."""

    template_id: int
    name: str
    kind_name: str
    used_order_ids: list[int]
    issued: int = 0
    claimed: int = 0
    used: int = 0
    expired: int = 0


async def analytics_effect_coupons(
    brand_id: int, start_at: datetime, end_at: datetime, now: datetime
) -> list[EffectTemplate]:
    """Per template of the brand, its coupons issued or claimed in [start_at, end_at), by
    template id (templates with none are left out)."""
    rows = await Coupon.filter(
        brand_id=brand_id, issued_at__gte=start_at, issued_at__lt=end_at
    ).values_list("template_id", "source", "status", "valid_until", "order_id")
    found: dict[int, EffectTemplate] = {}
    templates = await CouponTemplate.filter(
        brand_id=brand_id, id__in=list({int(row[0]) for row in rows})
    ).values_list("id", "name", "kind")
    for template_id, name, kind in templates:
        found[int(template_id)] = EffectTemplate(
            int(template_id), str(name), EFFECT_KIND_NAMES[str(kind)], []
        )
    for template_id, source, status, valid_until, order_id in rows:
        figures = found[int(template_id)]
        if source == CouponSource.CLAIM:
            figures.claimed += 1
        else:
            figures.issued += 1
        if status == CouponStatus.USED:
            figures.used += 1
            if order_id is not None:
                figures.used_order_ids.append(int(order_id))
        elif valid_until <= now:
            figures.expired += 1
    return [found[template_id] for template_id in sorted(found)]


# ---- for analytics (store profile) ----------------------------------------------------------


async def analytics_store_coupons(store_id: int, now: datetime) -> dict[str, int]:
    """The coupons in a store's wallet: received (claimed, issued or grabbed), used, expired
    unused, and still usable."""
    rows = await Coupon.filter(store_id=store_id).values_list("status", "valid_until")
    used = sum(1 for status, _ in rows if status == CouponStatus.USED.value)
    expired = sum(
        1 for status, until in rows if status == CouponStatus.AVAILABLE.value and until < now
    )
    return {
        "received": len(rows),
        "used": used,
        "expired": expired,
        "available": len(rows) - used - expired,
    }
