"""The ledger: stores' points and rebate balances, moved only by immutable entries that name
their cause. Payments credit what a paid order earned and take back a refund's share.

Every post runs inside the caller's transaction (the payment's or the refund's), so the
entry commits with its cause or not at all. The account's row is locked before the entry is
written, so concurrent posts to one account line up and each records the balance after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, Principal, Role, Tenancy, scoped
from backend.infra import sql
from backend.kernel.errors import Conflict, NotFound
from backend.kernel.money import yuan
from backend.kernel.spreadsheet import BOM, csv_lines
from backend.ledger.models import (
    Account,
    AccountKind,
    EntryCause,
    Incentives,
    LedgerEntry,
    PartyAccount,
    PartyEntry,
    PartyKind,
)
from backend.org import service as org_service

CHINA = ZoneInfo("Asia/Shanghai")
NO_ORDER = 0  # an entry's order_id when it is about no order (a mall redemption)
ACCOUNT_TENANCY = Tenancy(store="store_id")  # brand staff see all; a store its own
KIND_NAMES = {
    AccountKind.POINTS: "积分",
    AccountKind.REBATE: "返利余额",
    AccountKind.CASH: "红包现金",
    AccountKind.VOUCHERS: "待结算核销款",
}
CAUSE_NAMES = {
    EntryCause.ORDER_PAID: "订单支付获得",
    EntryCause.REFUND: "退款扣回",
    EntryCause.MALL_REDEMPTION: "积分商城兑换",
    EntryCause.LOTTERY_PRIZE: "抽奖中奖",
    EntryCause.REBATE_SPENT: "下单抵扣",
    EntryCause.REBATE_RETURNED: "订单取消/退款退回抵扣",
    EntryCause.FIRST_ORDER_CASHBACK: "首单返现",
    EntryCause.INVITATION_REWARD: "邀请有礼",
    EntryCause.SALESPERSON_FIRST_ORDER: "拓店首单奖励",
    EntryCause.CLAIM_APPROVED: "兑换券核销确认",
    EntryCause.CLAIM_SETTLED: "兑换券核销结算",
    EntryCause.RED_PACKET: "直播红包",
    EntryCause.RAIN_FUNDED: "直播红包雨出资",
    EntryCause.RAIN_RETURNED: "红包雨未领取退回",
    EntryCause.DISPLAY_REWARD: "陈列活动奖励",
    EntryCause.OPEN_BOX_REWARD: "开箱奖励",
    EntryCause.CONSUMER_COUPON: "消费者券核销补贴",
}


class InsufficientBalance(Conflict):
    code = "ledger.insufficient_balance"
    message = "余额不足"


class AccountNotFound(NotFound):
    code = "ledger.account_not_found"
    message = "找不到该账户"


@dataclass(frozen=True)
class _Book:
    """Where one sort of owner's accounts and entries live, and the columns naming the owner.
    Stores' and parties' (salespeople, distributors) books follow the same rules."""

    accounts: str
    entries: str
    owner: tuple[str, ...]

    @cached_property
    def statements(self) -> tuple[str, str, str, str]:
        """The four statements of a post: create the account, lock it, write the entry, move
        the balance. Only these constant names go into the text, never values."""
        owner = ", ".join(self.owner)
        n = len(self.owner)
        mine = " AND ".join(f"{column} = ${i}" for i, column in enumerate(self.owner, start=1))
        values = ", ".join(f"${i}" for i in range(1, n + 1))
        return (
            f"INSERT INTO {self.accounts} (brand_id, {owner}, kind, balance, created_at)"  # noqa: S608
            f" VALUES (${n + 1}, {values}, ${n + 2}, 0, ${n + 3})"
            f" ON CONFLICT ({owner}, kind) DO NOTHING",
            # A no-op UPDATE takes the account's row lock: posts to one account line up here.
            f"UPDATE {self.accounts} SET balance = balance WHERE {mine} AND kind = ${n + 1}"  # noqa: S608
            " RETURNING id, balance",
            f"INSERT INTO {self.entries} (account_id, amount, balance_after, cause, cause_id,"  # noqa: S608
            " order_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (account_id, cause, cause_id) DO NOTHING RETURNING id",
            f"UPDATE {self.accounts} SET balance = $1 WHERE id = $2",  # noqa: S608
        )


STORES = _Book("ledger_accounts", "ledger_entries", ("store_id",))
PARTIES = _Book("ledger_party_accounts", "ledger_party_entries", ("party", "party_id"))


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
    spend: bool = False,
) -> bool:
    """Move `amount` (signed) on the store's account, once per cause; False when this cause
    was posted already (a replay) or there is nothing to move.

    `spend`: the store spends from its balance, which may not go below zero; if it would,
    InsufficientBalance is raised before anything is written (a refund taking back what was
    earned may still take the balance below zero: the money went back)."""
    return await _post(
        STORES,
        (store_id,),
        brand_id=brand_id,
        kind=kind,
        amount=amount,
        cause=cause,
        cause_id=cause_id,
        order_id=order_id,
        now=now,
        spend=spend,
    )


async def post_to_party(
    party: PartyKind,
    party_id: int,
    *,
    brand_id: int,
    kind: AccountKind,
    amount: int,
    cause: EntryCause,
    cause_id: int,
    order_id: int,
    now: datetime,
) -> bool:
    """post() for a salesperson's or a distributor's account."""
    return await _post(
        PARTIES,
        (party.value, party_id),
        brand_id=brand_id,
        kind=kind,
        amount=amount,
        cause=cause,
        cause_id=cause_id,
        order_id=order_id,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class Credit:
    """One store's credit in `credit_stores`: `amount` fen (> 0) for the cause `cause_id`."""

    store_id: int
    amount: int
    cause_id: int
    at: datetime


