"""Prices a store's cart under the brand's promotions: a pure function from frozen dataclasses
to frozen msgspec Structs.

`price_cart` takes the lines as priced before promotions (catalog/pricing.py), the store, the
channel, `now` and the promotions with their per-store usage and remaining budgets, and says
line by line which promotion changed which amount by how much. No IO and no clock: the same
input (in any order of promotions) gives the same output.

Eligibility, checked first: starts_at <= now < ends_at; the audience (every non-empty
dimension must match: distributor, region, tier, any tag; all empty = everyone); the channel
(empty = every channel); usage < per_store_limit; and a budget that is not used up.

Order and conditions: promotions apply by (step, priority, id). Step 1 changes line prices
(special prices only), steps 2 and 3 are order-level (reductions, discounts; step 3 is "on
top of" step 2). Gifts, rebates and points may sit at any step. Conditions (min_quantity,
min_amount_fen, a reduction's threshold, gift multiples) are measured on the scope's amount
before promotions for step 1, and after line prices (after step 1) for steps 2 and 3: so no
order-level promotion can push another out of reach, and adding a shared reduction never
raises the price (exactly so when order-level scopes are the whole cart; with overlapping
partial scopes, re-allocating a later reduction or discount can shift one fen of rounding).
Reductions and discounts are computed on the scope's *current* amount.
Rebates and points are earned after payment, on the final amounts of the chosen plan.

Bundles: each SKU of a bundle has a set quantity (2 filters + 1 purifier make one set). In
"sets" mode the scope is the units of the complete sets only (sets = the fewest of quantity //
set quantity over the bundle's SKUs): conditions, thresholds, discounts, special prices,
rebates and points are measured on those units, a gift is given once per set, and the rest of
each line (its leftover units) keeps whatever the other promotions give it. A line split into
set and leftover units is kept as segments whose amounts are split by largest remainder and
always add up to the line (see _Cart); its adjustments say how many units they were computed
on, and the application how many sets it counted. In "all_present" mode (the first meaning
of bundles, kept for the promotions made then) one complete set anywhere in the cart puts
every unit of the bundle's lines in scope.

Stacking: the candidate plans are "every shared promotion together" and, for each exclusive
promotion E that applies, "E alone" (exclusive means it combines with nothing, the safe
reading for the brand's budget). The buyer gets the plan with the lowest payable amount;
ties go to the higher rebate plus gift value, more points, more gift units, then the lower
promotion ids.

Budget: a promotion whose remaining budget is <= 0 does not apply. A money reward (special
price savings, reduction, discount, rebate) above the remaining budget is capped to it, and
the explanation says so; gifts and points are not capped (their cost is not in fen here).

Rounding (ROUNDING_RULE): amounts are integer fen. A percentage special price is rounded
half-up per unit; a discount's amount off is computed once on the scope total, half-up; a
rebate once on its base, half-up; reductions, discounts and budget caps are allocated to
lines by largest remainder, so lines always add up to the totals; points are floored. Each
application's points and rebate are then split over the lines of its scope (a bundle's set
units only) by their share of its base, by largest remainder: PricedLine.points_earned and
rebate_fen add up to the result's totals, so a refund of units takes back what they earned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Literal

import msgspec

from backend.kernel.money import allocate, percent_of, round_half_up, yuan

Channel = Literal["self", "proxy", "live"]
Stacking = Literal["shared", "exclusive"]
RewardKind = Literal["gift", "special_price", "reduction", "discount", "rebate", "points"]
BundleMode = Literal["sets", "all_present"]

CHANNELS: frozenset[str] = frozenset({"self", "proxy", "live"})
TIERS: frozenset[str] = frozenset({"A", "B", "C", "D"})

ROUNDING_RULE = (
    "金额均以分为单位：按比例的特价按单价四舍五入到分；折扣优惠按活动范围合计金额一次计算、"
    "四舍五入到分；返利按基数一次四舍五入到分；满减、折扣及资金封顶按最大余额法分摊到各行，"
    "各行之和恰好等于合计；成套组合只计凑齐的整套件数，一行中成套与多余件数的金额按件数以最大余额法拆分；"
    "积分按实付金额计算后向下取整。"
)

SKIP_MESSAGES: Mapping[str, str] = {
    "promo.not_started": "活动尚未开始",
    "promo.ended": "活动已结束",
    "promo.channel": "该下单渠道不参与此活动",
    "promo.audience": "您的门店不在活动范围内",
    "promo.limit_reached": "已达到本活动的参与次数上限",
    "promo.budget_exhausted": "活动资金已用完",
    "promo.out_of_scope": "购物车中没有参与活动的商品",
    "promo.bundle_incomplete": "组合商品未凑齐一套（每种商品需达到一套的件数）",
    "promo.condition_unmet": "未达到活动条件",
    "promo.no_effect": "当前价格已低于活动价，活动无额外优惠",
    "promo.lost_to_exclusive": "与更优惠的独享活动不能同时使用",
    "promo.not_best_choice": "独享活动不可叠加，已为您选择更优惠的方案",
}


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class StoreProfile:
    store_id: int
    distributor_id: int
    region_id: int | None
    tier: str
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown store tier {self.tier!r}")


class CartLine(msgspec.Struct, frozen=True, gc=False):
    """One line as priced before promotions: `unit_price_fen` is the store's own price. A
    Struct, as the outputs are (see there): a quote makes one per line."""

    sku_id: int
    category_id: int
    quantity: int
    list_unit_price_fen: int
    unit_price_fen: int

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError("quantity must be positive")
        if self.list_unit_price_fen < 0 or self.unit_price_fen < 0:
            raise ValueError("prices must not be negative")


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may use a promotion: each non-empty dimension must match; all empty = everyone."""

    distributor_ids: frozenset[int] = frozenset()
    region_ids: frozenset[int] = frozenset()
    tiers: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def admits(self, store: StoreProfile) -> bool:
        return (
            (not self.distributor_ids or store.distributor_id in self.distributor_ids)
            and (not self.region_ids or store.region_id in self.region_ids)
            and (not self.tiers or store.tier in self.tiers)
            and (not self.tags or bool(self.tags & store.tags))
        )


