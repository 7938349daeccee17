"""Promotions: the brand creates, edits, activates, pauses and ends them, and simulates any
cart as any store at any time. Pricing itself is the pure engine (engine.py); rules.py turns
stored rules into the engine's promotions and names contradictory ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.functions import Count

from backend.catalog import service as catalog_service
from backend.catalog.service import QuotedLine, RequestedLine, SkuSummary
from backend.identity.access import Principal, Role, Tenancy, scoped
from backend.infra import sql
from backend.kernel.errors import Conflict, InvalidInput, NotFound
from backend.org import service as org_service
from backend.promotions import engine, results, rules, wording
from backend.promotions.models import Promotion, PromotionStatus, PromotionUse, PromotionUseKind

# What other domains (ordering) read of a priced cart.
PromotionResult = engine.PromotionResult
PricedLine = engine.PricedLine

PROMOTION_TENANCY = Tenancy()  # brand staff only: other roles see no promotion rows
STATUS_NAMES = {
    PromotionStatus.DRAFT: "草稿",
    PromotionStatus.ACTIVE: "进行中",
    PromotionStatus.PAUSED: "已暂停",
    PromotionStatus.ENDED: "已结束",
}
EDITABLE = (PromotionStatus.DRAFT.value, PromotionStatus.PAUSED.value)
# action -> (statuses it may start from, status it leads to)
MOVES = {
    "activate": ((PromotionStatus.DRAFT, PromotionStatus.PAUSED), PromotionStatus.ACTIVE),
    "pause": ((PromotionStatus.ACTIVE,), PromotionStatus.PAUSED),
    "end": (
        (PromotionStatus.DRAFT, PromotionStatus.ACTIVE, PromotionStatus.PAUSED),
        PromotionStatus.ENDED,
    ),
}
ACTION_NAMES = {"activate": "启用", "pause": "暂停", "end": "结束"}
# What a rule may name, and who knows whether the brand has it.
REFERENCES = {
    "sku": ("商品", catalog_service.known_ids),
    "category": ("分类", catalog_service.known_ids),
    "distributor": ("经销商", org_service.known_ids),
    "region": ("区域", org_service.known_ids),
}


class PromotionNotFound(NotFound):
    code = "promotion.not_found"
    message = "找不到该活动"


class InvalidRule(InvalidInput):
    code = "promotion.invalid_rule"
    message = "活动规则有误"


class UnknownReference(InvalidInput):
    code = "promotion.unknown_reference"
    message = "活动规则引用了不存在的商品、分类、经销商或区域"


class NotEditable(Conflict):
    code = "promotion.not_editable"
    message = "进行中或已结束的活动不能修改，请先暂停"


class StatusMoveRefused(Conflict):
    code = "promotion.status_conflict"
    message = "活动当前状态不允许此操作"


class WindowPassed(Conflict):
    code = "promotion.window_passed"
    message = "活动结束时间已过，不能启用"


# ---- views ----------------------------------------------------------------------------------


def promotion_view(promotion: Promotion) -> dict[str, Any]:
    status = PromotionStatus(promotion.status)
    budget = promotion.budget_fen
    return {
        "id": promotion.id,
        "name": promotion.name,
        "status": status.value,
        "status_name": STATUS_NAMES[status],
        "reward_kind": promotion.reward_kind,
        "stacking": promotion.stacking,
        "step": promotion.step,
        "priority": promotion.priority,
        "starts_at": promotion.starts_at.isoformat(),
        "ends_at": promotion.ends_at.isoformat(),
        "per_store_limit": promotion.per_store_limit,
        "budget_fen": budget,
        "committed_fen": promotion.committed_fen,
        "budget_left_fen": None if budget is None else max(budget - promotion.committed_fen, 0),
        **{key: promotion.rule[key] for key in rules.RULE_KEYS},
        "scope": rules.stored_scope(promotion.rule["scope"]),
        "created_at": promotion.created_at.isoformat(),
        "updated_at": promotion.updated_at.isoformat(),
    }


def _gift_names(skus: Mapping[int, SkuSummary] | None, sku_id: int) -> dict[str, Any]:
    """A gift's product and SKU names (and the product to link to); empty when unknown."""
    named = (skus or {}).get(sku_id)
    return {
        "product_id": None if named is None else named.product_id,
        "product_name": "" if named is None else named.product_name,
        "sku_name": "" if named is None else named.sku_name,
        "unit": "" if named is None else named.unit,
    }