# credit_stores on PostgreSQL: the four statements of a post, each once for the whole batch.
# Created and locked in one order (stores', then ids'): two batches sharing stores never
# wait for each other in a cycle.
_CREATE_MANY = (
    "INSERT INTO ledger_accounts (brand_id, store_id, kind, balance, created_at)"
    " SELECT $1, s, $3, 0, $4 FROM unnest($2::bigint[]) AS s ORDER BY s"
    " ON CONFLICT (store_id, kind) DO NOTHING"
)
_LOCK_MANY = (
    "SELECT id, store_id, balance FROM ledger_accounts"
    " WHERE store_id = ANY($1::bigint[]) AND kind = $2 ORDER BY id FOR UPDATE"
)
_WRITE_MANY = (
    "INSERT INTO ledger_entries (account_id, amount, balance_after, cause, cause_id,"
    " order_id, created_at)"
    " SELECT a, n, b, $4, c, $5, t"
    " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $6::bigint[], $7::timestamptz[])"
    " AS w(a, n, b, c, t)"
    " ON CONFLICT (account_id, cause, cause_id) DO NOTHING RETURNING account_id, balance_after"
)
_MOVE_MANY = (
    "UPDATE ledger_accounts AS a SET balance = m.b"
    " FROM unnest($1::bigint[], $2::bigint[]) AS m(id, b) WHERE a.id = m.id"
)


