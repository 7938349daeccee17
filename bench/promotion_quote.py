"""Promotion quote latency: a 200-line cart priced under 100 active promotions, in process.
Target: p99 <= 20 ms.

What is timed is one call of `backend.promotions.engine.price_cart` (pure: no IO, no clock,
no database), the whole call: eligibility, the shared plan, one plan per applicable exclusive
promotion, the choice between them and the result's dataclasses. Nothing else is in the
timed region; building the workload is not.

The workload is generated once, deterministically from --seed (`random.Random`):

- one store (tier B, tags flagship/east, distributor 7, region 31) ordering on the "self"
  channel at a fixed `now` (2026-03-15 10:00 UTC);
- --lines cart lines (default 200) of distinct SKUs spread over 20 categories, 1-20 units
  each, list prices 1,000-500,000 fen (log-uniform, so cheap fittings outnumber boilers) and
  store prices 80-100% of list;
- --promotions promotions (default 100), all inside their time window at `now`, in these
  proportions: 25% special prices (step 1), 20% reductions and 15% discounts (step 2 or 3),
  15% gifts, 10% rebates and 15% points (any step). About 10% are exclusive. Scopes are a
  few SKUs, one to three categories, a handful of bundles (some incomplete), or the whole
  cart; audiences mostly admit the store (everyone, or by its tier, tag or distributor) and
  a few do not; some are limited to other channels; conditions (minimum quantity or amount,
  reduction thresholds) are drawn from the scope's own amount so that some are met and some
  are not; some have a per-store limit (a few already reached) and some a remaining budget
  (a few small enough to cap the reward, one used up).

One run: a --warmup of untimed calls, then --iterations timed calls of each of
  promotions   price_cart(..., promotions=<the promotions>)   the figure against the target
  baseline     price_cart(..., promotions=[])                 the same cart, nothing to apply
alternating between the two call by call so that both see the same machine noise, each
timed with time.perf_counter. It prints what the promotions did to the cart (totals, applied
by kind, skipped by reason code), checks invariants on that result (lines add up to the
payable amount, nothing negative, every promotion applied or skipped exactly once, the same
result with the promotions in reverse order), then p50/p95/p99/max of both, their ratio, the
garbage collections seen during the timed calls, and the verdict.

The garbage collector stays on, so the figures include the collections the engine's own
allocations trigger (some 10,000 short-lived objects a quote). Before timing, everything
alive (modules, workload) is moved out of the collector's scans with gc.freeze(): a full
collection's pause grows with the whole heap, and this script's heap (bench_common brings
asyncpg) is an accident, not the engine's cost. --no-freeze keeps it in: then the few full
collections that land in a timed call add ~10-20 ms on a slow machine and set the p99. The
server's heap is bigger still (over 100,000 objects once its modules are imported), so there
a full collection that lands in a quote costs more again, whatever the engine does.
With --profile it then runs cProfile over more calls and prints the engine functions that
take the time (profiled calls are slower; they are not part of the figures).

Run from the project root:

    .venv/bin/python bench/promotion_quote.py                      # 300 timed calls of each
    .venv/bin/python bench/promotion_quote.py --iterations 1000 --profile

Exit status 0 when the invariants hold and the p99 meets the target, else 1.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import pstats
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench_common import percentile

from backend.promotions.engine import (
    Audience,
    BundlePart,
    CartLine,
    Channel,
    Conditions,
    Discount,
    Gift,
    Points,
    Promotion,
    PromotionResult,
    Rebate,
    Reduction,
    Reward,
    Scope,
    SpecialPrice,
    StoreProfile,
    price_cart,
)

TARGET_P99_MS = 20.0
NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
CHANNEL: Channel = "self"
CATEGORIES = 20
FIRST_SKU_ID = 10_001
FIRST_GIFT_SKU_ID = 90_001
STORE = StoreProfile(
    store_id=501,
    distributor_id=7,
    region_id=31,
    tier="B",
    tags=frozenset({"flagship", "east"}),
)

# Reward forms per 100 promotions; a run with another --promotions keeps the proportions.
KIND_SHARES = {
    "special_price": 25,
    "reduction": 20,
    "discount": 15,
    "gift": 15,
    "rebate": 10,
    "points": 15,
}
EXCLUSIVE_SHARE = 0.10


# --- workload ------------------------------------------------------------------------------


def rounded_fen(amount: float, unit: int) -> int:
    """`amount` to the nearest multiple of `unit` fen, as an int (the engine wants int fen)."""
    return unit * round(amount / unit)


def build_cart(rng: random.Random, line_count: int) -> list[CartLine]:
    sku_ids = list(range(FIRST_SKU_ID, FIRST_SKU_ID + line_count))
    rng.shuffle(sku_ids)  # cart order is not SKU order
    lines = []
    for index, sku_id in enumerate(sku_ids):
        # Log-uniform: as many lines at 10-100 yuan as at 1,000-5,000 yuan.
        list_price = rounded_fen(math.exp(rng.uniform(math.log(1_000), math.log(500_000))), 10)
        list_price = min(500_000, max(1_000, list_price))
        store_price = int(list_price * rng.uniform(0.80, 1.00))
        lines.append(
            CartLine(
                sku_id=sku_id,
                # Round-robin over the shuffled SKUs: every category gets 10 lines of 200.
                category_id=1 + index % CATEGORIES,
                quantity=rng.randint(1, 20),
                list_unit_price_fen=list_price,
                unit_price_fen=store_price,
            )
        )
    return lines


def draw_scope(rng: random.Random, lines: Sequence[CartLine], kind: str) -> Scope:
    """SKUs, categories, a bundle or the whole cart, in proportions that suit the kind."""
    sku_ids = [line.sku_id for line in lines]
    if kind == "special_price":
        shape = rng.choices(["skus", "categories"], weights=[4, 1])[0]
    elif kind == "gift":
        shape = rng.choices(["skus", "categories", "bundle", "cart"], weights=[2, 3, 3, 2])[0]
    else:
        shape = rng.choices(["skus", "categories", "bundle", "cart"], weights=[2, 5, 1, 2])[0]
    if shape == "skus":
        chosen = set(rng.sample(sku_ids, rng.randint(1, 8)))
        if rng.random() < 0.1:
            # A promotion on SKUs this store did not order: out of scope.
            chosen = {FIRST_SKU_ID + len(lines) + rng.randint(0, 500)}
        return Scope(sku_ids=frozenset(chosen))
    if shape == "categories":
        return Scope(
            category_ids=frozenset(rng.sample(range(1, CATEGORIES + 1), rng.randint(1, 3)))
        )
    if shape == "bundle":
        bundle = set(rng.sample(sku_ids, rng.randint(2, 3)))
        if rng.random() < 0.3:
            bundle.add(FIRST_SKU_ID + len(lines) + rng.randint(0, 500))  # one part not ordered
        # Mostly counted in complete sets, some parts two to a set; a few of the first kind.
        return Scope(
            bundle=tuple(BundlePart(sku_id, rng.choice([1, 1, 2])) for sku_id in sorted(bundle)),
            bundle_mode=rng.choice(["sets", "sets", "all_present"]),
        )
    return Scope()


def scope_totals(scope: Scope, lines: Sequence[CartLine]) -> tuple[int, int]:
    """Quantity and amount before promotions of the lines a scope covers."""
    covered = [line for line in lines if scope.covers(line)]
    return (
        sum(line.quantity for line in covered),
        sum(line.unit_price_fen * line.quantity for line in covered),
    )


def draw_conditions(
    rng: random.Random, quantity: int, amount: int, *, required: bool
) -> Conditions:
    """Thresholds about 3 in 4 times within reach of the scope, else above it."""
    if not required and rng.random() < 0.6:
        return Conditions()
    reach = rng.uniform(0.2, 0.8) if rng.random() < 0.75 else rng.uniform(1.2, 2.0)
    if rng.random() < 0.5:
        return Conditions(min_quantity=max(1, int(quantity * reach)))
    return Conditions(min_amount_fen=max(100, rounded_fen(amount * reach, 100)))


def draw_audience(rng: random.Random) -> Audience:
    roll = rng.random()
    if roll < 0.60:
        return Audience()
    if roll < 0.75:
        return Audience(tiers=frozenset({"A", "B"}))
    if roll < 0.85:
        return Audience(tags=frozenset({"flagship", "new_store"}))
    if roll < 0.95:
        return Audience(distributor_ids=frozenset({7, 12}), region_ids=frozenset({31}))
    # Not this store: another tier or another distributor.
    return rng.choice([Audience(tiers=frozenset({"A"})), Audience(distributor_ids=frozenset({8}))])


def draw_channels(rng: random.Random) -> frozenset[str]:
    roll = rng.random()
    if roll < 0.75:
        return frozenset()
    if roll < 0.95:
        return frozenset({"self", "proxy"})
    return frozenset({"live"})  # a live-stream-only deal: not on this order's channel


def draw_reward(
    rng: random.Random, kind: str, scope: Scope, lines: Sequence[CartLine]
) -> tuple[Reward, Conditions, int]:
    """The reward, its conditions and its step."""
    quantity, amount = scope_totals(scope, lines)
    if kind == "special_price":
        covered = [line for line in lines if scope.covers(line)]
        if len(covered) == 1 and rng.random() < 0.5:
            # A fixed price for one SKU, usually below the store's price, sometimes not.
            unit = int(covered[0].list_unit_price_fen * rng.uniform(0.70, 0.95))
            reward: Reward = SpecialPrice(unit_price_fen=unit)
        else:
            reward = SpecialPrice(percent_of_list=Decimal(rng.choice([70, 75, 80, 85, 88, 90])))
        return reward, draw_conditions(rng, quantity, amount, required=False), 1
    step = rng.choice([2, 3])
    if kind == "reduction":
        every = rng.random() < 0.3
        # 满X减Y: X usually within the scope's amount, Y 2-8% of X, whole yuan.
        share = rng.uniform(0.05, 0.3) if every else rng.uniform(0.3, 1.5)
        threshold = max(10_000, rounded_fen(amount * share, 10_000))
        amount_off = max(100, rounded_fen(threshold * rng.uniform(0.02, 0.08), 100))
        return (
            Reduction(threshold_fen=threshold, amount_off_fen=amount_off, every=every),
            Conditions(),
            step,
        )
    if kind == "discount":
        percent = Decimal(rng.choice(["98", "95", "92", "90", "88.5", "85"]))
        return (
            Discount(percent=percent),
            draw_conditions(rng, quantity, amount, required=False),
            step,
        )
    step = rng.choice([1, 2, 2, 3])
    if kind == "gift":
        # A bundle counted in sets gives its gift per set, never per multiple.
        per_multiple = rng.random() < 0.4 and not scope.counts_sets
        conditions = draw_conditions(rng, quantity, amount, required=per_multiple)
        gift = Gift(
            sku_id=FIRST_GIFT_SKU_ID + rng.randint(0, 30),
            quantity=rng.randint(1, 3),
            value_fen=rng.choice([0, 1_500, 5_000, 19_900, 68_000]),
            per_multiple=per_multiple,
        )
        return gift, conditions, step
    conditions = draw_conditions(rng, quantity, amount, required=False)
    if kind == "rebate":
        percent = Decimal(rng.choice(["0.5", "1", "1.5", "2", "3"]))
        return Rebate(percent=percent, base=rng.choice(["list", "paid"])), conditions, step
    # A third of points promotions pay more on the part of the scope above a threshold.
    higher_from = rng.choice([None, None, rounded_fen(amount * rng.uniform(0.3, 0.9), 100)])
    points = Points(
        per_yuan=Decimal(rng.choice(["0.5", "1", "2"])),
        threshold_fen=higher_from,
        multiplier=Decimal(rng.choice(["1.5", "2"])) if higher_from is not None else Decimal(1),
    )
    return points, conditions, step


def build_promotions(
    rng: random.Random, lines: Sequence[CartLine], count: int
) -> tuple[list[Promotion], dict[int, int], dict[int, int | None]]:
    """The promotions, this store's usage of them and their remaining budgets."""
    kinds = [kind for kind, share in KIND_SHARES.items() for _ in range(share)]
    rng.shuffle(kinds)
    exclusive_ids = set(rng.sample(range(1, count + 1), max(1, round(count * EXCLUSIVE_SHARE))))
    promotions: list[Promotion] = []
    usage: dict[int, int] = {}
    budgets: dict[int, int | None] = {}
    for promotion_id in range(1, count + 1):
        kind = kinds[(promotion_id - 1) % len(kinds)]
        scope = draw_scope(rng, lines, kind)
        reward, conditions, step = draw_reward(rng, kind, scope, lines)
        per_store_limit = None
        if rng.random() < 0.2:
            per_store_limit = rng.randint(1, 5)
            # Mostly some uses left; now and then already used up by this store.
            usage[promotion_id] = per_store_limit if rng.random() < 0.15 else per_store_limit - 1
        if rng.random() < 0.25:
            # Most budgets are ample; a few are nearly spent (they cap the reward).
            budgets[promotion_id] = rng.choice([50_000_000, 10_000_000, 2_000_000, 30_000, 500])
        promotions.append(
            Promotion(
                id=promotion_id,
                name=f"{kind} #{promotion_id}",
                starts_at=NOW - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23)),
                ends_at=NOW + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23)),
                reward=reward,
                audience=draw_audience(rng),
                channels=draw_channels(rng),
                scope=scope,
                conditions=conditions,
                stacking="exclusive" if promotion_id in exclusive_ids else "shared",
                step=step,
                priority=rng.randint(0, 9),
                per_store_limit=per_store_limit,
            )
        )
    # One budget used up, so that skip is represented too.
    budgets[rng.randint(1, count)] = 0
    return promotions, usage, budgets