@dataclass(frozen=True, slots=True)
class BundlePart:
    """One SKU of a bundle and how many of its units make one set (2 filters + 1 purifier)."""

    sku_id: int
    set_quantity: int = 1

    def __post_init__(self) -> None:
        if self.set_quantity < 1:
            raise ValueError("a set quantity is at least 1")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which lines a promotion covers: listed SKUs or categories (both empty = every line),
    or a bundle. A bundle in "sets" mode covers only the units of its complete sets (the
    fewest of quantity // set_quantity over its SKUs); in "all_present" mode (how bundles
    were first defined) it covers every unit of its lines once each SKU has a set's worth."""

    sku_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    bundle: tuple[BundlePart, ...] = ()
    bundle_mode: BundleMode = "sets"
    # Derived from `bundle`, kept because every scope test of every plan reads them.
    bundle_sku_ids: frozenset[int] = field(init=False, repr=False, compare=False)
    counts_sets: bool = field(init=False, repr=False, compare=False)
    # A quote looks each scope up by value (_Portions): hashing the fields afresh each time
    # (a tuple of them, a bundle's parts one by one) cost more than the lookup saved.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.bundle and (self.sku_ids or self.category_ids):
            raise ValueError("a bundle scope names its SKUs only")
        if self.bundle_mode not in ("sets", "all_present"):
            raise ValueError(f"unknown bundle mode {self.bundle_mode!r}")
        skus = frozenset(part.sku_id for part in self.bundle)
        if len(skus) != len(self.bundle):
            raise ValueError("a bundle names each SKU once")
        object.__setattr__(self, "bundle_sku_ids", skus)
        object.__setattr__(self, "counts_sets", bool(skus) and self.bundle_mode == "sets")
        key = (self.sku_ids, self.category_ids, self.bundle, self.bundle_mode)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def covers(self, line: CartLine) -> bool:
        if self.bundle_sku_ids:
            return line.sku_id in self.bundle_sku_ids
        if not self.sku_ids and not self.category_ids:
            return True
        return line.sku_id in self.sku_ids or line.category_id in self.category_ids


@dataclass(frozen=True, slots=True)
class Conditions:
    """Thresholds on the scope: total quantity and amount (see the module doc for which amount).
    "More than 5" is min_quantity=6."""

    min_quantity: int = 0
    min_amount_fen: int = 0

    def __post_init__(self) -> None:
        if self.min_quantity < 0 or self.min_amount_fen < 0:
            raise ValueError("conditions must not be negative")


@dataclass(frozen=True, slots=True)
class Gift:
    """Free lines: `quantity` of `sku_id`, times each full multiple of the conditions when
    `per_multiple` (e.g. one faucet per full 2,000 yuan). `value_fen` is one unit's worth."""

    sku_id: int
    quantity: int
    value_fen: int = 0
    per_multiple: bool = False

    def __post_init__(self) -> None:
        if self.quantity <= 0 or self.value_fen < 0:
            raise ValueError("a gift needs a positive quantity and a non-negative value")


@dataclass(frozen=True, slots=True)
class SpecialPrice:
    """A fixed unit price, or `percent_of_list`% of the list price; never raises a line."""

    unit_price_fen: int | None = None
    percent_of_list: Decimal | None = None
    # percent_of_list / 100 as a fraction (numerator, denominator), for the price of each
    # line: money.percent_of's arithmetic without taking the Decimal apart every time.
    list_ratio: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.unit_price_fen is None) == (self.percent_of_list is None):
            raise ValueError("a special price is either a fixed price or a percentage")
        if self.unit_price_fen is not None and self.unit_price_fen < 0:
            raise ValueError("a special price must not be negative")
        ratio = (0, 1)
        if self.percent_of_list is not None:
            _check_percent(self.percent_of_list, upper=None)
            numerator, denominator = self.percent_of_list.as_integer_ratio()
            ratio = (numerator, denominator * 100)
        object.__setattr__(self, "list_ratio", ratio)


@dataclass(frozen=True, slots=True)
class Reduction:
    """满{threshold}减{amount_off} once, or for every full threshold (每满) when `every`."""

    threshold_fen: int
    amount_off_fen: int
    every: bool = False

    def __post_init__(self) -> None:
        if self.threshold_fen <= 0 or self.amount_off_fen <= 0:
            raise ValueError("a reduction needs a positive threshold and amount")