async def credit_stores(
    *, brand_id: int, kind: AccountKind, cause: EntryCause, credits: list[Credit]
) -> None:
    """post() of many credits at once, inside the caller's transaction: each store at most
    once in `credits`, each posted once per cause (a replay writes nothing). On PostgreSQL
    four statements for the whole batch rather than four per credit (a rain's wins arrive
    by the thousand at once); elsewhere one post() after the other."""
    credits = [credit for credit in credits if credit.amount]  # post() moves nothing for 0
    if not credits:
        return
    if not sql.is_postgres():
        for credit in credits:
            await post(
                brand_id=brand_id,
                store_id=credit.store_id,
                kind=kind,
                amount=credit.amount,
                cause=cause,
                cause_id=credit.cause_id,
                order_id=NO_ORDER,
                now=credit.at,
            )
        return
    stores = sql.Array(credit.store_id for credit in credits)
    await sql.execute(_CREATE_MANY, brand_id, stores, kind.value, credits[0].at)
    accounts = {
        int(row["store_id"]): (int(row["id"]), int(row["balance"]))
        for row in await sql.fetch(_LOCK_MANY, stores, kind.value)
    }
    ids, amounts, after, causes, times = [], [], [], [], []
    for credit in credits:
        account, balance = accounts[credit.store_id]
        ids.append(account)
        amounts.append(credit.amount)
        after.append(balance + credit.amount)
        causes.append(credit.cause_id)
        times.append(credit.at)
    written = await sql.fetch(
        _WRITE_MANY,
        sql.Array(ids),
        sql.Array(amounts),
        sql.Array(after),
        cause.value,
        NO_ORDER,
        sql.Array(causes),
        sql.Array(times),
    )
    if written:
        moved = sql.Array(int(row["account_id"]) for row in written)
        await sql.execute(
            _MOVE_MANY, moved, sql.Array(int(row["balance_after"]) for row in written)
        )


async def _post(
    book: _Book,
    owner: tuple[Any, ...],
    *,
    brand_id: int,
    kind: AccountKind,
    amount: int,
    cause: EntryCause,
    cause_id: int,
    order_id: int,
    now: datetime,
    spend: bool = False,
) -> bool:
    if amount == 0:
        return False
    create, lock, write, move = book.statements
    await sql.execute(create, *owner, brand_id, kind.value, now)
    account = await sql.fetch_one(lock, *owner, kind.value)
    assert account is not None  # created just above if it was missing
    balance_after = int(account["balance"]) + amount
    if spend and balance_after < 0:
        name = KIND_NAMES[kind]
        raise InsufficientBalance(
            f"{name}不足：需要 {-amount}，当前 {account['balance']}",
            details={"kind": kind.value, "needed": -amount, "balance": int(account["balance"])},
        )
    inserted = await sql.fetch_one(
        write, account["id"], amount, balance_after, cause.value, cause_id, order_id, now
    )
    if inserted is None:
        return False
    await sql.execute(move, balance_after, account["id"])
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


@dataclass(frozen=True)
class UnitsTakeBack:
    """For an order whose lines keep what they earned: what the units its refunds have given
    back so far earned, per kind (each line's earnings over its units, cumulatively exact),
    and the share of the money refunded without naming units (goodwill amounts), of the
    money paid, which takes back by the money share as before."""

    earned: dict[AccountKind, int]
    amount_share: tuple[int, int]


def _due_back(
    earned: int, kind: AccountKind, share: tuple[int, int], units: UnitsTakeBack | None
) -> int:
    """What of `earned` the refunds so far give back (never more than it, never less as
    refunds add up): everything once the order is given back whole; else the money share,
    or for an order whose lines keep their earnings, what the refunded units earned plus
    the money share of the amounts refunded without units."""
    part, whole = share
    if units is None or part >= whole:
        return earned * min(part, whole) // whole
    amount_part, amount_whole = units.amount_share
    by_amount = earned * min(amount_part, amount_whole) // amount_whole if amount_whole > 0 else 0
    return min(earned, units.earned.get(kind, 0) + by_amount)


async def take_back_for_refund(
    *,
    brand_id: int,
    store_id: int,
    order_id: int,
    refund_id: int,
    share: tuple[int, int],
    now: datetime,
    units: UnitsTakeBack | None = None,
) -> None:
    """After a refund, take back the part of the order's earnings that its refunds so far
    give back (_due_back): `share` = (part, whole) is the money refunded of the money paid,
    or for an order that cost nothing the list value of the units refunded of all bought;
    `units`, for an order whose lines keep their earnings, what its refunded units earned.
    Rounded down, so giving back the whole takes back exactly all of it; less what earlier
    refunds took. Callers line up the refunds of one order (the payment's row) so that each
    reads the entries of those before it."""
    if share[1] <= 0:
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
        due = _due_back(earned, kind, share, units)
        await post(
            brand_id=brand_id,
            store_id=store_id,
            kind=kind,
            amount=-max(due - taken, 0),
            cause=EntryCause.REFUND,
            cause_id=refund_id,
            order_id=order_id,
            now=now,
        )


