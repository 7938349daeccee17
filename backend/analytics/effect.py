"""What the brand's promotion money bought: each promotion's reached stores against the same
stores before it and against the stores it did not reach, with its cost and return; each
coupon template's coupons from issued to used or expired; each live session from invited to
ordered, with its red packets and coupon drops.

The figures come from the raw rows, read through the services that own them (promotions,
coupons, livestream, ordering, org), not from the rollups: a promotion's window is to the
minute, not a day. An order counts when it is paid and not cancelled (ordering's
COUNTED_STATUSES); its GMV is what its lines pay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from backend.analytics.periods import Period
from backend.analytics.scope import Scope, china_day
from backend.coupons import service as coupons_service
from backend.infra import exports
from backend.infra.exports import Column, Kind, china_time
from backend.kernel.errors import NotFound
from backend.kernel.money import round_half_up
from backend.livestream import service as livestream_service
from backend.ordering import service as ordering_service
from backend.ordering.service import EffectOrder
from backend.org import service as org_service
from backend.promotions import service as promotions_service
from backend.promotions.service import EffectPromotion

# A point is worth a fen, as display programs charge points to their budgets.
POINT_VALUE_FEN = 1
DISCOUNT_KINDS = frozenset({"special_price", "reduction", "discount"})


class PromotionNotFound(NotFound):
    code = "analytics.promotion_not_found"
    message = "找不到该活动"


# ---- periods and ratios -----------------------------------------------------------------------


def _one_decimal(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def pct(part: int | Fraction, base: int | Fraction) -> float | None:
    """part / base in percent, one decimal; None when the base is 0."""
    return None if not base else _one_decimal(Fraction(part) * 100 / Fraction(base))


def ratio(part: int | Fraction, base: int | Fraction) -> float | None:
    """part / base, one decimal; None when the base is 0."""
    return None if not base else _one_decimal(Fraction(part) / Fraction(base))


def pct_text(value: float | None) -> str | None:
    return None if value is None else f"{value}%"


def ratio_text(value: float | None) -> str | None:
    return None if value is None else str(value)


# ---- promotions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cost:
    """What a promotion gave on the orders holding it."""

    discount_fen: int = 0  # special prices, reductions and discounts off the lines
    gift_fen: int = 0  # gift lines at list value (no cost price is kept)
    rebate_fen: int = 0
    points: int = 0

    @property
    def points_fen(self) -> int:
        return self.points * POINT_VALUE_FEN

    @property
    def total_fen(self) -> int:
        return self.discount_fen + self.gift_fen + self.rebate_fen + self.points_fen

    def view(self) -> dict[str, int]:
        return {
            "discount_fen": self.discount_fen,
            "gift_fen": self.gift_fen,
            "rebate_fen": self.rebate_fen,
            "points": self.points,
            "points_fen": self.points_fen,
            "total_fen": self.total_fen,
        }


def cost_of(promotion_id: int, orders: Iterable[EffectOrder]) -> Cost:
    """The promotion's part of each order, as the order recorded it when placed."""
    discount = gift = rebate = points = 0
    for order in orders:
        gift += order.gifts_fen.get(promotion_id, 0)
        for applied in order.promotions:
            if int(applied.get("promotion_id", 0)) != promotion_id:
                continue
            kind, amount = applied.get("kind"), int(applied.get("amount_fen") or 0)
            if kind in DISCOUNT_KINDS:
                discount += amount
            elif kind == "rebate":
                rebate += amount
            points += int(applied.get("points") or 0)
    return Cost(discount, gift, rebate, points)


@dataclass(frozen=True, slots=True)
class Group:
    """A group of stores' counted orders and GMV during a promotion and in the equal period
    before it."""

    stores: int
    orders_during: int
    gmv_during: int
    orders_before: int
    gmv_before: int

    def per_store(self, gmv: int) -> Fraction:
        return Fraction(gmv, self.stores) if self.stores else Fraction(0)

    def view(self) -> dict[str, Any]:
        def side(orders: int, gmv: int) -> dict[str, Any]:
            return {
                "orders": orders,
                "gmv_fen": gmv,
                "orders_per_store": ratio(orders, self.stores),
                "gmv_per_store_fen": round_half_up(gmv, self.stores) if self.stores else None,
            }

        return {
            "stores": self.stores,
            "during": side(self.orders_during, self.gmv_during),
            "before": side(self.orders_before, self.gmv_before),
            "change_pct": pct(self.gmv_during - self.gmv_before, self.gmv_before),
        }


