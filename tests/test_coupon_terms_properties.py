"""Properties of the coupon terms (hypothesis): whatever the cart and the coupon, what comes
off adds up over the lines, never takes a line below zero, and never exceeds what the
coupon promises; a refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from backend.coupons.terms import PayableLine, Refusal, Terms, apply

lines_strategy = st.lists(
    st.builds(
        PayableLine,
        sku_id=st.integers(1, 6),
        category_id=st.integers(1, 3),
        quantity=st.integers(1, 50),
        payable_fen=st.integers(0, 2_000_000),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda line: line.sku_id,
)
scope_ids = st.frozensets(st.integers(1, 6), max_size=3)
terms_strategy = st.one_of(
    st.builds(
        Terms,
        kind=st.just("reduction"),
        sku_ids=scope_ids,
        threshold_fen=st.integers(0, 3_000_000),
        amount_off_fen=st.integers(1, 500_000),
    ),
    st.builds(
        Terms,
        kind=st.just("discount"),
        category_ids=st.frozensets(st.integers(1, 3), max_size=2),
        threshold_fen=st.integers(0, 3_000_000),
        percent=st.decimals(Decimal("0.01"), Decimal("99.99"), places=2),
        max_off_fen=st.none() | st.integers(1, 500_000),
    ),
    st.builds(
        Terms,
        kind=st.just("exchange"),
        exchange=st.lists(
            st.tuples(st.integers(1, 6), st.integers(1, 10)),
            min_size=1,
            max_size=3,
            unique_by=lambda item: item[0],
        ).map(tuple),
    ),
)


@given(terms_strategy, lines_strategy, st.sampled_from(["self", "proxy", "live"]))
def test_what_a_coupon_takes_off_adds_up_and_never_goes_below_zero(terms, lines, channel) -> None:
    outcome = apply(terms, lines, channel)
    if isinstance(outcome, Refusal):
        assert outcome.code.startswith("coupon.") and outcome.message
        return
    assert len(outcome.per_line) == len(lines)
    assert sum(outcome.per_line) == outcome.amount_fen >= 0
    for off, line in zip(outcome.per_line, lines, strict=True):
        assert 0 <= off <= line.payable_fen
        assert off == 0 or terms.covers(line)
    if terms.kind == "reduction":
        assert outcome.amount_fen <= terms.amount_off_fen
    if terms.kind == "discount" and terms.max_off_fen is not None:
        assert outcome.amount_fen <= terms.max_off_fen
    if terms.kind == "exchange":
        assert channel == "self"