async def spend_points_in_mall(
    *, brand_id: int, store_id: int, points: int, redemption_id: int, now: datetime
) -> None:
    """Take a mall redemption's points from the store, never below zero (409 otherwise)."""
    await post(
        brand_id=brand_id,
        store_id=store_id,
        kind=AccountKind.POINTS,
        amount=-points,
        cause=EntryCause.MALL_REDEMPTION,
        cause_id=redemption_id,
        order_id=NO_ORDER,
        now=now,
        spend=True,
    )


async def credit_lottery_points(
    *, brand_id: int, store_id: int, points: int, spin_id: int, order_id: int, now: datetime
) -> None:
    """Credit points won on the lottery wheel, once per spin."""
    await post(
        brand_id=brand_id,
        store_id=store_id,
        kind=AccountKind.POINTS,
        amount=points,
        cause=EntryCause.LOTTERY_PRIZE,
        cause_id=spin_id,
        order_id=order_id,
        now=now,
    )


async def rebate_balance(store_id: int) -> int:
    """The store's rebate balance now (for a quote: checkout reads it again under lock)."""
    row = await sql.fetch_one(
        "SELECT balance FROM ledger_accounts WHERE store_id = $1 AND kind = $2",
        store_id,
        AccountKind.REBATE.value,
    )
    return 0 if row is None else int(row["balance"])


async def locked_rebate_balance(store_id: int) -> int:
    """The store's rebate balance, its account row locked until the caller's transaction ends,
    so the amount checkout decides to use is still there when it spends it."""
    row = await sql.fetch_one(
        "UPDATE ledger_accounts SET balance = balance WHERE store_id = $1 AND kind = $2"
        " RETURNING balance",
        store_id,
        AccountKind.REBATE.value,
    )
    return 0 if row is None else int(row["balance"])


async def spend_rebate(
    *, brand_id: int, store_id: int, order_id: int, amount_fen: int, now: datetime
) -> None:
    """Pay `amount_fen` of an order from the store's rebate balance (never below zero)."""
    await post(
        brand_id=brand_id,
        store_id=store_id,
        kind=AccountKind.REBATE,
        amount=-amount_fen,
        cause=EntryCause.REBATE_SPENT,
        cause_id=order_id,
        order_id=order_id,
        now=now,
        spend=True,
    )


async def return_rebate(store_id: int, order_id: int, now: datetime) -> None:
    """Give back what the store's order took from the rebate balance (it was cancelled,
    expired or refunded in full), once: the return is unique per order like the spend."""
    spent = await sql.fetch_one(
        # Through the store's account: the entries' unique key (account, cause, cause id).
        "SELECT a.brand_id, a.store_id, e.amount FROM ledger_accounts a"
        " JOIN ledger_entries e ON e.account_id = a.id AND e.cause = $2 AND e.cause_id = $3"
        " WHERE a.store_id = $4 AND a.kind = $1",
        AccountKind.REBATE.value,
        EntryCause.REBATE_SPENT.value,
        order_id,
        store_id,
    )
    if spent is None:
        return
    await post(
        brand_id=spent["brand_id"],
        store_id=spent["store_id"],
        kind=AccountKind.REBATE,
        amount=-int(spent["amount"]),
        cause=EntryCause.REBATE_RETURNED,
        cause_id=order_id,
        order_id=order_id,
        now=now,
    )