def group(
    stores: set[int], during: dict[int, tuple[int, int]], before: dict[int, tuple[int, int]]
) -> Group:
    def total(figures: dict[int, tuple[int, int]], index: int) -> int:
        return sum(figures[store][index] for store in stores if store in figures)

    return Group(
        len(stores), total(during, 0), total(during, 1), total(before, 0), total(before, 1)
    )


def incremental_gmv(reached: Group, others: Group) -> int:
    """The reached stores' GMV the promotion added: their per-store change from before to
    during, less the change the other stores saw anyway, times the reached stores."""
    change = reached.per_store(reached.gmv_during) - reached.per_store(reached.gmv_before)
    if others.stores:
        change -= others.per_store(others.gmv_during) - others.per_store(others.gmv_before)
    total = change * reached.stores
    return round_half_up(total.numerator, total.denominator)


def _promotion_view(promotion: EffectPromotion) -> dict[str, Any]:
    return {
        "id": promotion.id,
        "name": promotion.name,
        "kind": promotion.kind,
        "kind_name": promotion.kind_name,
        "status_name": promotion.status_name,
        "starts_at": promotion.starts_at.isoformat(),
        "ends_at": promotion.ends_at.isoformat(),
        "budget_fen": promotion.budget_fen,
        "budget_spent_fen": promotion.committed_fen,
    }


async def _holding(brand_id: int, promotion_ids: Sequence[int]) -> dict[int, list[EffectOrder]]:
    """Per promotion, the counted orders that hold it."""
    uses = await promotions_service.analytics_effect_uses(promotion_ids)
    orders = {
        order.id: order
        for order in await ordering_service.analytics_effect_orders(
            brand_id, [order_id for held in uses.values() for order_id in held]
        )
    }
    return {
        promotion_id: [orders[order_id] for order_id in held if order_id in orders]
        for promotion_id, held in uses.items()
    }


async def promotions(scope: Scope, span: Period) -> dict[str, Any]:
    """The promotions that ran in the period, each with the orders and stores holding it,
    their GMV, what it cost and GMV per fen of cost."""
    found = await promotions_service.analytics_effect_promotions(
        scope.brand_id, span.start_at, span.end_at
    )
    holding = await _holding(scope.brand_id, [promotion.id for promotion in found])
    rows = []
    for promotion in found:
        orders = holding.get(promotion.id, [])
        cost = cost_of(promotion.id, orders)
        gmv = sum(order.gmv_fen for order in orders)
        rows.append(
            {
                **_promotion_view(promotion),
                "orders": len(orders),
                "stores": len({order.store_id for order in orders}),
                "gmv_fen": gmv,
                "cost_fen": cost.total_fen,
                "roi": ratio(gmv, cost.total_fen),
            }
        )
    total_gmv = sum(row["gmv_fen"] for row in rows)
    total_cost = sum(row["cost_fen"] for row in rows)
    return {
        **span.view(),
        "rows": rows,
        "total": {
            "promotions": len(rows),
            "orders": sum(row["orders"] for row in rows),
            "gmv_fen": total_gmv,
            "cost_fen": total_cost,
            "roi": ratio(total_gmv, total_cost),
        },
    }