def result_view(
    result: engine.PromotionResult, skus: Mapping[int, SkuSummary] | None = None
) -> dict[str, Any]:
    """What a quote shows of the promotions: line by line, totals, gifts, earnings, why not.
    `skus` names the gifts' SKUs (see gift_skus); without them gifts go unnamed.

    Answers only (encoded by infra/http.dumps): the engine's adjustments and skipped entries
    go in as the msgspec Structs they are, which encode as adjustment_view and a skipped
    entry's {promotion_id, code, message} would, without a dict each (a quote has dozens)."""
    return {
        "list_amount_fen": result.list_amount_fen,
        "before_promotions_fen": result.before_promotions_fen,
        "promotion_discount_fen": result.promotion_discount_fen,
        "payable_fen": result.payable_fen,
        "points_earned": result.points_earned,
        "rebate_fen": result.rebate_fen,
        "lines": [
            {
                "sku_id": line.sku_id,
                "quantity": line.quantity,
                "gift": line.gift,
                "gift_promotion_id": line.gift_promotion_id,
                **(_gift_names(skus, line.sku_id) if line.gift else {}),
                "list_unit_price_fen": line.list_unit_price_fen,
                "unit_price_fen": line.unit_price_fen,
                "before_promotions_fen": line.before_promotions_fen,
                "payable_fen": line.payable_fen,
                "adjustments": line.adjustments,
            }
            for line in result.lines
        ],
        "gifts": [
            {
                "promotion_id": gift.promotion_id,
                "sku_id": gift.sku_id,
                **_gift_names(skus, gift.sku_id),
                "quantity": gift.quantity,
                "value_fen": gift.value_fen,
            }
            for gift in result.gifts
        ],
        "applied": applied_view(result, skus),
        "skipped": result.skipped,
        "rounding": result.rounding,
    }


def adjustment_view(adjustment: engine.Adjustment) -> dict[str, Any]:
    """One promotion's change to a line, as quotes show it and orders keep it; with `units`
    when a bundle counted in sets computed it on that many of the line's units."""
    view: dict[str, Any] = {
        "promotion_id": adjustment.promotion_id,
        "kind": adjustment.kind,
        "amount_fen": adjustment.amount_fen,
    }
    if adjustment.units is not None:
        view["units"] = adjustment.units
    return view


def gift_skus(result: engine.PromotionResult | None) -> set[int]:
    """The SKUs a result gives away: what result_view and applied_view want named."""
    return set() if result is None else {gift.sku_id for gift in result.gifts}


# ---- administration -------------------------------------------------------------------------


_SETTING_NAMES = ("name", "starts_at", "ends_at", "stacking", "step", "priority", "per_store_limit")


def _settings(promotion_id: int, fields: dict[str, Any]) -> rules.Settings:
    """The columns besides the rule, from a submitted body or a stored promotion's fields."""
    return rules.Settings(id=promotion_id, **{name: fields[name] for name in _SETTING_NAMES})


async def _check(brand_id: int, fields: dict[str, Any]) -> None:
    """Refuse a contradictory rule, or one naming objects the brand does not have (422)."""
    rule = {key: fields[key] for key in rules.RULE_KEYS}
    problems = rules.contradictions(_settings(0, fields), rule)
    if problems:
        first = problems[0]
        raise InvalidRule(first.message, details=[p.as_detail() for p in problems])
    await refuse_unknown_references(brand_id, rules.referenced_ids(rule))
    try:
        rules.to_engine(_settings(0, fields), rule)
    except (ValueError, TypeError) as exc:  # a backstop: contradictions should name it first
        raise InvalidRule(details=[{"field": "reward", "message": str(exc)}]) from exc


async def refuse_unknown_references(
    brand_id: int, referenced: dict[str, set[int]], error: type[InvalidInput] = UnknownReference
) -> None:
    """`error` (422) naming every id (by kind: sku, category, distributor, region) the brand
    does not have."""
    missing: list[dict[str, Any]] = []
    for kind, wanted in referenced.items():
        name, known_ids = REFERENCES[kind]
        if wanted and (unknown := sorted(wanted - await known_ids(brand_id, kind, wanted))):
            missing.append({"kind": kind, "ids": unknown, "message": f"{name}不存在: {unknown}"})
    if missing:
        raise error(missing[0]["message"], details=missing)


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": fields["name"],
        "reward_kind": fields["reward"]["kind"],
        "stacking": fields["stacking"],
        "step": fields["step"],
        "priority": fields["priority"],
        "starts_at": fields["starts_at"],
        "ends_at": fields["ends_at"],
        "per_store_limit": fields["per_store_limit"],
        "budget_fen": fields["budget_fen"],
        "rule": {key: fields[key] for key in rules.RULE_KEYS},
    }