# --- checks and report ---------------------------------------------------------------------


def check_result(result: PromotionResult, promotions: Sequence[Promotion]) -> None:
    """Invariants the engine promises for any input; AssertionError if one is broken."""
    assert sum(line.payable_fen for line in result.lines) == result.payable_fen
    assert result.payable_fen >= 0
    assert result.payable_fen == result.before_promotions_fen - result.promotion_discount_fen
    for line in result.lines:
        assert 0 <= line.payable_fen == line.before_promotions_fen - line.promotion_discount_fen
    applied = set(result.applied_ids)
    skipped = {skip.promotion_id for skip in result.skipped}
    assert not applied & skipped, "a promotion both applied and skipped"
    assert applied | skipped == {promotion.id for promotion in promotions}, "one unaccounted"


def describe_result(result: PromotionResult) -> None:
    print(
        f"Totals: list {result.list_amount_fen:,} fen, before promotions"
        f" {result.before_promotions_fen:,}, promotion discount {result.promotion_discount_fen:,},"
        f" payable {result.payable_fen:,}; rebate {result.rebate_fen:,} fen,"
        f" points {result.points_earned:,}, gifts {len(result.gifts)}"
        f" ({sum(gift.quantity for gift in result.gifts)} units)"
    )
    by_kind = Counter(applied.kind for applied in result.applied)
    capped = sum(applied.budget_capped for applied in result.applied)
    print(
        f"Applied {len(result.applied)}: "
        + ", ".join(f"{kind} {number}" for kind, number in sorted(by_kind.items()))
        + f" ({capped} capped by budget)"
    )
    by_code = Counter(skip.code for skip in result.skipped)
    print(
        f"Skipped {len(result.skipped)}: "
        + ", ".join(f"{code} {number}" for code, number in by_code.most_common())
    )


