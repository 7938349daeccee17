"""Prices a list of lines for one store at its distributor: pure functions over plain data.

Unit prices come from the most specific price entry (distributor and tier, then either, then
neither) with the highest minimum quantity the line reaches (阶梯价), else the list price.
A line that cannot be ordered says why; the quote totals only the lines that can.
All amounts are integer fen; quantity times unit price needs no rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MAX_LINE_QUANTITY = 99_999
MAX_LINES = 200


@dataclass(frozen=True, slots=True)
class PriceTier:
    min_qty: int
    unit_price_fen: int
    for_distributor: bool
    for_tier: bool

    @property
    def specificity(self) -> int:
        return 2 * self.for_distributor + self.for_tier


@dataclass(frozen=True, slots=True)
class SkuOffer:
    """What one store's distributor offers of one SKU, and at which prices."""

    sku_id: int
    product_name: str
    sku_name: str
    unit: str
    list_price_fen: int
    case_size: int
    min_order_qty: int
    is_active: bool
    sold_here: bool
    stock: int
    tiers: tuple[PriceTier, ...] = ()
    category_id: int | None = None
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class RequestedLine:
    sku_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class LineProblem:
    code: str
    message: str
    # Whether the buyer can fix it by changing the quantity (422) or not (409).
    quantity_problem: bool = False


@dataclass(frozen=True, slots=True)
class QuotedLine:
    sku_id: int
    quantity: int
    product_name: str = ""
    sku_name: str = ""
    unit: str = ""
    list_unit_price_fen: int = 0
    unit_price_fen: int = 0
    price_source: str = "list"
    available_stock: int = 0
    problems: tuple[LineProblem, ...] = ()
    category_id: int | None = None  # what category-scoped promotions look at
    # What a buyer's quantity stepper needs (whole cases, the minimum) and the product to link
    # to; an unknown SKU has no product and accepts any quantity rule-wise.
    product_id: int | None = None
    case_size: int = 1
    min_order_qty: int = 1

    @property
    def orderable(self) -> bool:
        return not self.problems

    @property
    def list_amount_fen(self) -> int:
        return self.list_unit_price_fen * self.quantity

    @property
    def payable_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def discount_fen(self) -> int:
        return self.list_amount_fen - self.payable_fen


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[QuotedLine, ...]
    list_amount_fen: int = 0
    discount_fen: int = 0
    payable_fen: int = 0
    rounding: str = "金额以分为单位，单价乘数量无需舍入"
    problems: tuple[LineProblem, ...] = field(default_factory=tuple)

    @property
    def orderable(self) -> bool:
        return bool(self.lines) and not self.problems and all(line.orderable for line in self.lines)


def unit_price(offer: SkuOffer, quantity: int) -> tuple[int, str]:
    reached = [tier for tier in offer.tiers if tier.min_qty <= quantity]
    if not reached:
        return offer.list_price_fen, "list"
    best = max(reached, key=lambda tier: (tier.specificity, tier.min_qty))
    scope = {3: "distributor_tier", 2: "distributor", 1: "tier", 0: "brand"}[best.specificity]
    return best.unit_price_fen, f"{scope}:{best.min_qty}"


def _problems(offer: SkuOffer | None, quantity: int) -> tuple[LineProblem, ...]:
    if quantity <= 0 or quantity > MAX_LINE_QUANTITY:
        return (
            LineProblem("quantity.out_of_range", f"数量须在 1 到 {MAX_LINE_QUANTITY} 之间", True),
        )
    if offer is None:
        return (LineProblem("sku.not_found", "商品不存在"),)
    if not offer.is_active:
        return (LineProblem("sku.inactive", "商品已下架"),)
    if not offer.sold_here:
        return (LineProblem("sku.not_sold_here", "您的经销商暂不供应该商品"),)
    found: list[LineProblem] = []
    if quantity < offer.min_order_qty:
        found.append(
            LineProblem(
                "quantity.below_minimum", f"起订量为 {offer.min_order_qty}{offer.unit}", True
            )
        )
    if quantity % offer.case_size:
        found.append(
            LineProblem(
                "quantity.not_case_multiple",
                f"须按整箱订购，每箱 {offer.case_size}{offer.unit}",
                True,
            )
        )
    if offer.stock < quantity:
        found.append(
            LineProblem(
                "sku.insufficient_stock", f"库存不足，仅剩 {max(offer.stock, 0)}{offer.unit}"
            )
        )
    return tuple(found)


def quote_line(offer: SkuOffer | None, requested: RequestedLine) -> QuotedLine:
    problems = _problems(offer, requested.quantity)
    if offer is None:
        return QuotedLine(requested.sku_id, requested.quantity, problems=problems)
    price, source = unit_price(offer, max(requested.quantity, 1))
    return QuotedLine(
        sku_id=offer.sku_id,
        quantity=requested.quantity,
        product_name=offer.product_name,
        sku_name=offer.sku_name,
        unit=offer.unit,
        list_unit_price_fen=offer.list_price_fen,
        unit_price_fen=price,
        price_source=source,
        available_stock=max(offer.stock, 0),
        problems=problems,
        category_id=offer.category_id,
        product_id=offer.product_id,
        case_size=offer.case_size,
        min_order_qty=offer.min_order_qty,
    )


def quote_lines(offers: Mapping[int, SkuOffer], requested: Sequence[RequestedLine]) -> Quote:
    """Price `requested` (one line per SKU; repeated SKUs are merged, in first-seen order)."""
    merged: dict[int, int] = {}
    for line in requested:
        merged[line.sku_id] = merged.get(line.sku_id, 0) + line.quantity
    quoted = tuple(
        quote_line(offers.get(sku_id), RequestedLine(sku_id, qty)) for sku_id, qty in merged.items()
    )
    problems: tuple[LineProblem, ...] = ()
    if len(quoted) > MAX_LINES:
        problems = (LineProblem("order.too_many_lines", f"一次最多订购 {MAX_LINES} 种商品", True),)
    priced = [line for line in quoted if line.orderable]
    return Quote(
        lines=quoted,
        list_amount_fen=sum(line.list_amount_fen for line in priced),
        discount_fen=sum(line.discount_fen for line in priced),
        payable_fen=sum(line.payable_fen for line in priced),
        problems=problems,
    )