async def promotion(scope: Scope, promotion_id: int, now: datetime) -> dict[str, Any]:
    """One promotion's effect: see the module's docstring. During: from its start to its
    end (or now, while it runs); before: the equal period just before it."""
    found = await promotions_service.analytics_effect_promotion(scope.brand_id, promotion_id)
    if found is None:
        raise PromotionNotFound()
    during_end = max(min(found.ends_at, now), found.starts_at)
    before_start = found.starts_at - (during_end - found.starts_at)
    orders = (await _holding(scope.brand_id, [found.id]))[found.id]
    during = await ordering_service.analytics_store_totals(
        scope.brand_id, found.starts_at, during_end
    )
    before = await ordering_service.analytics_store_totals(
        scope.brand_id, before_start, found.starts_at
    )
    reached_ids = {order.store_id for order in orders}
    everyone = set(await org_service.active_store_ids(scope.brand_id)) | set(during) | set(before)
    reached = group(reached_ids, during, before)
    others = group(everyone - reached_ids, during, before)
    cost = cost_of(found.id, orders)
    added = incremental_gmv(reached, others)
    gmv_with = sum(order.gmv_fen for order in orders)
    return {
        "promotion": _promotion_view(found),
        "during": {"start_at": found.starts_at.isoformat(), "end_at": during_end.isoformat()},
        "before": {"start_at": before_start.isoformat(), "end_at": found.starts_at.isoformat()},
        "orders": len(orders),
        "gmv_fen": gmv_with,
        "reached": reached.view(),
        "others": others.view(),
        "uplift": {
            "vs_before_pct": reached.view()["change_pct"],
            "vs_others_pct": pct(
                reached.per_store(reached.gmv_during) - others.per_store(others.gmv_during),
                others.per_store(others.gmv_during),
            ),
            "incremental_gmv_fen": added,
        },
        "cost": {
            **cost.view(),
            "budget_fen": found.budget_fen,
            "budget_spent_fen": found.committed_fen,
            "budget_spent_pct": pct(found.committed_fen, found.budget_fen or 0),
        },
        "return": {
            "ratio": ratio(reached.gmv_during, cost.total_fen),
            "orders_ratio": ratio(gmv_with, cost.total_fen),
            "incremental_ratio": ratio(added, cost.total_fen),
        },
    }


PROMOTIONS_TABLE = exports.Table(
    "促销效果",
    (
        Column("活动", 24),
        Column("类型", 8),
        Column("状态", 8),
        Column("开始", 17, Kind.TIME),
        Column("结束", 17, Kind.TIME),
        Column("参与订单", 10, Kind.NUMBER),
        Column("参与门店", 10, Kind.NUMBER),
        Column("参与订单成交额(元)", 18, Kind.MONEY),
        Column("成本(元)", 14, Kind.MONEY),
        Column("活动资金(元)", 14, Kind.MONEY, blank="不限"),
        Column("已用资金(元)", 14, Kind.MONEY),
        Column("投入产出比", 10),
    ),
)


def promotions_xlsx(report: dict[str, Any]) -> bytes:
    return exports.xlsx_file(
        PROMOTIONS_TABLE,
        (
            (
                row["name"],
                row["kind_name"],
                row["status_name"],
                china_time(datetime.fromisoformat(row["starts_at"])),
                china_time(datetime.fromisoformat(row["ends_at"])),
                row["orders"],
                row["stores"],
                row["gmv_fen"],
                row["cost_fen"],
                row["budget_fen"],
                row["budget_spent_fen"],
                ratio_text(row["roi"]),
            )
            for row in report["rows"]
        ),
    )


PROMOTION_TABLE = exports.Table(
    "活动效果对比",
    (
        Column("门店组", 16),
        Column("门店数", 8, Kind.NUMBER),
        Column("活动期订单", 12, Kind.NUMBER),
        Column("活动期成交额(元)", 18, Kind.MONEY),
        Column("活动期店均(元)", 16, Kind.MONEY),
        Column("前期订单", 10, Kind.NUMBER),
        Column("前期成交额(元)", 16, Kind.MONEY),
        Column("前期店均(元)", 14, Kind.MONEY),
        Column("环比", 10),
    ),
)
GROUP_NAMES = (("reached", "参与活动门店"), ("others", "未参与门店"))


def promotion_xlsx(report: dict[str, Any]) -> bytes:
    return exports.xlsx_file(
        PROMOTION_TABLE,
        (
            (
                name,
                report[key]["stores"],
                report[key]["during"]["orders"],
                report[key]["during"]["gmv_fen"],
                report[key]["during"]["gmv_per_store_fen"],
                report[key]["before"]["orders"],
                report[key]["before"]["gmv_fen"],
                report[key]["before"]["gmv_per_store_fen"],
                pct_text(report[key]["change_pct"]),
            )
            for key, name in GROUP_NAMES
        ),
    )


# ---- coupons ----------------------------------------------------------------------------------


