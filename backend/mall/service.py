"""The points mall: the brand lists gifts with a points price and stock; a store redeems
them with its points, atomically: the stock (a guarded update), the redemption and the
ledger entry spending the points commit together, or nothing does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.identity.access import BRAND_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict, InvalidInput, NotFound
from backend.ledger import service as ledger_service
from backend.mall.models import MallItem, MallItemStatus, Redemption, RedemptionStatus
from backend.org import service as org_service

STATUS_NAMES = {RedemptionStatus.PENDING: "待发货", RedemptionStatus.DELIVERED: "已发货"}


class ItemNotFound(NotFound):
    code = "mall.item_not_found"
    message = "找不到该商品"


class RedemptionNotFound(NotFound):
    code = "mall.redemption_not_found"
    message = "找不到该兑换记录"


class OutOfStock(Conflict):
    code = "mall.out_of_stock"
    message = "该商品库存不足"


class DeliveryNotNeeded(InvalidInput):
    code = "mall.delivery_not_needed"
    message = "该礼品无需邮寄，不用填写收货信息"


class AlreadyDelivered(Conflict):
    code = "mall.already_delivered"
    message = "该兑换已发货"


class StockWouldGoNegative(Conflict):
    code = "mall.stock_negative"
    message = "减少的数量超过了现有库存"


def item_view(item: MallItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "image_url": item.image_url,
        "points_price": item.points_price,
        "stock": item.stock,
        "status": item.status,
        "physical": item.physical,
        "created_at": item.created_at.isoformat(),
    }


def redemption_view(redemption: Redemption) -> dict[str, Any]:
    status = RedemptionStatus(redemption.status)
    return {
        "id": redemption.id,
        "store_id": redemption.store_id,  # type: ignore[attr-defined]
        "item_id": redemption.item_id,  # type: ignore[attr-defined]
        "item_name": redemption.item_name,
        "quantity": redemption.quantity,
        "points": redemption.points,
        "status": status.value,
        "status_name": STATUS_NAMES[status],
        "delivery": None
        if redemption.delivery_address is None
        else {
            "name": redemption.delivery_name,
            "phone": redemption.delivery_phone,
            "address": redemption.delivery_address,
        },
        "created_at": redemption.created_at.isoformat(),
        "delivered_at": None
        if redemption.delivered_at is None
        else redemption.delivered_at.isoformat(),
    }


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:  # every route's roles carry a brand
        raise ItemNotFound()
    return principal.brand_id


# ---- the brand ------------------------------------------------------------------------------


async def create_item(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    item = await MallItem.create(
        brand_id=_brand_of(principal), created_at=now, updated_at=now, **fields
    )
    return item_view(item)


async def update_item(
    principal: Principal, item_id: int, changes: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """Change the listing: price, stock (set, for restocking), status, texts."""
    updated = await MallItem.filter(id=item_id, brand_id=_brand_of(principal)).update(
        **changes, updated_at=now
    )
    if not updated:
        raise ItemNotFound()
    return item_view(await MallItem.get(id=item_id))


async def change_stock(
    principal: Principal, item_id: int, change: int, *, now: datetime
) -> dict[str, Any]:
    """Add (restock) or remove units relative to the stock now: one guarded update, so a
    redemption taking units at the same moment is never overwritten, and stock stays >= 0."""
    brand_id = _brand_of(principal)
    moved = await MallItem.filter(id=item_id, brand_id=brand_id, stock__gte=-change).update(
        stock=F("stock") + change, updated_at=now
    )
    item = await MallItem.get_or_none(id=item_id, brand_id=brand_id)
    if item is None:
        raise ItemNotFound()
    if not moved:
        raise StockWouldGoNegative(f"库存只剩 {item.stock} 件，不能减少 {-change} 件")
    return item_view(item)


async def list_items(principal: Principal) -> list[dict[str, Any]]:
    """Brand staff see every item; stores see what is on sale."""
    items = MallItem.filter(brand_id=_brand_of(principal))
    if principal.role not in BRAND_ROLES:
        items = items.filter(status=MallItemStatus.ON_SALE.value)
    return [item_view(item) for item in await items.order_by("points_price", "id")]


async def list_redemptions(
    principal: Principal, *, status: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Brand staff see all of the brand's; a store its own."""
    redemptions = Redemption.filter(brand_id=_brand_of(principal))
    if principal.role not in BRAND_ROLES:
        redemptions = redemptions.filter(store_id=principal.store_id)
    if status is not None:
        redemptions = redemptions.filter(status=status)
    if before is not None:
        redemptions = redemptions.filter(id__lt=before)
    found = await redemptions.order_by("-id").limit(limit)
    views = [redemption_view(redemption) for redemption in found]
    if principal.role in BRAND_ROLES:  # the sender: where a gift with no contact goes
        await org_service.add_store_contacts(views)
    return views


async def mark_delivered(
    principal: Principal, redemption_id: int, *, now: datetime
) -> dict[str, Any]:
    brand_id = _brand_of(principal)
    moved = await Redemption.filter(
        id=redemption_id, brand_id=brand_id, status=RedemptionStatus.PENDING.value
    ).update(status=RedemptionStatus.DELIVERED.value, delivered_at=now)
    redemption = await Redemption.get_or_none(id=redemption_id, brand_id=brand_id)
    if redemption is None:
        raise RedemptionNotFound()
    if not moved:
        raise AlreadyDelivered()
    return redemption_view(redemption)


# ---- stores -----------------------------------------------------------------------------------


async def redeem(
    principal: Principal,
    item_id: int,
    quantity: int,
    *,
    delivery: dict[str, str] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Spend the store's points on `quantity` of an item, sent to `delivery` (name, phone,
    address; a physical gift only, none: the store's own address). Not enough stock or
    points: 409, and nothing changed (the stock taken first is rolled back with the rest)."""
    store = await org_service.store_for_ordering(principal, None)
    item = await MallItem.get_or_none(
        id=item_id, brand_id=store.brand_id, status=MallItemStatus.ON_SALE.value
    )
    if item is None:
        raise ItemNotFound()
    if delivery is not None and not item.physical:
        raise DeliveryNotNeeded(details=[{"field": "delivery", "type": "not_needed"}])
    contact = delivery or {}
    async with in_transaction():
        taken = await sql.execute(
            "UPDATE mall_items SET stock = stock - $1, updated_at = $2"
            " WHERE id = $3 AND status = $4 AND stock >= $1",
            quantity,
            now,
            item.id,
            MallItemStatus.ON_SALE.value,
        )
        if not taken:
            raise OutOfStock()
        redemption = await Redemption.create(
            brand_id=store.brand_id,
            store_id=store.id,
            item_id=item.id,
            item_name=item.name,
            quantity=quantity,
            points=item.points_price * quantity,
            redeemed_by_id=principal.user_id,
            created_at=now,
            delivery_name=contact.get("name"),
            delivery_phone=contact.get("phone"),
            delivery_address=contact.get("address"),
        )
        await ledger_service.spend_points_in_mall(
            brand_id=store.brand_id,
            store_id=store.id,
            points=redemption.points,
            redemption_id=redemption.id,
            now=now,
        )
    return redemption_view(redemption)