@dataclass(frozen=True, slots=True)
class Discount:
    """Pay `percent`% of the scope's current amount: 9折 is Decimal("90")."""

    percent: Decimal

    def __post_init__(self) -> None:
        _check_percent(self.percent, upper=Decimal(100))


@dataclass(frozen=True, slots=True)
class Rebate:
    """After payment, `percent`% of the scope's list or paid amount, to the rebate balance."""

    percent: Decimal
    base: Literal["list", "paid"] = "paid"

    def __post_init__(self) -> None:
        _check_percent(self.percent, upper=None)
        if self.base not in ("list", "paid"):
            raise ValueError("a rebate base is list or paid")


@dataclass(frozen=True, slots=True)
class Points:
    """`per_yuan` points per yuan paid in scope, times `multiplier` on the part above
    `threshold_fen` (None: no higher tier)."""

    per_yuan: Decimal
    threshold_fen: int | None = None
    multiplier: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        _check_percent(self.per_yuan, upper=None)
        _check_percent(self.multiplier, upper=None)
        if self.threshold_fen is not None and self.threshold_fen < 0:
            raise ValueError("a points threshold must not be negative")


Reward = Gift | SpecialPrice | Reduction | Discount | Rebate | Points

_KINDS: dict[type, RewardKind] = {
    Gift: "gift",
    SpecialPrice: "special_price",
    Reduction: "reduction",
    Discount: "discount",
    Rebate: "rebate",
    Points: "points",
}