async def coupons(scope: Scope, span: Period, now: datetime) -> dict[str, Any]:
    """Per template, its coupons handed out in the period: issued and claimed, used and
    expired by now with their rates, and the counted orders using them (GMV, discount, GMV
    per fen of discount)."""
    templates = await coupons_service.analytics_effect_coupons(
        scope.brand_id, span.start_at, span.end_at, now
    )
    orders = {
        order.id: order
        for order in await ordering_service.analytics_effect_orders(
            scope.brand_id, [order_id for t in templates for order_id in t.used_order_ids]
        )
    }
    rows = []
    for template in templates:
        rows.append(
            _funnel(
                {"template_id": template.template_id, "name": template.name},
                template.kind_name,
                (template.issued, template.claimed, template.used, template.expired),
                _using(template, orders),
            )
        )
    totals = (
        sum(row["issued"] for row in rows),
        sum(row["claimed"] for row in rows),
        sum(row["used"] for row in rows),
        sum(row["expired"] for row in rows),
    )
    every_order = [order for template in templates for order in _using(template, orders)]
    return {**span.view(), "rows": rows, "total": _funnel({}, None, totals, every_order)}


def _using(
    template: coupons_service.EffectTemplate, orders: dict[int, EffectOrder]
) -> list[EffectOrder]:
    return [orders[order_id] for order_id in template.used_order_ids if order_id in orders]


def _funnel(
    head: dict[str, Any],
    kind_name: str | None,
    counts: tuple[int, int, int, int],
    using: Sequence[EffectOrder],
) -> dict[str, Any]:
    issued, claimed, used, expired = counts
    received = issued + claimed
    gmv = sum(order.gmv_fen for order in using)
    discount = sum(order.coupon_discount_fen for order in using)
    view = {
        **head,
        "issued": issued,
        "claimed": claimed,
        "received": received,
        "used": used,
        "expired": expired,
        "unused": received - used - expired,
        "use_pct": pct(used, received),
        "expire_pct": pct(expired, received),
        "orders": len(using),
        "gmv_fen": gmv,
        "discount_fen": discount,
        "roi": ratio(gmv, discount),
    }
    if kind_name is not None:
        view["kind_name"] = kind_name
    return view


COUPONS_TABLE = exports.Table(
    "优惠券效果",
    (
        Column("优惠券", 20),
        Column("类型", 8),
        Column("发放", 8, Kind.NUMBER),
        Column("领取", 8, Kind.NUMBER),
        Column("使用", 8, Kind.NUMBER),
        Column("过期", 8, Kind.NUMBER),
        Column("未使用", 8, Kind.NUMBER),
        Column("使用率", 10),
        Column("过期率", 10),
        Column("用券订单", 10, Kind.NUMBER),
        Column("用券成交额(元)", 16, Kind.MONEY),
        Column("券抵扣(元)", 14, Kind.MONEY),
        Column("投入产出比", 10),
    ),
)


def coupons_xlsx(report: dict[str, Any]) -> bytes:
    return exports.xlsx_file(
        COUPONS_TABLE,
        (
            (
                row["name"],
                row["kind_name"],
                row["issued"],
                row["claimed"],
                row["used"],
                row["expired"],
                row["unused"],
                pct_text(row["use_pct"]),
                pct_text(row["expire_pct"]),
                row["orders"],
                row["gmv_fen"],
                row["discount_fen"],
                ratio_text(row["roi"]),
            )
            for row in report["rows"]
        ),
    )


# ---- live sessions ----------------------------------------------------------------------------

SESSION_STATUS_NAMES = {"scheduled": "未开始", "live": "直播中", "ended": "已结束"}


@dataclass
class LiveFigures:
    """Sums over sessions: a session's own, a month's or the period's."""

    sessions: int = 0
    invited: int = 0
    joined: int = 0
    ordered: int = 0
    orders: int = 0
    gmv_fen: int = 0
    rains: int = 0
    rain_fen: int = 0
    drops: int = 0
    drop_claims: int = 0

    def add(self, other: LiveFigures) -> None:
        self.sessions += other.sessions
        self.invited += other.invited
        self.joined += other.joined
        self.ordered += other.ordered
        self.orders += other.orders
        self.gmv_fen += other.gmv_fen
        self.rains += other.rains
        self.rain_fen += other.rain_fen
        self.drops += other.drops
        self.drop_claims += other.drop_claims

    def view(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "invited": self.invited,
            "joined": self.joined,
            "ordered": self.ordered,
            "join_pct": pct(self.joined, self.invited),
            "order_pct": pct(self.ordered, self.joined),
            "orders": self.orders,
            "gmv_fen": self.gmv_fen,
            "gmv_per_order_fen": round_half_up(self.gmv_fen, self.orders) if self.orders else None,
            "rains": self.rains,
            "rain_fen": self.rain_fen,
            "drops": self.drops,
            "drop_claims": self.drop_claims,
            "rain_fen_per_order": round_half_up(self.rain_fen, self.orders)
            if self.orders
            else None,
            "drop_claims_per_order": ratio(self.drop_claims, self.orders),
        }