def summary(seconds: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max, in ms."""
    values = sorted(second * 1000 for second in seconds)
    figures = {f"p{round(f * 100)}": percentile(values, f) for f in (0.50, 0.95, 0.99)}
    return figures | {"max": values[-1]}


class CollectionLog:
    """Garbage collections (generation, ms) while installed as a gc callback."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: list[tuple[int, float]] = []

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self.started) * 1000))

    def describe(self) -> str:
        parts = []
        for generation in (0, 1, 2):
            pauses = [ms for gen, ms in self.pauses if gen == generation]
            if pauses:
                parts.append(f"gen {generation}: {len(pauses)} (max {max(pauses):.2f} ms)")
        return ", ".join(parts) or "none"


def profile(quote: Callable[[], PromotionResult], calls: int, top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        quote()
    profiler.disable()
    for order, title, restriction in (
        ("tottime", "functions by own time", ""),
        ("cumulative", "engine functions by cumulative time", "promotions/engine|kernel/money"),
    ):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(order)
        stats.print_stats(*([restriction] if restriction else []), top)
        print()
        print(f"cProfile of {calls} calls with promotions, top {top} {title}:")
        # Keep the table only: pstats starts with totals, ordering and restriction lines.
        table = out.getvalue()
        print(table[table.index("   ncalls") :].rstrip("\n"))


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="timed calls of each")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls of each first")
    parser.add_argument("--lines", type=int, default=200, help="cart lines (distinct SKUs)")
    parser.add_argument("--promotions", type=int, default=100, help="active promotions")
    parser.add_argument("--seed", type=int, default=20260315, help="workload seed")
    parser.add_argument(
        "--no-freeze",
        dest="freeze",
        action="store_false",
        help="let full garbage collections scan the whole heap (see the module doc)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="then cProfile more calls and print the top"
    )
    args = parser.parse_args()
    if args.iterations < 1 or args.lines < 1 or args.promotions < 1:
        parser.error("--iterations, --lines and --promotions must be positive")
    return args