@dataclass(frozen=True, slots=True)
class Promotion:
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    reward: Reward
    audience: Audience = Audience()
    channels: frozenset[str] = frozenset()
    scope: Scope = Scope()
    conditions: Conditions = Conditions()
    stacking: Stacking = "shared"
    step: int = 2
    priority: int = 0
    per_store_limit: int | None = None
    # Derived, because every quote reads them for every promotion: the reward's kind, and
    # the window in microseconds since the epoch (comparing aware datetimes asks both for
    # their UTC offset, and cost more than the other eligibility checks together).
    kind: RewardKind = field(init=False, repr=False, compare=False)
    starts_us: int = field(init=False, repr=False, compare=False)
    ends_us: int = field(init=False, repr=False, compare=False)
    # The order promotions apply in (see price_cart), kept as every quote sorts by it.
    order: tuple[int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("promotion times must be timezone-aware")
        object.__setattr__(self, "kind", _KINDS[type(self.reward)])
        object.__setattr__(self, "order", (self.step, self.priority, self.id))
        object.__setattr__(self, "starts_us", _micros(self.starts_at))
        object.__setattr__(self, "ends_us", _micros(self.ends_at))
        if self.ends_at <= self.starts_at:
            raise ValueError("a promotion must end after it starts")
        if not self.channels <= CHANNELS:
            raise ValueError(f"unknown channels {sorted(self.channels - CHANNELS)}")
        if self.stacking not in ("shared", "exclusive"):
            raise ValueError(f"unknown stacking {self.stacking!r}")
        if self.step not in (1, 2, 3):
            raise ValueError("step is 1 (line prices), 2 (reductions) or 3 (on top of)")
        if isinstance(self.reward, SpecialPrice) and self.step != 1:
            raise ValueError("a special price is a line price: step 1")
        if isinstance(self.reward, Reduction | Discount) and self.step == 1:
            raise ValueError("reductions and discounts are order-level: step 2 or 3")
        if (
            isinstance(self.reward, Gift)
            and self.reward.per_multiple
            and not (self.conditions.min_quantity or self.conditions.min_amount_fen)
        ):
            raise ValueError("a gift per multiple needs a quantity or amount condition")
        if isinstance(self.reward, Gift) and self.reward.per_multiple and self.scope.counts_sets:
            raise ValueError("a bundle counted in sets gives its gift per set, not per multiple")
        if self.per_store_limit is not None and self.per_store_limit < 0:
            raise ValueError("a per-store limit must not be negative")


_ORDER = attrgetter("order")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(at: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch: exact, and ordered as it is."""
    return (at - _EPOCH) // _MICROSECOND


def _check_percent(value: Decimal, upper: Decimal | None) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError("percentages and multipliers are finite Decimals")
    if value < 0 or (upper is not None and value > upper):
        raise ValueError(f"percentage out of range: {value}")


# ---------------------------------------------------------------- outputs

# The outputs are frozen msgspec Structs: as immutable as the inputs' frozen dataclasses, and
# a quote makes a hundred or so of them (an adjustment per line per promotion, a line, an
# application). A Struct is made in C, four times as fast as a named tuple (a frozen
# dataclass's __init__, an object.__setattr__ per field, was slower still), and the answer's
# encoder writes it as a JSON object without a dict in between (promotions/service.py
# result_view). gc=False: they hold numbers, strings and tuples of each other, never a cycle,
# so the collector need not track them.


class Adjustment(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """`amount_fen` taken off one line by one promotion. `units`: for a bundle counted in sets,
    how many of the line's units (those inside complete sets) it was computed on; else None."""

    promotion_id: int
    kind: RewardKind
    amount_fen: int
    units: int | None = None


class PricedLine(msgspec.Struct, frozen=True, gc=False):
    sku_id: int
    category_id: int | None
    quantity: int
    list_unit_price_fen: int
    unit_price_fen: int
    list_amount_fen: int
    before_promotions_fen: int
    payable_fen: int
    adjustments: tuple[Adjustment, ...] = ()
    gift: bool = False
    # For a gift line: the promotion that gave it.
    gift_promotion_id: int | None = None
    # This line's part of the plan's points and rebate: each application's reward split over
    # the lines of its scope by their share of its base (largest remainder), so the lines add
    # up to the result's totals exactly and a refund of units takes back only what they earned.
    points_earned: int = 0
    rebate_fen: int = 0

    @property
    def promotion_discount_fen(self) -> int:
        return sum(adjustment.amount_fen for adjustment in self.adjustments)


class GrantedGift(msgspec.Struct, frozen=True, gc=False):
    promotion_id: int
    sku_id: int
    quantity: int
    value_fen: int


class AppliedPromotion(msgspec.Struct, frozen=True, gc=False):
    promotion_id: int
    name: str
    kind: RewardKind
    # Money off the order (special price, reduction, discount) or rebate earned; else 0.
    amount_fen: int = 0
    points: int = 0
    budget_capped: bool = False
    note: str = ""
    # The complete sets a bundle counted in sets applied to; None for any other scope.
    sets: int | None = None


class SkippedPromotion(msgspec.Struct, frozen=True, gc=False):
    promotion_id: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PromotionResult:
    lines: tuple[PricedLine, ...]
    list_amount_fen: int
    before_promotions_fen: int
    promotion_discount_fen: int
    payable_fen: int
    gifts: tuple[GrantedGift, ...]
    points_earned: int
    rebate_fen: int
    applied: tuple[AppliedPromotion, ...]
    skipped: tuple[SkippedPromotion, ...]
    rounding: str = ROUNDING_RULE

    @property
    def applied_ids(self) -> tuple[int, ...]:
        return tuple(applied.promotion_id for applied in self.applied)

    @property
    def gift_value_fen(self) -> int:
        return sum(gift.value_fen * gift.quantity for gift in self.gifts)


# ---------------------------------------------------------------- the engine


def price_cart(
    *,
    store: StoreProfile,
    channel: Channel,
    now: datetime,
    lines: Sequence[CartLine],
    promotions: Iterable[Promotion],
    usage: Mapping[int, int] | None = None,
    budget_left_fen: Mapping[int, int | None] | None = None,
) -> PromotionResult:
    """Apply the best valid combination of `promotions` to `lines` (see the module doc)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    ordered = sorted(promotions, key=_ORDER)
    ids = [promotion.id for promotion in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("promotion ids must be unique")
    usage = usage or {}
    budgets = budget_left_fen or {}

    skipped: dict[int, str] = {}
    eligible: list[Promotion] = []
    now_us = _micros(now)
    for promotion in ordered:
        reason = _ineligible(promotion, store, channel, now_us) or _excluded(
            promotion, usage, budgets
        )
        if reason:
            skipped[promotion.id] = reason
        else:
            eligible.append(promotion)

    portions = _Portions(lines)
    shared = [p for p in eligible if p.stacking == "shared"]
    shared_plan = _run(portions, shared, budgets)
    plans = [shared_plan]
    for promotion in eligible:
        if promotion.stacking != "exclusive":
            continue
        alone = _run(portions, [promotion], budgets)
        if alone.applied:
            plans.append(alone)
        else:
            skipped[promotion.id] = alone.failures[promotion.id]
    best = min(plans, key=_preference)
    skipped.update(_left_out(eligible, best, shared_plan, skipped))
    # Only the chosen plan's lines are built: there is one plan per exclusive promotion.
    priced = _priced_lines(lines, best)
    before = sum(portions.amounts)

    return PromotionResult(
        lines=priced,
        list_amount_fen=sum(line.list_unit_price_fen * line.quantity for line in lines),
        before_promotions_fen=before,
        # Every fen a plan takes off a line is one of its adjustments (_Cart.take), so the
        # adjustments of all lines add up to exactly this; gift lines cost and take nothing.
        promotion_discount_fen=before - best.payable_fen,
        payable_fen=best.payable_fen,
        gifts=best.gifts,
        points_earned=best.points,
        rebate_fen=best.rebate_fen,
        applied=best.applied,
        skipped=tuple(
            SkippedPromotion(promotion_id, code, SKIP_MESSAGES[code])
            for promotion_id, code in sorted(skipped.items())
        ),
    )


def _left_out(
    eligible: Sequence[Promotion], best: _Plan, shared_plan: _Plan, known: Mapping[int, str]
) -> dict[int, str]:
    """Why each eligible promotion outside the chosen plan did not apply."""
    chosen = {applied.promotion_id for applied in best.applied}
    applied_shared = {applied.promotion_id for applied in shared_plan.applied}
    reasons: dict[int, str] = {}
    for promotion in eligible:
        if promotion.id in chosen or promotion.id in known:
            continue
        if promotion.stacking == "exclusive":
            reasons[promotion.id] = "promo.not_best_choice"
        elif promotion.id in applied_shared:
            reasons[promotion.id] = "promo.lost_to_exclusive"
        else:
            reasons[promotion.id] = shared_plan.failures[promotion.id]
    return reasons


def _ineligible(promotion: Promotion, store: StoreProfile, channel: str, now_us: int) -> str | None:
    """What keeps a promotion from this store and channel now (`now_us`: see _micros), if
    anything. The first check that fails names the reason; later ones are not evaluated
    (this and _excluded run for every promotion of every quote)."""
    if now_us < promotion.starts_us:
        return "promo.not_started"
    if now_us >= promotion.ends_us:
        return "promo.ended"
    if promotion.channels and channel not in promotion.channels:
        return "promo.channel"
    if not promotion.audience.admits(store):
        return "promo.audience"
    return None


def _excluded(
    promotion: Promotion, usage: Mapping[int, int], budgets: Mapping[int, int | None]
) -> str | None:
    """The store's uses or the budget that keep an otherwise eligible promotion out."""
    limit = promotion.per_store_limit
    if limit is not None and usage.get(promotion.id, 0) >= limit:
        return "promo.limit_reached"
    budget_left = budgets.get(promotion.id)
    if budget_left is not None and budget_left <= 0:
        return "promo.budget_exhausted"
    return None


@dataclass(slots=True)
class _Plan:
    amounts: list[int] = field(default_factory=list)
    adjustments: list[list[Adjustment]] = field(default_factory=list)
    payable_fen: int = 0
    gifts: tuple[GrantedGift, ...] = ()
    points: int = 0
    rebate_fen: int = 0
    # Each line's part of `points` and `rebate_fen` (see PricedLine).
    line_points: list[int] = field(default_factory=list)
    line_rebates: list[int] = field(default_factory=list)
    applied: tuple[AppliedPromotion, ...] = ()
    failures: dict[int, str] = field(default_factory=dict)


def _preference(plan: _Plan) -> tuple[int, int, int, int, tuple[int, ...]]:
    """Lowest payable, then most rebate plus gift value, most points, most gift units (a gift
    of unstated value still beats nothing), then the lowest promotion ids."""
    gift_value = sum(gift.value_fen * gift.quantity for gift in plan.gifts)
    gift_units = sum(gift.quantity for gift in plan.gifts)
    ids = tuple(sorted(applied.promotion_id for applied in plan.applied))
    return (plan.payable_fen, -(plan.rebate_fen + gift_value), -plan.points, -gift_units, ids)


class _Cart:
    """The working state of one plan: each line's current amount and its adjustments.

    A line that a bundle counted in sets covers only in part is kept as segments of units
    (its set units come first): [[end_unit, amount], ...], cut where a portion ends, with the
    amount split by largest remainder between the two sides. A set-only change comes off the
    set segments, a whole-line one off every segment in proportion, so the set units' own
    amount stays exact however many promotions touch them, and the segments always add up to
    the line's amount."""

    def __init__(self, lines: Sequence[CartLine], amounts: list[int]) -> None:
        self.lines = lines
        self.amounts = list(amounts)  # `amounts`: each line before promotions
        self.adjustments: list[list[Adjustment]] = [[] for _ in lines]
        self.segments: dict[int, list[list[int]]] = {}
        # Amounts that conditions are measured on: before promotions for step 1; replaced by
        # the amounts after line prices once the first order-level step starts.
        self.condition_amounts = list(self.amounts)
        self.condition_segments: dict[int, list[list[int]]] = {}
        self.step = 1

    def enter_step(self, step: int) -> None:
        if step >= 2 > self.step:
            self.condition_amounts = list(self.amounts)
            self.condition_segments = {
                i: [list(segment) for segment in segments] for i, segments in self.segments.items()
            }
        self.step = step

    def current(self, portion: _Portion) -> list[int]:
        """The portion's current amount on each of its lines."""
        return self._of(portion, self.amounts, self.segments)

    def measured_total(self, portion: _Portion) -> int:
        """The portion's amount as conditions measure it."""
        if portion.whole:
            return sum(self.condition_amounts)
        if portion.units is None:  # whole lines: no segments to look at
            amounts = self.condition_amounts
            return sum([amounts[i] for i in portion.indices])
        return sum(self._of(portion, self.condition_amounts, self.condition_segments))

    def _of(
        self, portion: _Portion, amounts: list[int], segments: dict[int, list[list[int]]]
    ) -> list[int]:
        if portion.whole:
            return list(amounts)
        if portion.units is None:
            return [amounts[i] for i in portion.indices]
        shares = []
        for i, units in zip(portion.indices, portion.units, strict=True):
            quantity = self.lines[i].quantity
            if units == quantity:
                shares.append(amounts[i])
                continue
            line = segments.setdefault(i, [[quantity, amounts[i]]])
            _cut(line, units)
            shares.append(sum(amount for end, amount in line if end <= units))
        return shares

    def take(self, promotion: Promotion, portion: _Portion, parts: list[int]) -> None:
        """Take `parts` off the portion's lines: each part is at most the portion's current
        amount on its line (`current`, which also cut the segments it needs)."""
        promotion_id, kind = promotion.id, promotion.kind
        amounts, adjustments = self.amounts, self.adjustments
        if portion.units is None and not self.segments:  # whole lines, none cut: the most
            for index, part in zip(portion.indices, parts, strict=True):
                if part:
                    amounts[index] -= part
                    adjustments[index].append(Adjustment(promotion_id, kind, part))
            return
        units: Sequence[int | None] = portion.units or [None] * len(parts)
        for index, part, unit_count in zip(portion.indices, parts, units, strict=True):
            if not part:
                continue
            amounts[index] -= part
            line = self.segments.get(index)
            if line is not None:
                reach = self.lines[index].quantity if unit_count is None else unit_count
                inside = [segment for segment in line if segment[0] <= reach]
                shares = allocate(part, [segment[1] for segment in inside])
                for segment, share in zip(inside, shares, strict=True):
                    segment[1] -= share
            adjustments[index].append(Adjustment(promotion_id, kind, part, unit_count))


def _cut(segments: list[list[int]], units: int) -> None:
    """Make `units` a segment boundary: the segment across it is split by units, its amount
    by largest remainder (the two parts add up to it)."""
    start = 0
    for n, (end, amount) in enumerate(segments):
        if end == units:
            return
        if end > units:
            low, high = allocate(amount, [units - start, end - units])
            segments[n : n + 1] = [[units, low], [end, high]]
            return
        start = end


class _Portion:
    """What a promotion's scope takes of the cart: line indices and, for a bundle counted in
    sets, how many units of each line are inside complete sets (None: every unit).
    `sets` is the number of complete sets of a bundle scope (either mode), else None.
    `quantities` are the units each line has in the portion, `quantity` their sum: a
    portion depends on the scope and the cart only, so one serves every plan and every
    promotion with an equal scope (see _Portions), and nothing changes it once made (a
    plain class: a frozen dataclass costs more to make than the portion itself)."""

    __slots__ = ("indices", "quantities", "quantity", "sets", "units", "whole")

    def __init__(
        self,
        indices: list[int],
        quantities: list[int],
        units: list[int] | None = None,
        sets: int | None = None,
        *,
        lines: int,
    ) -> None:
        self.indices = indices
        self.quantities = quantities
        self.units = units
        self.sets = sets
        self.quantity = sum(quantities)
        # Every unit of every line (of `lines`): what most order-level scopes take, read
        # without going through the indices.
        self.whole = units is None and len(indices) == lines


class _Portions:
    """The portion of one cart each scope takes, computed once per distinct scope: the
    candidate plans and the promotions sharing a scope (the whole cart, one category) ask
    for the same ones. A portion is never changed once made, so sharing it is safe."""

    def __init__(self, lines: Sequence[CartLine]) -> None:
        self.lines = lines
        self.quantities = [line.quantity for line in lines]
        # Each line's amount before promotions: where every plan's cart starts.
        self.amounts = [line.unit_price_fen * line.quantity for line in lines]
        self._known: dict[Scope, _Portion] = {}

        # The lines' SKUs and categories, for _covered to test without reading each line.
        self.sku_ids = [line.sku_id for line in lines]
        self.category_ids = [line.category_id for line in lines]
        self.sku_set = frozenset(self.sku_ids)
        self.category_set = frozenset(self.category_ids)
        count = len(lines)
        self.every_line = _Portion(list(range(count)), self.quantities, lines=count)
        self.nothing = _Portion([], [], lines=count)

    def of(self, scope: Scope) -> _Portion:
        portion = self._known.get(scope)
        if portion is None:
            portion = self._known[scope] = self._covered(scope)
        return portion

    def _covered(self, scope: Scope) -> _Portion:
        """The part of the cart `scope` covers: Scope.covers, unrolled. Most scopes take
        every line (the whole cart, a category every line is in) or none (SKUs or
        categories the cart does not have): told by set operations, without the lines."""
        if scope.bundle:
            return _bundle_portion(scope, self.lines)
        skus, categories = scope.sku_ids, scope.category_ids
        if not (skus or categories) or (categories and self.category_set <= categories):
            return self.every_line
        if skus.isdisjoint(self.sku_set) and categories.isdisjoint(self.category_set):
            return self.nothing
        if not categories:
            indices = [i for i, sku_id in enumerate(self.sku_ids) if sku_id in skus]
        elif not skus:
            indices = [i for i, category in enumerate(self.category_ids) if category in categories]
        else:
            indices = [
                i
                for i, (sku_id, category) in enumerate(
                    zip(self.sku_ids, self.category_ids, strict=True)
                )
                if sku_id in skus or category in categories
            ]
        quantities = self.quantities
        return _Portion(indices, [quantities[i] for i in indices], lines=len(quantities))


def _run(
    portions: _Portions, promotions: Sequence[Promotion], budgets: Mapping[int, int | None]
) -> _Plan:
    lines = portions.lines
    cart = _Cart(lines, portions.amounts)
    plan = _Plan()
    applied: list[AppliedPromotion] = []
    gifts: list[GrantedGift] = []
    after_payment: list[tuple[Promotion, _Portion]] = []
    plan.line_points = [0] * len(lines)
    plan.line_rebates = [0] * len(lines)
    for promotion in promotions:
        cart.enter_step(promotion.step)
        portion = portions.of(promotion.scope)
        # What the conditions, thresholds and gift multiples are measured on.
        measured = cart.measured_total(portion)
        reason = _unmet(promotion, portion, measured)
        if reason:
            plan.failures[promotion.id] = reason
            continue
        reward = promotion.reward
        if isinstance(reward, Gift):
            granted = _gift(promotion, reward, portion, measured)
            gifts.append(granted)
            sets = _counted_sets(promotion, portion)
            applied.append(
                AppliedPromotion(
                    promotion.id,
                    promotion.name,
                    "gift",
                    note=_sets_note(sets) + f"赠送商品 {granted.sku_id} × {granted.quantity}",
                    sets=sets,
                )
            )
        elif isinstance(reward, Rebate | Points):
            after_payment.append((promotion, portion))
        else:
            outcome = _price_change(promotion, cart, portion, measured, budgets.get(promotion.id))
            if outcome is None:
                plan.failures[promotion.id] = "promo.no_effect"
            else:
                applied.append(outcome)
    for promotion, portion in after_payment:
        earned = _earned(promotion, cart, portion, budgets.get(promotion.id))
        if earned is None:
            plan.failures[promotion.id] = "promo.no_effect"
            continue
        outcome, per_line = earned
        applied.append(outcome)
        plan.points += outcome.points
        by_line = plan.line_points
        if promotion.kind == "rebate":
            plan.rebate_fen += outcome.amount_fen
            by_line = plan.line_rebates
        for index, part in zip(portion.indices, per_line, strict=True):
            by_line[index] += part

    plan.amounts = cart.amounts
    plan.adjustments = cart.adjustments
    plan.payable_fen = sum(cart.amounts)
    plan.gifts = tuple(gifts)
    plan.applied = tuple(applied)
    return plan


def _bundle_portion(scope: Scope, lines: Sequence[CartLine]) -> _Portion:
    """A bundle's lines and complete sets; counted in sets, only the set units of each line
    (a SKU on several lines fills its sets from the first line on)."""
    bundle = scope.bundle_sku_ids
    indices = [i for i, line in enumerate(lines) if line.sku_id in bundle]
    held: dict[int, int] = {}
    for i in indices:
        held[lines[i].sku_id] = held.get(lines[i].sku_id, 0) + lines[i].quantity
    sets = min(held.get(part.sku_id, 0) // part.set_quantity for part in scope.bundle)
    if not scope.counts_sets or not sets:
        return _Portion(indices, [lines[i].quantity for i in indices], sets=sets, lines=len(lines))
    left = {part.sku_id: sets * part.set_quantity for part in scope.bundle}
    kept: list[int] = []
    units: list[int] = []
    for i in indices:
        sku_id = lines[i].sku_id
        taken = min(lines[i].quantity, left[sku_id])
        if taken:
            left[sku_id] -= taken
            kept.append(i)
            units.append(taken)
    return _Portion(kept, units, units, sets, lines=len(lines))


def _counted_sets(promotion: Promotion, portion: _Portion) -> int | None:
    """The sets an application of `promotion` counted, for the result to say so."""
    return portion.sets if promotion.scope.counts_sets else None


def _sets_note(sets: int | None) -> str:
    return "" if sets is None else f"凑齐{sets}套，"


def _priced_lines(lines: Sequence[CartLine], plan: _Plan) -> tuple[PricedLine, ...]:
    bought = (
        PricedLine(
            sku_id=line.sku_id,
            category_id=line.category_id,
            quantity=line.quantity,
            list_unit_price_fen=line.list_unit_price_fen,
            unit_price_fen=line.unit_price_fen,
            list_amount_fen=line.list_unit_price_fen * line.quantity,
            before_promotions_fen=line.unit_price_fen * line.quantity,
            payable_fen=plan.amounts[index],
            adjustments=tuple(plan.adjustments[index]),
            points_earned=plan.line_points[index],
            rebate_fen=plan.line_rebates[index],
        )
        for index, line in enumerate(lines)
    )
    gifts = (
        PricedLine(
            sku_id=gift.sku_id,
            category_id=None,
            quantity=gift.quantity,
            list_unit_price_fen=0,
            unit_price_fen=0,
            list_amount_fen=0,
            before_promotions_fen=0,
            payable_fen=0,
            gift=True,
            gift_promotion_id=gift.promotion_id,
        )
        for gift in plan.gifts
    )
    return (*bought, *gifts)


def _unmet(promotion: Promotion, portion: _Portion, amount: int) -> str | None:
    if portion.sets == 0:
        return "promo.bundle_incomplete"
    if not portion.indices:
        return "promo.out_of_scope"
    quantity = portion.quantity
    conditions = promotion.conditions
    if quantity < conditions.min_quantity or amount < conditions.min_amount_fen:
        return "promo.condition_unmet"
    reward = promotion.reward
    if isinstance(reward, Reduction) and amount < reward.threshold_fen:
        return "promo.condition_unmet"
    return None


def _gift(promotion: Promotion, reward: Gift, portion: _Portion, measured: int) -> GrantedGift:
    """The gift's units: once, per full multiple of the conditions (`measured`: the amount
    they are measured on), or (a bundle counted in sets) per complete set."""
    multiples = 1
    if promotion.scope.counts_sets:
        assert portion.sets is not None
        multiples = portion.sets
    elif reward.per_multiple:
        conditions = promotion.conditions
        counts = []
        if conditions.min_quantity:
            counts.append(portion.quantity // conditions.min_quantity)
        if conditions.min_amount_fen:
            counts.append(measured // conditions.min_amount_fen)
        multiples = min(counts)
    return GrantedGift(promotion.id, reward.sku_id, reward.quantity * multiples, reward.value_fen)


def _price_change(
    promotion: Promotion, cart: _Cart, portion: _Portion, measured: int, budget_left: int | None
) -> AppliedPromotion | None:
    """Special price, reduction or discount: take money off the scope's lines (a bundle's set
    units only, when counted in sets), capped by the budget, and say how; None when it changes
    nothing. `measured` is what a reduction's threshold is measured on."""
    reward = promotion.reward
    current = cart.current(portion)
    scope_amount = sum(current)
    if isinstance(reward, SpecialPrice):
        # Each line's saving, never negative: the special price never raises a line.
        weights = []
        fixed, lines = reward.unit_price_fen, cart.lines
        numerator, denominator = reward.list_ratio
        quantities = portion.quantities
        for i, amount, quantity in zip(portion.indices, current, quantities, strict=True):
            if fixed is None:  # percent_of(list price, percent_of_list)
                unit = round_half_up(lines[i].list_unit_price_fen * numerator, denominator)
            else:
                unit = fixed
            weights.append(max(0, amount - unit * quantity))
        wanted = sum(weights)
        note = "特价"
    elif isinstance(reward, Reduction):
        times = measured // reward.threshold_fen if reward.every else 1
        wanted = min(times * reward.amount_off_fen, scope_amount)
        weights = current
        label = "每满" if reward.every else "满"
        note = f"{label}{yuan(reward.threshold_fen)}元减{yuan(reward.amount_off_fen)}元"
    else:
        assert isinstance(reward, Discount)
        wanted = percent_of(scope_amount, Decimal(100) - reward.percent)
        weights = current
        note = f"按{reward.percent}%计价"
    capped = budget_left is not None and wanted > budget_left
    total = min(wanted, budget_left) if budget_left is not None else wanted
    if total <= 0:
        return None
    # Each part is at most its weight (total <= sum of weights), so a line's set units never
    # give up more than they cost and its leftover units keep their amount.
    cart.take(promotion, portion, allocate(total, weights))
    sets = _counted_sets(promotion, portion)
    note = f"{_sets_note(sets)}{note}，共优惠{yuan(total)}元"
    if capped:
        note += f"（活动资金余额不足，已按剩余资金{yuan(total)}元封顶）"
    return AppliedPromotion(
        promotion.id,
        promotion.name,
        promotion.kind,
        total,
        budget_capped=capped,
        note=note,
        sets=sets,
    )


def _earned(
    promotion: Promotion, cart: _Cart, portion: _Portion, budget_left: int | None
) -> tuple[AppliedPromotion, list[int]] | None:
    """Rebate or points, earned after payment on the plan's final amounts (of the set units
    only, for a bundle counted in sets); and what each line of the portion earned of it, by
    its share of the base (largest remainder: the parts add up to the reward)."""
    reward = promotion.reward
    paid_by_line = cart.current(portion)
    paid = sum(paid_by_line)
    sets = _counted_sets(promotion, portion)
    if isinstance(reward, Points):
        earned = _points(paid, reward)
        if earned <= 0:
            return None
        note = f"{_sets_note(sets)}实付{yuan(paid)}元，获得{earned}积分"
        applied = AppliedPromotion(
            promotion.id, promotion.name, "points", points=earned, note=note, sets=sets
        )
        return applied, allocate(earned, paid_by_line)
    assert isinstance(reward, Rebate)
    if reward.base == "list":
        quantities = portion.quantities
        base_by_line = [
            cart.lines[i].list_unit_price_fen * quantity
            for i, quantity in zip(portion.indices, quantities, strict=True)
        ]
        base_label = "原价"
    else:
        base_by_line, base_label = paid_by_line, "实付"
    base = sum(base_by_line)
    wanted = percent_of(base, reward.percent)
    capped = budget_left is not None and wanted > budget_left
    amount = min(wanted, budget_left) if budget_left is not None else wanted
    if amount <= 0:
        return None
    note = f"{_sets_note(sets)}按{base_label}{yuan(base)}元的{reward.percent}%返利{yuan(amount)}元"
    if capped:
        note += f"（活动资金余额不足，已按剩余资金{yuan(amount)}元封顶）"
    applied = AppliedPromotion(
        promotion.id, promotion.name, "rebate", amount, budget_capped=capped, note=note, sets=sets
    )
    # amount > 0 and a percentage of 0 is 0, so the base (and a weight) is positive.
    return applied, allocate(amount, base_by_line)


def _points(paid_fen: int, reward: Points) -> int:
    """Points on `paid_fen`: per_yuan a yuan, times multiplier above the threshold, floored
    once on the total in exact arithmetic (fractions of a yuan count toward the next point)."""
    below = paid_fen if reward.threshold_fen is None else min(paid_fen, reward.threshold_fen)
    above = paid_fen - below
    rate_num, rate_den = reward.per_yuan.as_integer_ratio()
    mult_num, mult_den = reward.multiplier.as_integer_ratio()
    numerator = rate_num * (below * mult_den + above * mult_num)
    return numerator // (rate_den * mult_den * 100)
