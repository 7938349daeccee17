"""Bundles counted in complete sets (issue 14): the reward reaches only the units of complete
sets, in every reward form, with exact fen; leftover units keep their price; "all_present"
keeps the first meaning. Pure: the engine only."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.promotions import wording
from backend.promotions.engine import (
    Adjustment,
    BundleMode,
    BundlePart,
    CartLine,
    Conditions,
    Discount,
    Gift,
    GrantedGift,
    Points,
    PromotionResult,
    Rebate,
    Reduction,
    Reward,
    Scope,
    SpecialPrice,
)
from tests.test_promotion_engine import NINE_TENTHS, promo
from tests.test_promotion_engine import quote as quote_with


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    """Overrides the suite's per-test reset: the engine is pure and needs no database."""


SHOWER, TOILET, PURIFIER, FILTER = 11, 12, 13, 21
# The issue's cart: 10 showers + 1 toilet + 1 purifier.
SUITE = (
    CartLine(SHOWER, 1, 10, 50000, 40000),
    CartLine(TOILET, 1, 1, 150000, 120000),
    CartLine(PURIFIER, 2, 1, 300000, 250000),
)
# 5 filters (2 to a set) + 3 purifiers (1 to a set): 2 complete sets, 1 filter and 1 purifier over.
FILTERS = (CartLine(FILTER, 3, 5, 12000, 9900), CartLine(PURIFIER, 2, 3, 300000, 250000))


def bundle(parts: dict[int, int], mode: BundleMode = "sets") -> Scope:
    return Scope(
        bundle=tuple(BundlePart(sku, quantity) for sku, quantity in parts.items()),
        bundle_mode=mode,
    )


FILTER_SET = bundle({FILTER: 2, PURIFIER: 1})


def quote(lines: tuple[CartLine, ...], *promotions: Any) -> PromotionResult:
    return quote_with(promotions, lines)


def payables(result: PromotionResult) -> list[int]:
    return [line.payable_fen for line in result.lines]


def test_the_issues_cart_gets_the_bundle_discount_on_one_set_only() -> None:
    scope = bundle({SHOWER: 1, TOILET: 1, PURIFIER: 1})
    result = quote(SUITE, promo(1, NINE_TENTHS, scope=scope))
    # One set (400 + 1,200 + 2,500 yuan) at 9折: 410 yuan off, shared 40 / 120 / 250.
    assert payables(result) == [400000 - 4000, 120000 - 12000, 250000 - 25000]
    assert [line.adjustments for line in result.lines] == [
        (Adjustment(1, "discount", 4000, units=1),),
        (Adjustment(1, "discount", 12000, units=1),),
        (Adjustment(1, "discount", 25000, units=1),),
    ]
    (applied,) = result.applied
    assert (applied.amount_fen, applied.sets) == (41000, 1)
    assert applied.note == "凑齐1套，按90%计价，共优惠410.00元"


def test_all_present_keeps_the_first_meaning_every_unit() -> None:
    scope = bundle({SHOWER: 1, TOILET: 1, PURIFIER: 1}, mode="all_present")
    result = quote(SUITE, promo(1, NINE_TENTHS, scope=scope))
    assert payables(result) == [360000, 108000, 225000]
    assert all(a.units is None for line in result.lines for a in line.adjustments)
    (applied,) = result.applied
    assert (applied.amount_fen, applied.sets) == (77000, None)