async def reward_first_order(
    *,
    brand_id: int,
    store_id: int,
    order_id: int,
    paid_fen: int,
    first: org_service.FirstPaid,
    now: datetime,
) -> None:
    """Pay the brand's first-order rewards (Incentives) for a store's first paid order: the
    cashback to the store, the invitation reward to the store that invited it, and, for its
    first self order, points to the salesperson who onboarded it. Each is unique per store
    (the cause id), so it is paid once however often this runs."""
    incentives = await Incentives.get_or_none(brand_id=brand_id)
    if incentives is None:
        return
    if first.first and paid_fen >= incentives.first_order_min_fen:
        await post(
            brand_id=brand_id,
            store_id=store_id,
            kind=AccountKind.CASH,
            amount=incentives.first_order_cashback_fen,
            cause=EntryCause.FIRST_ORDER_CASHBACK,
            cause_id=store_id,
            order_id=order_id,
            now=now,
        )
    if first.first and first.invited_by_store_id is not None:
        await post(
            brand_id=brand_id,
            store_id=first.invited_by_store_id,
            kind=AccountKind.CASH,
            amount=incentives.invitation_reward_fen,
            cause=EntryCause.INVITATION_REWARD,
            cause_id=store_id,
            order_id=order_id,
            now=now,
        )
    if first.first_self and first.onboarded_by_salesperson_id is not None:
        await post_to_party(
            PartyKind.SALESPERSON,
            first.onboarded_by_salesperson_id,
            brand_id=brand_id,
            kind=AccountKind.POINTS,
            amount=incentives.salesperson_first_order_points,
            cause=EntryCause.SALESPERSON_FIRST_ORDER,
            cause_id=store_id,
            order_id=order_id,
            now=now,
        )


async def voucher_claim_moved(
    *,
    brand_id: int,
    distributor_id: int,
    claim_id: int,
    amount_fen: int,
    settled: bool,
    now: datetime,
) -> None:
    """The distributor's voucher account: an approved claim is owed to it (+), a settled one
    paid (−). Its balance is what the brand still owes; once per claim and step."""
    await post_to_party(
        PartyKind.DISTRIBUTOR,
        distributor_id,
        brand_id=brand_id,
        kind=AccountKind.VOUCHERS,
        amount=-amount_fen if settled else amount_fen,
        cause=EntryCause.CLAIM_SETTLED if settled else EntryCause.CLAIM_APPROVED,
        cause_id=claim_id,
        order_id=NO_ORDER,
        now=now,
    )


def incentives_view(incentives: Incentives | None) -> dict[str, Any]:
    names = (
        "first_order_cashback_fen",
        "first_order_min_fen",
        "invitation_reward_fen",
        "salesperson_first_order_points",
    )
    return {name: 0 if incentives is None else getattr(incentives, name) for name in names}


async def get_incentives(principal: Principal) -> dict[str, Any]:
    return incentives_view(await Incentives.get_or_none(brand_id=principal.brand_id))


async def set_incentives(
    principal: Principal, values: dict[str, int], *, now: datetime
) -> dict[str, Any]:
    """Replace the brand's standing rewards (they apply to first orders paid from now on)."""
    # One upsert: two brand staff saving at once must not meet on the unique brand key.
    await sql.execute(
        "INSERT INTO ledger_incentives (brand_id, first_order_cashback_fen, first_order_min_fen,"
        " invitation_reward_fen, salesperson_first_order_points, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (brand_id) DO UPDATE SET"
        " first_order_cashback_fen = excluded.first_order_cashback_fen,"
        " first_order_min_fen = excluded.first_order_min_fen,"
        " invitation_reward_fen = excluded.invitation_reward_fen,"
        " salesperson_first_order_points = excluded.salesperson_first_order_points,"
        " updated_at = excluded.updated_at",
        principal.brand_id,
        values["first_order_cashback_fen"],
        values["first_order_min_fen"],
        values["invitation_reward_fen"],
        values["salesperson_first_order_points"],
        now,
    )
    return incentives_view(await Incentives.get(brand_id=principal.brand_id))