def _session_figures(
    session: livestream_service.EffectSession, counted: dict[int, EffectOrder]
) -> LiveFigures:
    orders = [counted[order_id] for order_id, _ in session.orders if order_id in counted]
    ordered = {order.store_id for order in orders}
    return LiveFigures(
        sessions=1,
        invited=session.invited,
        joined=len(session.joined),
        ordered=len(ordered),
        orders=len(orders),
        gmv_fen=sum(order.gmv_fen for order in orders),
        rains=session.rains,
        rain_fen=session.rain_fen,
        drops=session.drops,
        drop_claims=session.drop_claims,
    )


async def live(scope: Scope, span: Period) -> dict[str, Any]:
    """Per session starting in the period (the distributor's own for its staff): invited →
    joined → ordered, orders and GMV (counted orders placed in the room), red packets granted
    and coupons taken, per order; and the same by month."""
    sessions = await livestream_service.analytics_effect_sessions(
        scope.brand_id,
        None if scope.whole_brand else scope.distributor_id,
        span.start_at,
        span.end_at,
    )
    counted = {
        order.id: order
        for order in await ordering_service.analytics_effect_orders(
            scope.brand_id, [order_id for s in sessions for order_id, _ in s.orders]
        )
    }
    names = await org_service.names(
        scope.brand_id, "distributor", {s.distributor_id for s in sessions}
    )
    rows: list[dict[str, Any]] = []
    months: dict[str, LiveFigures] = {}
    total = LiveFigures()
    for session in sessions:
        figures = _session_figures(session, counted)
        month = china_day(session.starts_at).strftime("%Y-%m")
        months.setdefault(month, LiveFigures()).add(figures)
        total.add(figures)
        rows.append(
            {
                "id": session.id,
                "title": session.title,
                "distributor_id": session.distributor_id,
                "distributor_name": names.get(session.distributor_id, ""),
                "status_name": SESSION_STATUS_NAMES.get(session.status, session.status),
                "starts_at": session.starts_at.isoformat(),
                "peak_viewers": session.peak_viewers,
                **figures.view(),
            }
        )
    return {
        **span.view(),
        "rows": rows,
        "months": [{"month": month, **months[month].view()} for month in sorted(months)],
        "total": total.view(),
    }


LIVE_TABLE = exports.Table(
    "直播效果",
    (
        Column("直播", 20),
        Column("经销商", 16),
        Column("开始", 17, Kind.TIME),
        Column("邀请门店", 10, Kind.NUMBER),
        Column("进入门店", 10, Kind.NUMBER),
        Column("下单门店", 10, Kind.NUMBER),
        Column("进入率", 10),
        Column("下单率", 10),
        Column("订单", 8, Kind.NUMBER),
        Column("成交额(元)", 14, Kind.MONEY),
        Column("红包雨", 8, Kind.NUMBER),
        Column("红包发出(元)", 14, Kind.MONEY),
        Column("每单红包(元)", 14, Kind.MONEY),
        Column("发券", 8, Kind.NUMBER),
        Column("领券", 8, Kind.NUMBER),
        Column("每单领券", 10),
    ),
)


def live_xlsx(report: dict[str, Any]) -> bytes:
    return exports.xlsx_file(
        LIVE_TABLE,
        (
            (
                row["title"],
                row["distributor_name"],
                china_time(datetime.fromisoformat(row["starts_at"])),
                row["invited"],
                row["joined"],
                row["ordered"],
                pct_text(row["join_pct"]),
                pct_text(row["order_pct"]),
                row["orders"],
                row["gmv_fen"],
                row["rains"],
                row["rain_fen"],
                row["rain_fen_per_order"],
                row["drops"],
                row["drop_claims"],
                ratio_text(row["drop_claims_per_order"]),
            )
            for row in report["rows"]
        ),
    )