def test_set_quantities_count_two_filters_and_one_purifier_as_a_set() -> None:
    result = quote(FILTERS, promo(1, NINE_TENTHS, scope=FILTER_SET))
    # Sets: min(5 // 2, 3 // 1) = 2, i.e. 4 filters (396 yuan) and 2 purifiers (5,000 yuan).
    assert payables(result) == [4 * 9900 * 9 // 10 + 9900, 2 * 250000 * 9 // 10 + 250000]
    assert [a.units for line in result.lines for a in line.adjustments] == [4, 2]
    assert result.applied[0].sets == 2
    assert result.payable_fen == 45540 + 700000


def test_a_split_line_shares_its_current_amount_by_largest_remainder() -> None:
    lines = (CartLine(FILTER, 3, 3, 1000, 1000), CartLine(PURIFIER, 2, 1, 1000, 1000))
    result = quote(
        lines,
        # Whole cart 满1减0.01: the filter line is left at 29.99 yuan, not divisible by 3.
        promo(1, Reduction(threshold_fen=100, amount_off_fen=1), scope=Scope()),
        promo(2, NINE_TENTHS, scope=FILTER_SET, step=3),
    )
    # The filter line's 2,999 fen split 2:1 by largest remainder: set units 1,999, leftover
    # 1,000. The set (1,999 + 1,000) at 9折: 300 fen off, 200 on the filters, 100 the purifier.
    assert [line.adjustments for line in result.lines] == [
        (Adjustment(1, "reduction", 1), Adjustment(2, "discount", 200, units=2)),
        (Adjustment(2, "discount", 100, units=1),),
    ]
    assert payables(result) == [2799, 900]
    assert result.payable_fen == 4000 - 1 - 300


def test_a_second_set_promotion_sees_what_the_first_left_of_the_same_units() -> None:
    rebate = Rebate(Decimal("10"), base="paid")
    result = quote(
        FILTERS, promo(1, NINE_TENTHS, scope=FILTER_SET), promo(2, rebate, scope=FILTER_SET)
    )
    # The sets paid 9折 of 396 + 5,000 yuan = 4,856.40 yuan: the rebate is 10% of that, not of a
    # share of the whole filter line (whose leftover unit paid in full).
    assert payables(result) == [45540, 700000]
    assert result.rebate_fen == 48564
    top = quote(
        FILTERS,
        promo(1, NINE_TENTHS, scope=FILTER_SET),
        promo(2, Discount(Decimal("50")), scope=FILTER_SET, step=3),
    )
    # On top of: half of the sets' 9折 amount, the leftover filter and purifier untouched.
    assert payables(top) == [35640 // 2 + 9900, 450000 // 2 + 250000]


def test_special_price_only_on_the_sets_units() -> None:
    result = quote(FILTERS, promo(1, SpecialPrice(percent_of_list=Decimal("80")), scope=FILTER_SET))
    # 80% of list: filters 96 yuan, purifiers 2,400 yuan, for 4 and 2 units; the rest as before.
    assert payables(result) == [4 * 9600 + 9900, 2 * 240000 + 250000]
    assert result.applied[0].amount_fen == 1200 + 20000


def test_reductions_are_measured_on_the_sets_amount() -> None:
    every = Reduction(threshold_fen=200000, amount_off_fen=10000, every=True)
    result = quote(FILTERS, promo(1, every, scope=FILTER_SET))
    # The sets come to 5,396 yuan: twice 2,000 (the bundle's lines, 7,995 yuan, would be 3x).
    assert result.applied[0].amount_fen == 20000
    assert payables(result) == [49500 - 1468, 750000 - 18532]
    once = Reduction(threshold_fen=600000, amount_off_fen=10000)
    unmet = quote(FILTERS, promo(1, once, scope=FILTER_SET))
    assert [(s.promotion_id, s.code) for s in unmet.skipped] == [(1, "promo.condition_unmet")]
    assert payables(unmet) == [49500, 750000]


def test_conditions_count_the_sets_units() -> None:
    six = quote(
        FILTERS, promo(1, NINE_TENTHS, scope=FILTER_SET, conditions=Conditions(min_quantity=6))
    )
    assert six.applied_ids == (1,)
    seven = quote(
        FILTERS, promo(1, NINE_TENTHS, scope=FILTER_SET, conditions=Conditions(min_quantity=7))
    )
    assert [s.code for s in seven.skipped] == ["promo.condition_unmet"]


def test_a_gift_per_complete_set() -> None:
    result = quote(FILTERS, promo(1, Gift(99, 1, value_fen=5000), scope=FILTER_SET))
    assert result.gifts == (GrantedGift(1, 99, 2, 5000),)
    assert result.applied[0].note == "凑齐2套，赠送商品 99 × 2"
    assert result.applied[0].sets == 2
    first_meaning = bundle({FILTER: 2, PURIFIER: 1}, mode="all_present")
    once = quote(FILTERS, promo(1, Gift(99, 1, value_fen=5000), scope=first_meaning))
    assert once.gifts == (GrantedGift(1, 99, 1, 5000),)


@pytest.mark.parametrize(
    ("reward", "rebate", "points"),
    [
        (Rebate(Decimal("10"), base="list"), 64800, 0),  # 4 x 120 + 2 x 3,000 yuan of list
        (Rebate(Decimal("10"), base="paid"), 53960, 0),  # 396 + 5,000 yuan paid
        (Points(per_yuan=Decimal("1")), 0, 5396),
    ],
)
def test_rebates_and_points_on_the_sets_units(reward: Reward, rebate: int, points: int) -> None:
    result = quote(FILTERS, promo(1, reward, scope=FILTER_SET))
    assert (result.rebate_fen, result.points_earned) == (rebate, points)
    assert result.applied[0].sets == 2
    assert payables(result) == [49500, 750000]


@pytest.mark.parametrize("mode", ["sets", "all_present"])
def test_no_complete_set_is_an_incomplete_bundle(mode: BundleMode) -> None:
    lines = (CartLine(FILTER, 3, 1, 12000, 9900), CartLine(PURIFIER, 2, 3, 300000, 250000))
    result = quote(lines, promo(1, NINE_TENTHS, scope=bundle({FILTER: 2, PURIFIER: 1}, mode)))
    assert [(s.code, s.message) for s in result.skipped] == [
        ("promo.bundle_incomplete", "组合商品未凑齐一套（每种商品需达到一套的件数）")
    ]
    assert payables(result) == [9900, 750000]


def test_a_sku_on_two_lines_fills_its_sets_from_the_first() -> None:
    lines = (
        CartLine(FILTER, 3, 1, 12000, 9900),
        CartLine(FILTER, 3, 3, 12000, 9900),
        CartLine(PURIFIER, 2, 3, 300000, 250000),
    )
    result = quote(lines, promo(1, NINE_TENTHS, scope=FILTER_SET))
    assert result.applied[0].sets == 2
    assert [[a.units for a in line.adjustments] for line in result.lines] == [[1], [3], [2]]


@pytest.mark.parametrize(
    "build",
    [
        lambda: BundlePart(FILTER, 0),
        lambda: Scope(bundle=(BundlePart(FILTER, 2), BundlePart(FILTER, 1))),
        lambda: Scope(bundle=(BundlePart(FILTER),), bundle_mode="some"),  # type: ignore[arg-type]
        lambda: promo(
            1,
            Gift(99, 1, per_multiple=True),
            scope=FILTER_SET,
            conditions=Conditions(min_quantity=3),
        ),
    ],
)
def test_rejects_impossible_bundles(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


def test_describes_the_set_composition_for_stores() -> None:
    names = {FILTER: "滤芯", PURIFIER: "净水器"}
    sets = promo(1, NINE_TENTHS, scope=FILTER_SET)
    assert wording.describe(sets, sku_names=names) == "滤芯×2 + 净水器×1 成套：每套享9折"
    gift = promo(2, Gift(99, 1), scope=FILTER_SET)
    described = wording.describe(gift, gift_name="龙头", gift_unit="个", sku_names=names)
    assert described == "滤芯×2 + 净水器×1 成套：每套送龙头 × 1个"
    every = promo(3, Reduction(200000, 10000, every=True), scope=FILTER_SET)
    assert wording.describe(every, sku_names=names) == (
        "滤芯×2 + 净水器×1 成套：成套部分每满2000元减100元"
    )
    first = promo(4, NINE_TENTHS, scope=bundle({FILTER: 1, PURIFIER: 1}, "all_present"))
    assert wording.describe(first, sku_names=names) == "同时购买滤芯×1 + 净水器×1：享9折"


# ---------------------------------------------------------------- properties

reward_strategy: st.SearchStrategy[Reward] = st.one_of(
    st.builds(Gift, st.just(99), st.integers(1, 3), st.integers(0, 50000)),
    st.builds(SpecialPrice, unit_price_fen=st.integers(0, 200000)),
    st.builds(SpecialPrice, percent_of_list=st.decimals(min_value=0, max_value=100, places=2)),
    st.builds(Reduction, st.integers(1, 500000), st.integers(1, 100000), st.booleans()),
    st.builds(Discount, st.decimals(min_value=0, max_value=100, places=2)),
    st.builds(Rebate, st.decimals(min_value=0, max_value=100, places=2)),
    st.builds(Points, st.decimals(min_value=0, max_value=5, places=1)),
)
line_strategy = st.builds(
    lambda sku, quantity, list_price, cut: CartLine(
        sku, sku, quantity, list_price, list_price - min(cut, list_price)
    ),
    st.integers(1, 4),
    st.integers(1, 30),
    st.integers(0, 200000),
    st.integers(0, 50000),
)


@st.composite
def bundle_case(draw: st.DrawFn) -> dict[str, Any]:
    lines = tuple(draw(st.lists(line_strategy, min_size=1, max_size=6)))
    parts = draw(st.dictionaries(st.integers(1, 4), st.integers(1, 5), min_size=2, max_size=3))
    promotions = []
    for pid in range(1, draw(st.integers(1, 3)) + 1):
        reward = draw(reward_strategy)
        step = 1 if isinstance(reward, SpecialPrice) else draw(st.sampled_from([2, 3]))
        # The first is the bundle; others (any scope) change the lines around it.
        scope = bundle(parts) if pid == 1 else draw(st.sampled_from([Scope(), bundle(parts)]))
        promotions.append(promo(pid, reward, scope=scope, step=step))
    return {"lines": lines, "parts": parts, "promotions": promotions}


@settings(max_examples=400, deadline=None)
@given(bundle_case())
def test_sets_add_up_and_never_exceed_the_complete_sets(case: dict[str, Any]) -> None:
    lines: tuple[CartLine, ...] = case["lines"]
    parts: dict[int, int] = case["parts"]
    result = quote(lines, *case["promotions"])
    # Lines always add up exactly, and never go below zero.
    assert sum(payables(result)) == result.payable_fen
    assert sum(line.points_earned for line in result.lines) == result.points_earned
    assert sum(line.rebate_fen for line in result.lines) == result.rebate_fen
    assert result.promotion_discount_fen == result.before_promotions_fen - result.payable_fen
    for line in result.lines:
        assert line.payable_fen >= 0
        assert line.before_promotions_fen - line.promotion_discount_fen == line.payable_fen
    held = Counter[int]()
    for line in lines:
        held[line.sku_id] += line.quantity
    complete = min(held[sku] // quantity for sku, quantity in parts.items())
    scopes = {promotion.id: promotion.scope for promotion in case["promotions"]}
    for applied in result.applied:
        assert applied.sets == (complete if scopes[applied.promotion_id].bundle else None)
    # Per promotion and SKU, the units its adjustments were computed on never pass the sets'.
    units = Counter[tuple[int, int]]()
    for line in result.lines:
        for adjustment in line.adjustments:
            if adjustment.units is not None:
                assert 0 < adjustment.units <= line.quantity
                units[adjustment.promotion_id, line.sku_id] += adjustment.units
    for (_, sku), count in units.items():
        assert count <= held[sku] // parts[sku] * parts[sku]
        assert count <= complete * parts[sku]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(line_strategy, min_size=1, max_size=6).map(tuple),
    st.lists(st.tuples(reward_strategy, st.sampled_from([2, 3])), min_size=1, max_size=3),
)
def test_leftover_units_keep_their_price(
    lines: tuple[CartLine, ...], rewards: list[tuple[Reward, int]]
) -> None:
    """However many promotions of one set bundle stack, the units outside its complete sets
    pay in full: the set units' savings never come off them."""
    parts = {1: 2, 2: 1}
    promotions = [
        promo(
            pid, reward, scope=bundle(parts), step=1 if isinstance(reward, SpecialPrice) else step
        )
        for pid, (reward, step) in enumerate(rewards, start=1)
    ]
    result = quote(lines, *promotions)
    held = Counter[int]()
    for line in lines:
        held[line.sku_id] += line.quantity
    complete = min(held[sku] // quantity for sku, quantity in parts.items())
    left = {sku: complete * quantity for sku, quantity in parts.items()}
    for line, priced in zip(lines, result.lines, strict=False):
        in_sets = min(line.quantity, left.get(line.sku_id, 0))
        if line.sku_id in left:
            left[line.sku_id] -= in_sets
        assert priced.payable_fen >= (line.quantity - in_sets) * line.unit_price_fen
        assert {a.units for a in priced.adjustments} <= {in_sets}
