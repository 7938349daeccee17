"""One way to move an order to paid: the payment notification's one-statement path (on
PostgreSQL, payments' _settle_at_once, built from ordering's paid_at_once_sql) and the full
path (record_payment through _apply) write the same rows and tell the same OrderPaid.

Each case pays two equal orders of two equal shops at the same instant, one by the
notification as it runs in production (the fast path where it may), one with the fast path
switched off, and compares what each left behind column by column: the order, its audit
rows, the payment and its events, the store's first-paid marks, the ledger's entries.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from backend.infra import events, sql
from backend.kernel.events import OrderPaid
from backend.payments import service as payments_service
from backend.payments.models import Payment
from tests.factories import idempotent, make_shop, store_owner
from tests.test_ledger import earning_shop
from tests.test_payments import placed_order, prepay, succeeded

# Columns naming rows of the shop or numbers drawn at random: they differ by construction.
_DIFFERENT = {"order_no", "out_trade_no", "transaction_id", "prepay_id", "sub_mchid"}


async def _placed_and_prepaid(client, sandbox_client, shop) -> tuple[dict[str, Any], Payment]:
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    body = {"lines": [{"sku_id": shop.water, "quantity": 2}]}
    order = (await client.post("/api/v1/orders", json=body, headers=idempotent(owner))).json()
    started = await prepay(client, owner, order)
    return order, await Payment.get(out_trade_no=started["out_trade_no"])


async def _pay(deps, payment: Payment) -> str:
    return await payments_service.apply_transaction(deps, succeeded(deps, payment), source="query")


def _plain(rows: list[Any], tokens: dict[str, str], drop: set[str]) -> list[dict[str, Any]]:
    """Rows without their ids (and the columns in `drop`), this order's random numbers
    written as placeholders wherever they appear (a payment event's data)."""
    plain = []
    for row in rows:
        kept = {}
        for column, value in dict(row).items():
            if column in drop or column in _DIFFERENT:
                continue
            text = value
            if isinstance(text, str):
                for token, placeholder in tokens.items():
                    text = text.replace(token, placeholder)
            kept[column] = text
        plain.append(kept)
    return plain


async def _left_behind(order_id: int, payment: Payment) -> dict[str, Any]:
    order = await sql.fetch_one("SELECT * FROM orders WHERE id = $1", order_id)
    assert order is not None
    tokens = {
        order["order_no"]: "<order_no>",
        payment.out_trade_no: "<out_trade_no>",
        f"4200{payment.id:016d}": "<transaction_id>",
        str(payment.prepay_id): "<prepay_id>",
    }
    ids = {column for column in order if column == "id" or column.endswith("_id")}
    ids.add("promotions")  # written at placement, naming each shop's own promotions by id
    store = await sql.fetch_one(
        "SELECT first_paid_order_id, first_self_paid_order_id FROM stores WHERE id = $1",
        order["store_id"],
    )
    assert store is not None
    return {
        "order": _plain([order], tokens, ids),
        "order_events": _plain(
            await sql.fetch(
                "SELECT *, actor_id IS NULL AS by_the_system FROM order_events"
                " WHERE order_id = $1 ORDER BY id",
                order_id,
            ),
            tokens,
            {"id", "order_id", "actor_id"},  # the store's owner placed it: another person
        ),
        "payment": _plain(
            await sql.fetch("SELECT * FROM payments WHERE id = $1", payment.id),
            tokens,
            {"id", "order_id"},
        ),
        "payment_events": _plain(
            await sql.fetch(
                "SELECT * FROM payment_events WHERE payment_id = $1 ORDER BY id", payment.id
            ),
            tokens,
            {"id", "payment_id"},
        ),
        "store_first_paid": (
            store["first_paid_order_id"] == order_id,
            store["first_self_paid_order_id"] == order_id,
        ),
        "ledger_entries": _plain(
            await sql.fetch(
                "SELECT a.kind, e.amount, e.balance_after, e.cause, e.created_at"
                " FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id"
                " WHERE e.order_id = $1 ORDER BY e.id",
                order_id,
            ),
            tokens,
            set(),
        ),
        # First-order rewards to whoever invited the store.
        "party_entries": _plain(
            await sql.fetch(
                "SELECT amount, balance_after, cause, created_at FROM ledger_party_entries"
                " WHERE order_id = $1 ORDER BY id",
                order_id,
            ),
            tokens,
            set(),
        ),
    }


async def _water_shop(client) -> Any:
    return await make_shop()


async def _earning_shop(client) -> Any:
    return await earning_shop(client)


@pytest.mark.parametrize(
    ("case", "make", "first_order_before", "fast_on_postgres"),
    [
        # The common case: nothing earned, the store past its first order.
        ("past its first order", _water_shop, True, True),
        # The store's first paid order: the first-paid marks (and rewards) are due.
        ("its first order", _water_shop, False, False),
        # Points and rebate to credit through the ledger.
        ("an order that earns", _earning_shop, True, False),
    ],
)
async def test_the_fast_and_the_full_path_leave_the_same_rows(
    client, sandbox_client, deps, monkeypatch, case, make, first_order_before, fast_on_postgres
) -> None:
    told: list[OrderPaid] = []

    async def tell(_deps: Any, paid: OrderPaid) -> None:
        told.append(paid)

    settled: list[bool | None] = []
    settle_at_once = payments_service._settle_at_once

    async def spied(*args: Any) -> bool | None:
        settled.append(await settle_at_once(*args))
        return settled[-1]

    monkeypatch.setattr(payments_service, "_settle_at_once", spied)
    # One instant for both shops, so that every time written is equal too.
    instant = deps.clock.now()
    monkeypatch.setattr(deps.clock, "now", lambda: instant)
    shops = [await make(client), await make(client)]
    prepaid = []
    for shop in shops:
        if first_order_before:  # an earlier order of the store, paid through the full path
            _, earlier = await _placed_and_prepaid(client, sandbox_client, shop)
            with monkeypatch.context() as full_only:
                full_only.setattr(payments_service, "_may_settle_at_once", lambda *_: False)
                assert await _pay(deps, earlier) == "paid"
        prepaid.append(await _placed_and_prepaid(client, sandbox_client, shop))

    events.on(OrderPaid, tell, phase=events.AFTER_COMMIT)
    try:
        (fast_order, fast_payment), (full_order, full_payment) = prepaid
        assert await _pay(deps, fast_payment) == "paid"
        with monkeypatch.context() as full_only:
            full_only.setattr(payments_service, "_may_settle_at_once", lambda *_: False)
            assert await _pay(deps, full_payment) == "paid"
    finally:
        events.off(OrderPaid, tell, phase=events.AFTER_COMMIT)

    # The fast path settled the first payment where it may (PostgreSQL, nothing to credit),
    # and was never tried for the second.
    assert settled == ([True] if fast_on_postgres and sql.is_postgres() else [None] * len(settled))
    assert len(settled) == (1 if sql.is_postgres() else 0)

    fast = await _left_behind(fast_order["id"], fast_payment)
    full = await _left_behind(full_order["id"], full_payment)
    assert fast["order"][0]["status"] == "paid"
    assert [event["to_status"] for event in fast["order_events"]] == ["pending_payment", "paid"]
    assert fast["store_first_paid"] == (not first_order_before, not first_order_before)
    for table in fast:
        assert fast[table] == full[table], table

    # Both told the same OrderPaid, once each, naming their own order.
    assert [paid.order_id for paid in told] == [fast_order["id"], full_order["id"]]
    assert replace(told[0], order_id=0, store_id=0, brand_id=0) == replace(
        told[1], order_id=0, store_id=0, brand_id=0
    )
    assert told[0].store_id == shops[0].tenant.store.id
    assert told[0].payable_fen == fast_order["payable_fen"]


async def test_an_in_transaction_reaction_to_payment_sends_it_through_the_full_path(
    client, sandbox_client, deps, monkeypatch
) -> None:
    """What must commit with a payment (an in-transaction handler of OrderPaid) can not
    follow a statement that commits alone: the fast path steps aside, and the handler runs
    inside the payment's transaction, after the order moved."""
    _, owner, order = await placed_order(client, sandbox_client)
    started = await prepay(client, owner, order)
    payment = await Payment.get(out_trade_no=started["out_trade_no"])
    tried: list[object] = []
    monkeypatch.setattr(payments_service, "_settle_at_once", lambda *args: tried.append(args))
    seen: list[tuple[int, str]] = []

    async def within(_deps: Any, paid: OrderPaid) -> None:
        row = await sql.fetch_one("SELECT status FROM orders WHERE id = $1", paid.order_id)
        assert row is not None
        seen.append((paid.order_id, row["status"]))

    events.on(OrderPaid, within)
    try:
        assert await _pay(deps, payment) == "paid"
    finally:
        events.off(OrderPaid, within)
    assert tried == []
    assert seen == [(order["id"], "paid")]