async def create_promotion(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A new promotion, as a draft: nothing applies it until it is activated."""
    brand_id = _brand_of(principal)
    await _check(brand_id, fields)
    promotion = await Promotion.create(
        brand_id=brand_id,
        status=PromotionStatus.DRAFT.value,
        created_by_id=principal.user_id,
        created_at=now,
        updated_at=now,
        **_columns(fields),
    )
    return promotion_view(promotion)


async def update_promotion(
    principal: Principal, promotion_id: int, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """Replace a draft's or paused promotion's definition (the whole of it, checked again)."""
    promotion = await _visible(principal, promotion_id)
    await _check(promotion.brand_id, fields)  # type: ignore[attr-defined]
    changed = await Promotion.filter(id=promotion.id, status__in=EDITABLE).update(
        updated_at=now, **_columns(fields)
    )
    if not changed:
        raise NotEditable()
    return promotion_view(await Promotion.get(id=promotion.id))


async def move_promotion(
    principal: Principal, promotion_id: int, action: str, *, now: datetime
) -> dict[str, Any]:
    """Activate, pause or end: a guarded status change, so concurrent moves cannot both win."""
    promotion = await _visible(principal, promotion_id)
    sources, target = MOVES[action]
    if action == "activate" and promotion.ends_at <= now:
        raise WindowPassed()
    guard = Promotion.filter(id=promotion.id, status__in=[status.value for status in sources])
    if action == "activate":  # the window is checked in the same statement as the move
        guard = guard.filter(ends_at__gt=now)
    moved = await guard.update(status=target.value, updated_at=now)
    if not moved:
        current = STATUS_NAMES[PromotionStatus(promotion.status)]
        raise StatusMoveRefused(
            f"活动{current}，不能{ACTION_NAMES[action]}",
            details={"status": promotion.status, "action": action},
        )
    return promotion_view(await Promotion.get(id=promotion.id))


async def get_promotion(principal: Principal, promotion_id: int) -> dict[str, Any]:
    return promotion_view(await _visible(principal, promotion_id))


async def list_promotions(
    principal: Principal, *, status: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first, paged by id (keyset)."""
    query = scoped(principal, Promotion.all(), PROMOTION_TENANCY)
    if status is not None:
        query = query.filter(status=status)
    if before:
        query = query.filter(id__lt=before)
    return [promotion_view(p) for p in await query.order_by("-id").limit(limit + 1)]


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:  # the route admits brand roles only, which carry a brand
        raise PromotionNotFound()
    return principal.brand_id


async def _visible(principal: Principal, promotion_id: int) -> Promotion:
    promotion = await scoped(
        principal, Promotion.filter(id=promotion_id), PROMOTION_TENANCY
    ).first()
    if promotion is None:
        raise PromotionNotFound()
    return promotion


# ---- pricing with promotions ----------------------------------------------------------------

# Rewards whose money the brand pays, so they are charged to the promotion's budget.
MONEY_KINDS = frozenset({"special_price", "reduction", "discount", "rebate"})
COMMIT_ATTEMPTS = 3


class PromotionsChanged(Conflict):
    code = "order.promotions_changed"
    message = "活动优惠已变化（活动已暂停、结束或资金已用完），请刷新后重新下单"


@dataclass(frozen=True)
class Running:
    """The promotions that apply at a moment, as the engine takes them, and their budgets;
    with the store's uses of the limited ones when a store was named."""

    promotions: list[engine.Promotion]
    budget_left_fen: dict[int, int | None]
    store_uses: dict[int, int] = field(default_factory=dict)

    @property
    def gift_sku_ids(self) -> set[int]:
        """The SKUs these promotions may give away: what a quote names with its own lines."""
        return {p.reward.sku_id for p in self.promotions if isinstance(p.reward, engine.Gift)}


# Each promotion's engine form, per process, by id with the updated_at it was built from.
# A definition changes only through update_promotion and move_promotion, which move
# updated_at, so every quote sees the current rule while converting it only once.
_CONVERTED: dict[int, tuple[Any, engine.Promotion]] = {}
_CONVERTED_MAX = 20_000

_RUNNING_SQL = (
    "SELECT p.id, p.updated_at,"
    " p.budget_fen - p.committed_fen,"  # what is left of the budget; NULL: no budget
    # A store's uses of a limited promotion, in the same statement (one subquery per limited
    # promotion returned): its takes less its give-backs (see PromotionUse).
    " CASE WHEN p.per_store_limit IS NULL OR $5 = 0 THEN 0 ELSE (SELECT"
    " COALESCE(SUM(CASE WHEN u.kind = 'take' THEN 1 ELSE -1 END), 0) FROM promotion_uses u"
    " WHERE u.promotion_id = p.id AND u.store_id = $5) END"
    " FROM promotions p WHERE p.brand_id = $1"
    " AND ((p.status = $2 AND p.starts_at <= $3 AND p.ends_at > $3) OR p.id IN ($4))"
)


async def running_promotions(
    brand_id: int, at: datetime, *, also: Sequence[int] = (), store_id: int = 0
) -> Running:
    """The brand's active promotions whose window contains `at`, plus `also` (drafts or paused
    ones a simulation tries out), with what is left of their budgets; and, for `store_id`,
    the store's uses of each limited promotion (what its per-store limit is checked against).

    One statement of fixed SQL (infra/sql.py) reads all of that as it stands at the quote
    (status, window, budget and uses are never taken from a cache); only promotions new to
    this process, or changed since, are read and converted again. Its rows are read by
    position, as the driver gives them: every quote with promotions running reads one a
    promotion."""
    rows = await sql.fetch_rows(
        _RUNNING_SQL,
        brand_id,
        PromotionStatus.ACTIVE.value,
        at,
        list(also) or [0],  # ids start at 1: [0] stands for "none"
        store_id,
    )
    budget_left: dict[int, int | None] = {}
    store_uses: dict[int, int] = {}
    stale: dict[int, Any] = {}
    for promotion_id, version, left, uses in rows:
        budget_left[promotion_id] = left
        if uses:
            store_uses[promotion_id] = uses
        if _CONVERTED.get(promotion_id, ("",))[0] != version:
            stale[promotion_id] = version
    if stale:
        await _convert(brand_id, stale)
    return Running(
        promotions=[_CONVERTED[pid][1] for pid in budget_left if pid in _CONVERTED],
        budget_left_fen=budget_left,
        store_uses=store_uses,
    )


async def _convert(brand_id: int, versions: dict[int, Any]) -> None:
    """Read and convert these promotions, remembering each under the version just read (a
    change after that read moves updated_at again, so it is caught on the next quote)."""
    found = await Promotion.filter(brand_id=brand_id, id__in=list(versions))
    gift_skus = {p.rule["reward"]["sku_id"] for p in found if p.reward_kind == "gift"}
    gift_values = await catalog_service.list_prices(brand_id, gift_skus)
    if len(_CONVERTED) > _CONVERTED_MAX:
        _CONVERTED.clear()  # promotions long ended: simply start over
    for promotion in found:
        settings = _settings(
            promotion.id, {name: getattr(promotion, name) for name in _SETTING_NAMES}
        )
        gift_value = gift_values.get(promotion.rule["reward"].get("sku_id"), 0)
        converted = rules.to_engine(settings, promotion.rule, gift_value)
        _CONVERTED[promotion.id] = (versions[promotion.id], converted)


@dataclass(frozen=True)
class Buyer:
    """The store a cart is priced for, as promotion audiences see it."""

    id: int
    brand_id: int
    distributor_id: int
    region_id: int | None
    tier: str
    tags: Sequence[str] = ()


async def price(
    buyer: Buyer,
    channel: engine.Channel,
    at: datetime,
    lines: Sequence[QuotedLine],
    *,
    also: Sequence[int] = (),
) -> engine.PromotionResult | None:
    """The promotions' result for the orderable `lines`; None when no promotion is running
    (then nothing changes the quote, and it cost one query of fixed SQL)."""
    running = await running_promotions(buyer.brand_id, at, also=also, store_id=buyer.id)
    return price_running(running, buyer, channel, at, lines)


def price_running(
    running: Running,
    buyer: Buyer,
    channel: engine.Channel,
    at: datetime,
    lines: Sequence[QuotedLine],
) -> engine.PromotionResult | None:
    """As price(), with the promotions already read (a quote reads them before its lines, to
    name their gifts in the same statement as the lines)."""
    orderable = [line for line in lines if line.orderable]
    if not running.promotions or not orderable:
        return None
    return engine.price_cart(
        store=engine.StoreProfile(
            store_id=buyer.id,
            distributor_id=buyer.distributor_id,
            region_id=buyer.region_id,
            tier=buyer.tier,
            tags=frozenset(buyer.tags),
        ),
        channel=channel,
        now=at,
        lines=[
            engine.CartLine(
                sku_id=line.sku_id,
                category_id=line.category_id or 0,
                quantity=line.quantity,
                list_unit_price_fen=line.list_unit_price_fen,
                unit_price_fen=line.unit_price_fen,
            )
            for line in orderable
        ],
        promotions=running.promotions,
        usage=running.store_uses,
        budget_left_fen=running.budget_left_fen,
    )


def charged_fen(applied: engine.AppliedPromotion) -> int:
    """What an applied promotion takes from its budget."""
    return applied.amount_fen if applied.kind in MONEY_KINDS else 0


async def commit_uses(
    order_id: int, store_id: int, result: engine.PromotionResult, now: datetime
) -> None:
    """Take each applied promotion's money from its budget and count the store's use, inside
    the order's transaction. A budget that no longer covers it, or a promotion paused or ended
    since the quote, raises PromotionsChanged (rolling the order back): the guarded update
    `committed_fen + n <= budget_fen` is what keeps concurrent orders from overspending.
    Per-store limits are checked after counting this order's uses, with the store's row
    locked first, so that two orders of one store cannot both take the last use."""
    if not result.applied:
        return
    await org_service.lock_store(store_id)
    for applied in sorted(result.applied, key=lambda a: a.promotion_id):  # id order: no deadlock
        charged = charged_fen(applied)
        taken = await sql.execute(
            # updated_at versions the definition (see _CONVERTED): spending leaves it alone.
            "UPDATE promotions SET committed_fen = committed_fen + $1"
            " WHERE id = $3 AND status = $4 AND starts_at <= $2 AND ends_at > $2"
            " AND (budget_fen IS NULL OR committed_fen + $1 <= budget_fen)",
            charged,
            now,
            applied.promotion_id,
            PromotionStatus.ACTIVE.value,
        )
        if not taken:
            raise PromotionsChanged(details={"promotion_id": applied.promotion_id})
        await sql.execute(
            "INSERT INTO promotion_uses (promotion_id, order_id, store_id, kind, amount_fen,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            applied.promotion_id,
            order_id,
            store_id,
            PromotionUseKind.TAKE.value,
            charged,
            now,
        )
    over_limit = await sql.fetch(
        "SELECT p.id FROM promotions p JOIN promotion_uses u ON u.promotion_id = p.id"
        " WHERE p.id IN ($1) AND u.store_id = $2 AND p.per_store_limit IS NOT NULL"
        " GROUP BY p.id, p.per_store_limit"
        " HAVING SUM(CASE WHEN u.kind = 'take' THEN 1 ELSE -1 END) > p.per_store_limit",
        [applied.promotion_id for applied in result.applied],
        store_id,
    )
    if over_limit:
        raise PromotionsChanged(details={"promotion_id": over_limit[0]["id"]})


async def release_uses(order_id: int, now: datetime) -> None:
    """Give an order's budget back and free its uses (cancelled, expired or refunded in full),
    inside the transaction that records why: a give-back entry per take. A second release
    racing this one (a cancel and a refund) conflicts on the give-back's unique key, waits,
    then inserts nothing and so gives nothing back twice."""
    given_back = await sql.fetch(
        "INSERT INTO promotion_uses (promotion_id, order_id, store_id, kind, amount_fen,"
        " created_at) SELECT promotion_id, order_id, store_id, $1, amount_fen, $2"
        " FROM promotion_uses WHERE order_id = $3 AND kind = $4"
        " ON CONFLICT (promotion_id, order_id, kind) DO NOTHING"
        " RETURNING promotion_id, amount_fen",
        PromotionUseKind.GIVE_BACK.value,
        now,
        order_id,
        PromotionUseKind.TAKE.value,
    )
    for use in sorted(given_back, key=lambda row: row["promotion_id"]):  # id order: no deadlock
        await sql.execute(
            "UPDATE promotions SET committed_fen = committed_fen - $1 WHERE id = $2",
            use["amount_fen"],
            use["promotion_id"],
        )


def applied_view(
    result: engine.PromotionResult, skus: Mapping[int, SkuSummary] | None = None
) -> list[dict[str, Any]]:
    """The promotions applied, each with its note; a gift's note names what it gives when
    `skus` names the gift SKUs (the engine, knowing no names, counts SKU ids)."""
    return [
        {
            "promotion_id": applied.promotion_id,
            "name": applied.name,
            "kind": applied.kind,
            "amount_fen": applied.amount_fen,
            "points": applied.points,
            "budget_capped": applied.budget_capped,
            "sets": applied.sets,
            "note": _gift_note(result, applied, skus) if applied.kind == "gift" else applied.note,
        }
        for applied in result.applied
    ]


def _gift_note(
    result: engine.PromotionResult,
    applied: engine.AppliedPromotion,
    skus: Mapping[int, SkuSummary] | None,
) -> str:
    given = [gift for gift in result.gifts if gift.promotion_id == applied.promotion_id]
    named = [(skus or {}).get(gift.sku_id) for gift in given]
    if not given or any(sku is None for sku in named):
        return applied.note
    counted = "" if applied.sets is None else f"凑齐{applied.sets}套，"
    return f"{counted}赠送" + "，".join(
        wording.gift_text(sku.title, gift.quantity, sku.unit)
        for gift, sku in zip(given, named, strict=True)
        if sku is not None
    )


async def simulate(
    principal: Principal,
    *,
    store_id: int,
    at: datetime,
    channel: engine.Channel,
    lines: Sequence[RequestedLine],
    also: Sequence[int],
) -> dict[str, Any]:
    """Quote `lines` as `store_id` would be quoted at `at` on `channel`, with the promotions
    active then plus `also`. Reads only: the store's usage and budgets as they are now."""
    brand_id = _brand_of(principal)
    store = await org_service.store_profile(principal, store_id)
    quote = await catalog_service.quote(brand_id, store.distributor_id, store.tier, lines)
    if also:
        visible = await scoped(
            principal, Promotion.filter(id__in=list(also)), PROMOTION_TENANCY
        ).values_list("id", flat=True)
        if missing := sorted(set(also) - {int(i) for i in visible}):  # type: ignore[call-overload]
            raise PromotionNotFound(details={"promotion_ids": missing})
    buyer = Buyer(store.id, brand_id, store.distributor_id, store.region_id, store.tier, store.tags)
    result = await price(buyer, channel, at, quote.lines, also=also)
    named = await catalog_service.sku_summaries(brand_id, gift_skus(result))
    shown = None if result is None else result_view(result, named)
    if shown is not None and result is not None and result.skipped:
        # The engine knows a skipped promotion by id only; whoever tries a cart wants its name.
        names = dict(
            await Promotion.filter(
                brand_id=brand_id, id__in=[s.promotion_id for s in result.skipped]
            ).values_list("id", "name")
        )
        shown["skipped"] = [
            {
                "promotion_id": skipped.promotion_id,
                "code": skipped.code,
                "message": skipped.message,
                "name": names.get(skipped.promotion_id, ""),
            }
            for skipped in result.skipped
        ]
    return {
        "store_id": store.id,
        "at": at.isoformat(),
        "channel": channel,
        "unavailable": [
            {
                "sku_id": line.sku_id,
                "problems": [{"code": p.code, "message": p.message} for p in line.problems],
            }
            for line in quote.lines
            if not line.orderable
        ],
        "promotions": shown,
    }


# ---- what a store sees -------------------------------------------------------------------------


def _covers_sku(scope: engine.Scope, sku: SkuSummary) -> bool:
    """Whether a line of this SKU would be in the scope (as engine.Scope.covers decides)."""
    if scope.bundle_sku_ids:
        return sku.id in scope.bundle_sku_ids
    if not scope.sku_ids and not scope.category_ids:
        return True
    return sku.id in scope.sku_ids or sku.category_id in scope.category_ids


def _set_quantity(set_quantities: Mapping[int, int], sku_id: int) -> dict[str, int]:
    """A bundle SKU's units per set, for the store to read the composition; {} outside one."""
    return {"set_quantity": set_quantities[sku_id]} if sku_id in set_quantities else {}


def _store_view(
    promotion: engine.Promotion,
    skus: Mapping[int, SkuSummary],
    categories: Mapping[int, str],
    uses: Mapping[int, int],
) -> dict[str, Any]:
    """A running promotion as a store reads it: no budget, audience, priority or status."""
    scope, reward, limit = promotion.scope, promotion.reward, promotion.per_store_limit
    gift = skus.get(reward.sku_id) if isinstance(reward, engine.Gift) else None
    set_quantities = {part.sku_id: part.set_quantity for part in scope.bundle}
    listed = sorted(scope.bundle_sku_ids or scope.sku_ids)
    return {
        "id": promotion.id,
        "name": promotion.name,
        "kind": promotion.kind,
        "kind_name": wording.KIND_NAMES[promotion.kind],
        "description": wording.describe(
            promotion,
            gift_name="" if gift is None else gift.title,
            gift_unit="" if gift is None else gift.unit,
            sku_names={sku_id: skus[sku_id].title for sku_id in set_quantities if sku_id in skus},
        ),
        "starts_at": promotion.starts_at.isoformat(),
        "ends_at": promotion.ends_at.isoformat(),
        "exclusive": promotion.stacking == "exclusive",
        "conditions": {
            "min_quantity": promotion.conditions.min_quantity,
            "min_amount_fen": promotion.conditions.min_amount_fen,
        },
        "scope": {
            "all_products": not (scope.bundle_sku_ids or scope.sku_ids or scope.category_ids),
            "bundle": bool(scope.bundle_sku_ids),
            # "sets": only complete sets count; "all_present": every unit once all are there.
            "bundle_mode": scope.bundle_mode if scope.bundle else None,
            "skus": [
                {**skus[sku_id].view(), **_set_quantity(set_quantities, sku_id)}
                for sku_id in listed
                if sku_id in skus
            ],
            "categories": [
                {"id": category_id, "name": categories[category_id]}
                for category_id in sorted(scope.category_ids)
                if category_id in categories
            ],
        },
        "gift": None
        if not isinstance(reward, engine.Gift)
        else {
            **_gift_names(skus, reward.sku_id),
            "sku_id": reward.sku_id,
            "quantity": reward.quantity,
            "per_multiple": reward.per_multiple,
        },
        "per_store_limit": limit,
        "uses_left": None if limit is None else max(limit - uses.get(promotion.id, 0), 0),
    }


async def current_for_store(
    principal: Principal, *, store_id: int | None, sku_id: int | None, now: datetime
) -> list[dict[str, Any]]:
    """The promotions running now that the store's orders on the caller's channel can use
    (a store owner's own orders, a salesperson's proxy orders): active, inside their window,
    its audience, budget not used up; with `sku_id`, only those whose scope takes that SKU.
    Ending soonest first."""
    store = await org_service.store_for_ordering(principal, store_id)
    brand_id = store.brand_id
    wanted = None
    if sku_id is not None:
        wanted = (await catalog_service.sku_summaries(brand_id, [sku_id])).get(sku_id)
        if wanted is None:
            raise catalog_service.SkuNotFound()
    channel = "proxy" if principal.role == Role.SALESPERSON else "self"
    running = await running_promotions(brand_id, now, store_id=store.id)
    profile = engine.StoreProfile(
        store_id=store.id,
        distributor_id=store.distributor_id,
        region_id=store.region_id,
        tier=store.tier,
        tags=frozenset(store.tags),
    )
    shown = []
    for promotion in running.promotions:
        budget_left = running.budget_left_fen.get(promotion.id)
        if (
            (not promotion.channels or channel in promotion.channels)
            and promotion.audience.admits(profile)
            and (budget_left is None or budget_left > 0)
            and (wanted is None or _covers_sku(promotion.scope, wanted))
        ):
            shown.append(promotion)
    shown.sort(key=lambda p: (p.ends_at, p.id))
    named_skus: set[int] = set()
    named_categories: set[int] = set()
    for promotion in shown:
        named_skus |= promotion.scope.sku_ids | promotion.scope.bundle_sku_ids
        named_categories |= promotion.scope.category_ids
        if isinstance(promotion.reward, engine.Gift):
            named_skus.add(promotion.reward.sku_id)
    skus = await catalog_service.sku_summaries(brand_id, named_skus)
    categories = await catalog_service.category_names(brand_id, named_categories)
    return [_store_view(p, skus, categories, running.store_uses) for p in shown]


async def budget_entries(
    principal: Principal, promotion_id: int, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """A promotion's budget statement, oldest first (keyset by id): every take and give-back
    with its order, store and amount, and what was committed after it."""
    promotion = await _visible(principal, promotion_id)
    query = PromotionUse.filter(promotion_id=promotion.id)
    if after:
        query = query.filter(id__gt=after)
    entries = await query.order_by("id").limit(limit + 1)
    earlier = (
        PromotionUse.filter(promotion_id=promotion.id, id__lt=entries[0].id) if entries else None
    )
    committed = 0
    if earlier is not None:
        for kind, amount in await earlier.values_list("kind", "amount_fen"):
            committed += amount if kind == PromotionUseKind.TAKE else -amount
    statement = []
    for entry in entries:
        signed = entry.amount_fen if entry.kind == PromotionUseKind.TAKE else -entry.amount_fen
        committed += signed
        statement.append(
            {
                "id": entry.id,
                "kind": entry.kind,
                "order_id": entry.order_id,  # type: ignore[attr-defined]
                "store_id": entry.store_id,  # type: ignore[attr-defined]
                "amount_fen": signed,
                "committed_after_fen": committed,
                "at": entry.created_at.isoformat(),
            }
        )
    return statement


# ---- what promotions gave ---------------------------------------------------------------------


async def status_counts(principal: Principal) -> dict[str, Any]:
    """How many of the brand's promotions are in each status (the list's tabs)."""
    rows = await (
        scoped(principal, Promotion.all(), PROMOTION_TENANCY)
        .annotate(count=Count("id"))
        .group_by("status")
        .values_list("status", "count")
    )
    by_status = {status.value: 0 for status in PromotionStatus}
    for status, count in rows:
        by_status[str(status)] = int(count)
    return {"total": sum(by_status.values()), "by_status": by_status}


async def _reach(promotion_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per promotion, the orders and stores that hold it: takes not given back."""
    if not promotion_ids:
        return {}
    rows = await sql.fetch(
        "SELECT t.promotion_id, COUNT(*) AS orders, COUNT(DISTINCT t.store_id) AS stores"
        " FROM promotion_uses t WHERE t.promotion_id IN ($1) AND t.kind = $2"
        " AND NOT EXISTS (SELECT 1 FROM promotion_uses g WHERE g.promotion_id = t.promotion_id"
        " AND g.order_id = t.order_id AND g.kind = $3)"
        " GROUP BY t.promotion_id",
        list(promotion_ids),
        PromotionUseKind.TAKE.value,
        PromotionUseKind.GIVE_BACK.value,
    )
    return {int(row["promotion_id"]): (int(row["orders"]), int(row["stores"])) for row in rows}


async def budget_by_day(principal: Principal, promotion_id: int) -> dict[str, Any]:
    """A promotion's budget day by day (China days with a move), with the orders and stores
    that hold it now: what the console charts."""
    promotion = await _visible(principal, promotion_id)
    moves = await PromotionUse.filter(promotion_id=promotion.id).values_list(
        "created_at", "kind", "amount_fen"
    )
    days = results.daily(results.BudgetMove(at, str(kind), int(fen)) for at, kind, fen in moves)
    orders, stores = (await _reach([promotion.id])).get(promotion.id, (0, 0))
    return {
        "promotion_id": promotion.id,
        "budget_fen": promotion.budget_fen,
        "committed_fen": promotion.committed_fen,
        "orders": orders,
        "stores": stores,
        "days": [day.view() for day in days],
    }


async def result_rows(principal: Principal, *, status: str | None) -> list[results.ResultRow]:
    """Every promotion of the brand (of `status`, if given), newest first, with what it gave."""
    query = scoped(principal, Promotion.all(), PROMOTION_TENANCY)
    if status is not None:
        query = query.filter(status=status)
    promotions = await query.order_by("-id")
    reach = await _reach([p.id for p in promotions])
    return [
        results.ResultRow(
            id=p.id,
            name=p.name,
            kind=wording.KIND_NAMES[p.reward_kind],
            status=STATUS_NAMES[PromotionStatus(p.status)],
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            orders=reach.get(p.id, (0, 0))[0],
            stores=reach.get(p.id, (0, 0))[1],
            committed_fen=p.committed_fen,
            budget_fen=p.budget_fen,
        )
        for p in promotions
    ]


# ---- analytics: what a promotion earned (issue 21) --------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectPromotion:
    """A promotion as its effect is read: names in Chinese, window, budget and its spend."""

    id: int
    name: str
    kind: str
    kind_name: str
    status_name: str
    starts_at: datetime
    ends_at: datetime
    budget_fen: int | None
    committed_fen: int


def _effect_promotion(promotion: Promotion) -> EffectPromotion:
    return EffectPromotion(
        id=promotion.id,
        name=promotion.name,
        kind=promotion.reward_kind,
        kind_name=wording.KIND_NAMES[promotion.reward_kind],
        status_name=STATUS_NAMES[PromotionStatus(promotion.status)],
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        budget_fen=promotion.budget_fen,
        committed_fen=promotion.committed_fen,
    )


async def analytics_effect_promotions(
    brand_id: int, start_at: datetime, end_at: datetime
) -> list[EffectPromotion]:
    """The brand's promotions that ran at some moment of [start_at, end_at) (drafts never
    ran), earliest first."""
    found = (
        await Promotion.filter(brand_id=brand_id, starts_at__lt=end_at, ends_at__gt=start_at)
        .exclude(status=PromotionStatus.DRAFT.value)
        .order_by("starts_at", "id")
    )
    return [_effect_promotion(promotion) for promotion in found]


async def analytics_effect_promotion(brand_id: int, promotion_id: int) -> EffectPromotion | None:
    """One of the brand's promotions, or None (another brand's answers like an unknown one)."""
    found = await Promotion.filter(brand_id=brand_id, id=promotion_id).first()
    return None if found is None else _effect_promotion(found)


async def analytics_effect_uses(promotion_ids: Sequence[int]) -> dict[int, list[int]]:
    """Per promotion, the orders that hold it: takes not given back, by order id."""
    held: dict[int, set[int]] = {promotion_id: set() for promotion_id in promotion_ids}
    if not held:
        return {}
    for promotion_id, order_id in await PromotionUse.filter(
        promotion_id__in=list(held), kind=PromotionUseKind.TAKE.value
    ).values_list("promotion_id", "order_id"):
        held[int(promotion_id)].add(int(order_id))
    for promotion_id, order_id in await PromotionUse.filter(
        promotion_id__in=list(held), kind=PromotionUseKind.GIVE_BACK.value
    ).values_list("promotion_id", "order_id"):
        held[int(promotion_id)].discard(int(order_id))
    return {promotion_id: sorted(orders) for promotion_id, orders in held.items()}
