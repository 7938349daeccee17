"""The ledger: stores' points and rebate balances, moved only by immutable entries that name
their cause. Payments credit what a paid order earned and take back a refund's share.

Every post runs inside the caller's transaction (the payment's or the refund's), so the
entry commits with its cause or not at all. The account's row is locked before the entry is
written, so concurrent posts to one account line up and each records the balance after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.identity.access import Principal, Tenancy, scoped
from backend.infra import sql
from backend.kernel.errors import NotFound
from backend.ledger.models import Account, AccountKind, EntryCause, LedgerEntry

ACCOUNT_TENANCY = Tenancy(store="store_id")  # brand staff see all; a store its own
KIND_NAMES = {AccountKind.POINTS: "积分", AccountKind.REBATE: "返利余额"}
CAUSE_NAMES = {EntryCause.ORDER_PAID: "订单支付获得", EntryCause.REFUND: "退款扣回"}


class AccountNotFound(NotFound):
    code = "ledger.account_not_found"
    message = "找不到该账户"


async def post(
    *,
    brand_id: int,
    store_id: int,
    kind: AccountKind,
    amount: int,
    cause: EntryCause,
    cause_id: int,
    order_id: int,
    now: datetime,
) -> bool:
    """Move `amount` (signed) on the store's account, once per cause; False when this cause
    was posted already (a replay) or there is nothing to move."""
    if amount == 0:
        return False
    await sql.execute(
        "INSERT INTO ledger_accounts (brand_id, store_id, kind, balance, created_at)"
        " VALUES ($1, $2, $3, 0, $4) ON CONFLICT (store_id, kind) DO NOTHING",
        brand_id,
        store_id,
        kind.value,
        now,
    )
    # A no-op UPDATE takes the account's row lock: posts to one account line up here.
    account = await sql.fetch_one(
        "UPDATE ledger_accounts SET balance = balance WHERE store_id = $1 AND kind = $2"
        " RETURNING id, balance",
        store_id,
        kind.value,
    )
    assert account is not None  # created just above if it was missing
    balance_after = int(account["balance"]) + amount
    inserted = await sql.fetch_one(
        "INSERT INTO ledger_entries (account_id, amount, balance_after, cause, cause_id,"
        " order_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (account_id, cause, cause_id) DO NOTHING RETURNING id",
        account["id"],
        amount,
        balance_after,
        cause.value,
        cause_id,
        order_id,
        now,
    )
    if inserted is None:
        return False
    await sql.execute(
        "UPDATE ledger_accounts SET balance = $1 WHERE id = $2", balance_after, account["id"]
    )
    return True


async def credit_paid_order(
    *, brand_id: int, store_id: int, order_id: int, points: int, rebate_fen: int, now: datetime
) -> None:
    """Credit what a paid order earned: its points and its rebate (once per order)."""
    for kind, amount in ((AccountKind.POINTS, points), (AccountKind.REBATE, rebate_fen)):
        await post(
            brand_id=brand_id,
            store_id=store_id,
            kind=kind,
            amount=amount,
            cause=EntryCause.ORDER_PAID,
            cause_id=order_id,
            order_id=order_id,
            now=now,
        )


async def take_back_for_refund(
    *,
    brand_id: int,
    store_id: int,
    order_id: int,
    refund_id: int,
    refunded_fen: int,
    paid_fen: int,
    now: datetime,
) -> None:
    """After a refund, take back the share of the order's earnings that the money refunded so
    far bears (rounded down, so a full refund takes back exactly all of it), less what
    earlier refunds already took."""
    if paid_fen <= 0:
        return
    for kind in AccountKind:
        rows = await sql.fetch(
            "SELECT e.cause, e.amount FROM ledger_entries e"
            " JOIN ledger_accounts a ON a.id = e.account_id"
            " WHERE a.store_id = $1 AND a.kind = $2 AND e.order_id = $3",
            store_id,
            kind.value,
            order_id,
        )
        earned = sum(r["amount"] for r in rows if r["cause"] == EntryCause.ORDER_PAID)
        taken = -sum(r["amount"] for r in rows if r["cause"] == EntryCause.REFUND)
        due = earned * min(refunded_fen, paid_fen) // paid_fen
        await post(
            brand_id=brand_id,
            store_id=store_id,
            kind=kind,
            amount=-(due - taken),
            cause=EntryCause.REFUND,
            cause_id=refund_id,
            order_id=order_id,
            now=now,
        )


# ---- views ----------------------------------------------------------------------------------


def account_view(account: Account) -> dict[str, Any]:
    kind = AccountKind(account.kind)
    return {
        "id": account.id,
        "store_id": account.store_id,  # type: ignore[attr-defined]
        "kind": kind.value,
        "kind_name": KIND_NAMES[kind],
        "balance": account.balance,
    }


async def list_accounts(principal: Principal, store_id: int | None) -> list[dict[str, Any]]:
    query = scoped(principal, Account.all(), ACCOUNT_TENANCY)
    if store_id is not None:
        query = query.filter(store_id=store_id)
    return [account_view(a) for a in await query.order_by("store_id", "kind")]


async def statement(
    principal: Principal, account_id: int, *, after: int | None, limit: int
) -> dict[str, Any]:
    """The account and its entries, oldest first (keyset), each with the balance after it."""
    account = await scoped(principal, Account.filter(id=account_id), ACCOUNT_TENANCY).first()
    if account is None:
        raise AccountNotFound()
    query = LedgerEntry.filter(account_id=account.id)
    if after:
        query = query.filter(id__gt=after)
    entries = await query.order_by("id").limit(limit + 1)
    return {
        "account": account_view(account),
        "entries": [
            {
                "id": entry.id,
                "amount": entry.amount,
                "balance_after": entry.balance_after,
                "cause": entry.cause,
                "cause_name": CAUSE_NAMES[EntryCause(entry.cause)],
                "cause_id": entry.cause_id,
                "order_id": entry.order_id,
                "at": entry.created_at.isoformat(),
            }
            for entry in entries
        ],
    }
