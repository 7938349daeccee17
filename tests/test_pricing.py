"""The pure pricing of a store's lines: price selection, problems, exact totals."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.catalog.pricing import (
    MAX_LINE_QUANTITY,
    PriceTier,
    RequestedLine,
    SkuOffer,
    quote_lines,
    unit_price,
)


def offer(**overrides: object) -> SkuOffer:
    fields: dict[str, object] = {
        "sku_id": 1,
        "product_name": "净水器",
        "sku_name": "RO-500",
        "unit": "台",
        "list_price_fen": 199_900,
        "case_size": 1,
        "min_order_qty": 1,
        "is_active": True,
        "sold_here": True,
        "stock": 100,
        "tiers": (),
    }
    fields.update(overrides)
    return SkuOffer(**fields)  # type: ignore[arg-type]


BRAND_1 = PriceTier(1, 189_900, for_distributor=False, for_tier=False)
BRAND_10 = PriceTier(10, 179_900, for_distributor=False, for_tier=False)
TIER_1 = PriceTier(1, 185_000, for_distributor=False, for_tier=True)
DIST_5 = PriceTier(5, 183_000, for_distributor=True, for_tier=False)
DIST_TIER_20 = PriceTier(20, 170_000, for_distributor=True, for_tier=True)


@pytest.mark.parametrize(
    ("tiers", "quantity", "expected"),
    [
        ((), 3, (199_900, "list")),
        ((BRAND_1, BRAND_10), 9, (189_900, "brand:1")),
        ((BRAND_1, BRAND_10), 10, (179_900, "brand:10")),
        ((BRAND_1, BRAND_10, TIER_1), 50, (185_000, "tier:1")),
        ((BRAND_1, TIER_1, DIST_5), 4, (185_000, "tier:1")),
        ((BRAND_1, TIER_1, DIST_5), 5, (183_000, "distributor:5")),
        ((DIST_5, DIST_TIER_20), 19, (183_000, "distributor:5")),
        ((DIST_5, DIST_TIER_20), 20, (170_000, "distributor_tier:20")),
        ((BRAND_10,), 9, (199_900, "list")),
    ],
)
def test_the_most_specific_reached_price_wins(tiers, quantity, expected) -> None:
    assert unit_price(offer(tiers=tiers), quantity) == expected


@pytest.mark.parametrize(
    ("overrides", "quantity", "codes"),
    [
        ({}, 0, ["quantity.out_of_range"]),
        ({}, MAX_LINE_QUANTITY + 1, ["quantity.out_of_range"]),
        ({"is_active": False}, 1, ["sku.inactive"]),
        ({"sold_here": False}, 1, ["sku.not_sold_here"]),
        ({"case_size": 6, "min_order_qty": 12}, 6, ["quantity.below_minimum"]),
        ({"case_size": 6, "min_order_qty": 6}, 7, ["quantity.not_case_multiple"]),
        ({"stock": 2}, 3, ["sku.insufficient_stock"]),
        ({"stock": 2, "case_size": 2}, 3, ["quantity.not_case_multiple", "sku.insufficient_stock"]),
        ({"stock": 3}, 3, []),
    ],
)
def test_problems_name_why_a_line_cannot_be_ordered(overrides, quantity, codes) -> None:
    quote = quote_lines({1: offer(**overrides)}, [RequestedLine(1, quantity)])
    assert [p.code for p in quote.lines[0].problems] == codes
    assert quote.orderable is (codes == [])


def test_unknown_sku_and_merged_duplicates() -> None:
    quote = quote_lines(
        {1: offer()}, [RequestedLine(1, 2), RequestedLine(2, 1), RequestedLine(1, 3)]
    )
    assert [(line.sku_id, line.quantity) for line in quote.lines] == [(1, 5), (2, 1)]
    assert [p.code for p in quote.lines[1].problems] == ["sku.not_found"]
    assert quote.payable_fen == 5 * 199_900  # only orderable lines count


def test_a_quoted_line_carries_what_a_quantity_stepper_and_a_link_need() -> None:
    known = offer(product_id=10, case_size=6, min_order_qty=12)
    quote = quote_lines({1: known}, [RequestedLine(1, 7), RequestedLine(2, 1)])
    line, unknown = quote.lines
    assert (line.product_id, line.case_size, line.min_order_qty) == (10, 6, 12)
    assert line.problems  # 7 is neither the minimum nor whole cases, and still says its rules
    assert (unknown.product_id, unknown.case_size, unknown.min_order_qty) == (None, 1, 1)


lines = st.lists(st.tuples(st.integers(1, 5), st.integers(-2, 300)), min_size=1, max_size=12).map(
    lambda pairs: [RequestedLine(sku, qty) for sku, qty in pairs]
)
offers = st.dictionaries(
    st.integers(1, 5),
    st.builds(
        offer,
        list_price_fen=st.integers(0, 10**8),
        case_size=st.sampled_from([1, 2, 6, 10]),
        stock=st.integers(0, 500),
        tiers=st.lists(
            st.builds(
                PriceTier, st.integers(1, 100), st.integers(0, 10**8), st.booleans(), st.booleans()
            ),
            max_size=4,
        ).map(tuple),
    ),
)


@given(offers, lines)
def test_totals_are_exact_sums_of_orderable_lines(offers_by_id, requested) -> None:
    quote = quote_lines({sku: replace(o, sku_id=sku) for sku, o in offers_by_id.items()}, requested)
    orderable = [line for line in quote.lines if line.orderable]
    assert quote.payable_fen == sum(line.unit_price_fen * line.quantity for line in orderable)
    assert quote.list_amount_fen - quote.discount_fen == quote.payable_fen
    assert all(line.payable_fen >= 0 and line.quantity > 0 for line in orderable)
    assert all(line.quantity <= line.available_stock for line in orderable)
