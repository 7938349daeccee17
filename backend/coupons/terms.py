"""What a coupon takes off an order, after the promotions: pure, no IO (ARCHITECTURE rule 1).

A coupon applies to the lines of its scope (all bought lines when the scope is empty; gifts
never count). Its amount comes off those lines' payable amounts, allocated by largest
remainder so the lines add up to the order's total, and never takes a line below zero.

- reduction (满减券): `amount_off_fen` when the scope's payable amount reaches
  `threshold_fen`, never more than that amount;
- discount (折扣券): pay `percent`% of the scope (9折 is 90), the amount off rounded half-up
  to the fen once, capped at `max_off_fen` when set, from `threshold_fen` when set;
- exchange (兑换券): the named SKUs free, up to their quantities, at what the order pays for
  them; only on orders the store places itself (self), never on a salesperson's proxy order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backend.kernel.money import allocate, percent_of, yuan

SELF_CHANNEL = "self"


@dataclass(frozen=True, slots=True)
class Terms:
    kind: str  # reduction | discount | exchange
    sku_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    threshold_fen: int = 0
    amount_off_fen: int = 0
    percent: Decimal | None = None
    max_off_fen: int | None = None
    exchange: tuple[tuple[int, int], ...] = ()  # (sku_id, quantity)

    @classmethod
    def from_stored(cls, kind: str, stored: dict[str, Any]) -> Terms:
        """The terms as kept in a template's JSON (decimals as text)."""
        percent = stored.get("percent")
        return cls(
            kind=kind,
            sku_ids=frozenset(stored.get("sku_ids", ())),
            category_ids=frozenset(stored.get("category_ids", ())),
            threshold_fen=stored.get("threshold_fen", 0),
            amount_off_fen=stored.get("amount_off_fen", 0),
            percent=None if percent is None else Decimal(percent),
            max_off_fen=stored.get("max_off_fen"),
            exchange=tuple(
                (item["sku_id"], item["quantity"]) for item in stored.get("exchange", ())
            ),
        )

    def covers(self, line: PayableLine) -> bool:
        if self.kind == "exchange":
            return any(sku_id == line.sku_id for sku_id, _ in self.exchange)
        if not self.sku_ids and not self.category_ids:
            return True
        return line.sku_id in self.sku_ids or line.category_id in self.category_ids

    def describe(self) -> str:
        """The terms in the words a store owner reads on the coupon."""
        if self.kind == "reduction":
            return f"满{yuan(self.threshold_fen)}元减{yuan(self.amount_off_fen)}元"
        if self.kind == "discount":
            assert self.percent is not None  # checked when the template was made
            rate = (self.percent / 10).normalize()
            text = f"{rate:f}折"
            if self.threshold_fen:
                text = f"满{yuan(self.threshold_fen)}元{text}"
            if self.max_off_fen is not None:
                text += f"，最多减{yuan(self.max_off_fen)}元"
            return text
        return "兑换指定商品"


@dataclass(frozen=True, slots=True)
class PayableLine:
    """A bought line as the promotions left it."""

    sku_id: int
    category_id: int
    quantity: int
    payable_fen: int


@dataclass(frozen=True, slots=True)
class Effect:
    """What the coupon takes off: in all, and from each line (aligned with the lines given)."""

    amount_fen: int
    per_line: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the coupon does not apply to this cart, with a stable code and a Chinese message."""

    code: str
    message: str


def apply(terms: Terms, lines: Sequence[PayableLine], channel: str) -> Effect | Refusal:
    if terms.kind == "exchange" and channel != SELF_CHANNEL:
        return Refusal("coupon.self_orders_only", "兑换券仅限门店自己下单使用，业务员代下单不可用")
    covered = [index for index, line in enumerate(lines) if terms.covers(line)]
    scope_fen = sum(lines[index].payable_fen for index in covered)
    if not covered:
        return Refusal("coupon.no_matching_products", "购物车中没有此券适用的商品")
    if scope_fen < terms.threshold_fen:
        short = yuan(terms.threshold_fen - scope_fen)
        return Refusal("coupon.threshold_not_met", f"适用商品还差{short}元才能使用此券")
    if terms.kind == "exchange":
        per_line = _exchanged(terms, lines)
    else:
        off = _amount_off(terms, scope_fen)
        shares = allocate(off, [lines[index].payable_fen for index in covered])
        per_line = [0] * len(lines)
        for index, share in zip(covered, shares, strict=True):
            per_line[index] = share
    return Effect(sum(per_line), tuple(per_line))


def _amount_off(terms: Terms, scope_fen: int) -> int:
    if terms.kind == "reduction":
        return min(terms.amount_off_fen, scope_fen)
    assert terms.percent is not None  # checked when the template was made
    off = scope_fen - percent_of(scope_fen, terms.percent)
    return off if terms.max_off_fen is None else min(off, terms.max_off_fen)


def _exchanged(terms: Terms, lines: Sequence[PayableLine]) -> list[int]:
    """The named SKUs' units free up to the voucher's quantity, at the line's own unit amount
    (its payable split evenly over its units: the free units' share, rounded down)."""
    free = dict(terms.exchange)
    per_line = []
    for line in lines:
        units = min(free.get(line.sku_id, 0), line.quantity)
        free[line.sku_id] = free.get(line.sku_id, 0) - units
        per_line.append(line.payable_fen * units // line.quantity if line.quantity else 0)
    return per_line