def _own_party_id(principal: Principal, party: PartyKind) -> int | None:
    """The party a salesperson or distributor staff member is, if it is of that kind."""
    if party == PartyKind.SALESPERSON and principal.role == Role.SALESPERSON:
        return principal.salesperson_id
    if party == PartyKind.DISTRIBUTOR and principal.role in DISTRIBUTOR_ROLES:
        return principal.distributor_id
    return None


async def party_accounts(
    principal: Principal, party: PartyKind, party_id: int | None = None
) -> list[dict[str, Any]]:
    """Brand staff: every salesperson's (or distributor's) balances, or one party's when
    `party_id` is given. A salesperson or distributor: their own."""
    accounts = PartyAccount.filter(brand_id=principal.brand_id, party=party.value)
    if principal.role not in BRAND_ROLES:
        accounts = accounts.filter(party_id=_own_party_id(principal, party) or 0)
    if party_id is not None:
        accounts = accounts.filter(party_id=party_id)
    found = await accounts.order_by("party_id", "kind")
    return [
        {
            **party_account_view(account),
            "entries": [
                _entry_view(entry)
                for entry in await PartyEntry.filter(account_id=account.id)
                .order_by("-id")
                .limit(50)
            ],
        }
        for account in found
    ]


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


@dataclass(frozen=True)
class Period:
    """Entries written from `since` (included) to `until` (excluded); None: unbounded."""

    since: datetime | None = None
    until: datetime | None = None

    def filters(self) -> dict[str, datetime]:
        bounds = {"created_at__gte": self.since, "created_at__lt": self.until}
        return {key: at for key, at in bounds.items() if at is not None}


EVERYTHING = Period()


def china_days(first: date | None, last: date | None) -> Period:
    """Whole days in China time, `first` to `last` included (either may be open), in UTC
    like the stored times: SQLite compares them as text, offset and all."""

    def start(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)

    return Period(
        since=start(first) if first else None,
        until=start(last + timedelta(days=1)) if last else None,
    )


def _entry_view(entry: LedgerEntry | PartyEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "cause": entry.cause,
        "cause_name": CAUSE_NAMES[EntryCause(entry.cause)],
        "cause_id": entry.cause_id,
        "order_id": entry.order_id or None,  # NO_ORDER shows as none
        "at": entry.created_at.isoformat(),
    }


async def _entries_page(
    entries: type[LedgerEntry] | type[PartyEntry],
    account_id: int,
    *,
    newest_first: bool,
    after: int | None,
    before: int | None,
    period: Period,
    limit: int,
) -> list[dict[str, Any]]:
    """A keyset page of one account's entries (limit + 1, to tell if more exist): newest
    first below `before`, or oldest first above `after`, within `period`."""
    query = entries.filter(account_id=account_id, **period.filters())
    if after:
        query = query.filter(id__gt=after)
    if before:
        query = query.filter(id__lt=before)
    found = await query.order_by("-id" if newest_first else "id").limit(limit + 1)
    return [_entry_view(entry) for entry in found]


async def _store_account(principal: Principal, account_id: int) -> Account:
    account = await scoped(principal, Account.filter(id=account_id), ACCOUNT_TENANCY).first()
    if account is None:
        raise AccountNotFound()
    return account


async def statement(
    principal: Principal,
    account_id: int,
    *,
    newest_first: bool = False,
    after: int | None = None,
    before: int | None = None,
    period: Period = EVERYTHING,
    limit: int,
) -> dict[str, Any]:
    """A store's account and a keyset page of its entries, each with the balance after it."""
    account = await _store_account(principal, account_id)
    return {
        "account": account_view(account),
        "entries": await _entries_page(
            LedgerEntry,
            account.id,
            newest_first=newest_first,
            after=after,
            before=before,
            period=period,
            limit=limit,
        ),
    }