def main() -> int:
    args = parse_args()
    rng = random.Random(args.seed)
    lines = build_cart(rng, args.lines)
    promotions, usage, budgets = build_promotions(rng, lines, args.promotions)

    def with_promotions() -> PromotionResult:
        return price_cart(
            store=STORE,
            channel=CHANNEL,
            now=NOW,
            lines=lines,
            promotions=promotions,
            usage=usage,
            budget_left_fen=budgets,
        )

    def baseline() -> PromotionResult:
        return price_cart(store=STORE, channel=CHANNEL, now=NOW, lines=lines, promotions=[])

    result = with_promotions()
    print(
        f"Cart: {len(lines)} lines over {len({line.category_id for line in lines})} categories,"
        f" {sum(line.quantity for line in lines):,} units; {len(promotions)} promotions"
        f" ({sum(p.stacking == 'exclusive' for p in promotions)} exclusive), seed {args.seed}."
    )
    describe_result(result)
    check_result(result, promotions)
    # The engine promises the same answer whatever the order of the promotions.
    assert result == price_cart(
        store=STORE,
        channel=CHANNEL,
        now=NOW,
        lines=lines,
        promotions=list(reversed(promotions)),
        usage=usage,
        budget_left_fen=budgets,
    ), "the result depends on the order of the promotions"
    plain = baseline()
    check_result(plain, [])
    assert plain.payable_fen == plain.before_promotions_fen and not plain.applied
    print(
        "Invariants (lines add up to payable, payable >= 0, every promotion applied or skipped"
        " once, same result in reverse order): all held"
    )

    for _ in range(args.warmup):
        with_promotions()
        baseline()
    if args.freeze:
        # Full collections then scan only what quoting allocates: not the modules this script
        # imports (bench_common alone brings asyncpg, ~25k objects) nor the workload, whose
        # size says nothing about the engine.
        gc.collect()
        gc.freeze()
    collections = CollectionLog()
    gc.callbacks.append(collections)
    timings: dict[str, list[float]] = {"promotions": [], "baseline": []}
    calls = (("promotions", with_promotions), ("baseline", baseline))
    clock = time.perf_counter
    try:
        for _ in range(args.iterations):
            # Alternate call by call, so that a burst of machine noise hits both alike.
            for name, quote in calls:
                start = clock()
                quote()
                timings[name].append(clock() - start)
    finally:
        gc.callbacks.remove(collections)
        frozen = gc.get_freeze_count()
        gc.unfreeze()

    print()
    print(
        f"{args.iterations} timed calls of each, alternating, after {args.warmup} warm-up calls"
        f" (garbage collector on; {frozen:,} objects frozen out of its scans):"
    )
    print(f"{'':11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    figures = {name: summary(seconds) for name, seconds in timings.items()}
    for name, figure in figures.items():
        print(f"{name:11} " + " ".join(f"{value:8.2f}" for value in figure.values()))
    ratios = {
        key: figures["promotions"][key] / max(figures["baseline"][key], 1e-9)
        for key in ("p50", "p99")
    }
    print(f"Ratio promotions / baseline: p50 {ratios['p50']:.1f}x, p99 {ratios['p99']:.1f}x")
    print(f"Garbage collections during the timed calls: {collections.describe()}")
    p99 = figures["promotions"]["p99"]
    meets = p99 <= TARGET_P99_MS
    verdict = "meets" if meets else "MISSES"
    print()
    print(
        f"P99 quote of {len(lines)} lines under {len(promotions)} promotions = {p99:.2f} ms"
        f" ({verdict} the target of <= {TARGET_P99_MS:.0f} ms)"
    )
    if args.profile:
        profile(with_promotions, max(50, args.iterations // 3), top=15)
    return 0 if meets else 1


if __name__ == "__main__":
    sys.exit(main())