async def _party_account(principal: Principal, account_id: int) -> PartyAccount:
    """A salesperson's or distributor's account as the caller may see it: brand staff any of
    their brand's, a salesperson or distributor staff member only their own."""
    accounts = PartyAccount.filter(id=account_id, brand_id=principal.brand_id)
    if principal.role not in BRAND_ROLES:
        own = [
            (party, party_id)
            for party in PartyKind
            if (party_id := _own_party_id(principal, party)) is not None
        ]
        if not own:
            raise AccountNotFound()
        [(party, party_id)] = own
        accounts = accounts.filter(party=party.value, party_id=party_id)
    account = await accounts.first()
    if account is None:
        raise AccountNotFound()
    return account


def party_account_view(account: PartyAccount) -> dict[str, Any]:
    kind = AccountKind(account.kind)
    return {
        "id": account.id,
        "party": account.party,
        "party_id": account.party_id,
        "kind": kind.value,
        "kind_name": KIND_NAMES[kind],
        "balance": account.balance,
    }


async def party_statement(
    principal: Principal,
    account_id: int,
    *,
    before: int | None,
    period: Period,
    limit: int,
) -> dict[str, Any]:
    """A salesperson's or distributor's account and a page of its entries, newest first."""
    account = await _party_account(principal, account_id)
    return {
        "account": party_account_view(account),
        "entries": await _entries_page(
            PartyEntry,
            account.id,
            newest_first=True,
            after=None,
            before=before,
            period=period,
            limit=limit,
        ),
    }


EXPORT_LIMIT = 100_000  # entries in one statement file: years of a busy store
STATEMENT_HEADERS = ("时间", "事项", "变动", "变动后余额", "订单")


def _amount_text(kind: AccountKind, amount: int) -> str:
    """Points are whole numbers; the other accounts hold fen, shown as exact yuan."""
    return str(amount) if kind == AccountKind.POINTS else yuan(amount)


async def _statement_file(
    entries: type[LedgerEntry] | type[PartyEntry],
    account_id: int,
    kind: AccountKind,
    period: Period,
) -> bytes:
    """An account's entries in `period`, oldest first, as CSV (UTF-8 with BOM, China time)."""
    found = (
        await entries.filter(account_id=account_id, **period.filters())
        .order_by("id")
        .limit(EXPORT_LIMIT)
    )
    rows = [
        (
            entry.created_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            CAUSE_NAMES[EntryCause(entry.cause)],
            _amount_text(kind, entry.amount),
            _amount_text(kind, entry.balance_after),
            str(entry.order_id or ""),
        )
        for entry in found
    ]
    return BOM + csv_lines([STATEMENT_HEADERS, *rows])


async def statement_csv(
    principal: Principal, account_id: int, period: Period = EVERYTHING
) -> tuple[str, bytes]:
    """A store account's statement as a CSV file: its file name and content."""
    account = await _store_account(principal, account_id)
    kind = AccountKind(account.kind)
    name = f"statement-{account.store_id}-{kind.value}.csv"  # type: ignore[attr-defined]
    return name, await _statement_file(LedgerEntry, account.id, kind, period)


async def party_statement_csv(
    principal: Principal, account_id: int, period: Period = EVERYTHING
) -> tuple[str, bytes]:
    """A salesperson's or distributor's statement as a CSV file: its file name and content."""
    account = await _party_account(principal, account_id)
    kind = AccountKind(account.kind)
    name = f"statement-{account.party}-{account.party_id}-{kind.value}.csv"
    return name, await _statement_file(PartyEntry, account.id, kind, period)


async def unbalanced_accounts() -> list[dict[str, Any]]:
    """Every account, of either book, whose balance is not the sum of its entries: the
    nightly check of ARCHITECTURE rule 5 (`b2bc ledger-check`). Empty when all add up."""
    found: list[dict[str, Any]] = []
    for book in (STORES, PARTIES):
        rows = await sql.fetch(
            f"SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) AS total"  # noqa: S608
            f" FROM {book.accounts} a LEFT JOIN {book.entries} e ON e.account_id = a.id"
            " GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(e.amount), 0)"
        )
        found.extend(
            {
                "book": book.accounts,
                "account_id": r["id"],
                "balance": r["balance"],
                "sum": r["total"],
            }
            for r in rows
        )
    return found
