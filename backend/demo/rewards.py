"""Demo points mall and lottery wheel, so that those mini-program pages show something, and a
paid order of the demo owner's that earned points to spend there and a spin of the wheel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.catalog.models import Sku
from backend.demo.orders import become_owner, paid_order
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.lottery import service as lottery_service
from backend.mall import service as mall_service
from backend.mall.models import MallItem
from backend.org.models import Store

# (name, description, points price, stock, physical: posted; otherwise the brand sends it
# another way, such as a top-up or an e-voucher)
MALL_ITEMS = [
    ("澜泉定制保温杯", "304 不锈钢，500 毫升，包邮到店", 800, 200, True),
    ("PP 棉滤芯 10 支装", "10 英寸通用，随下次订货一起送到", 1_500, 100, True),
    ("50 元话费充值", "兑换后 1 个工作日内充值到门店登记的手机号", 2_000, 500, False),
    ("100 元京东电子卡", "兑换后由品牌发送卡密到门店老板的微信", 3_500, 100, False),
]
WHEEL_NAME = "年终订货抽奖"
WHEEL_THRESHOLD_FEN = 100_000  # one spin for each paid order of 1,000 yuan or more
# (name, kind, points, weight, stock: None for unlimited)
WHEEL_PRIZES: list[tuple[str, str, int, int, int | None]] = [
    ("88 积分", "points", 88, 40, None),
    ("288 积分", "points", 288, 15, None),
    ("定制水杯", "goods", 0, 10, 100),
    ("滤芯一年装", "goods", 0, 3, 20),
    ("三亚双人游", "trip", 0, 1, 1),
    ("谢谢参与", "nothing", 0, 31, None),
]
# The demo owner's paid order: two RO-800G (5,998 yuan, 满 3000 减 300 brings it to 5,698).
OWNER_ORDER = [("RO-800G", 2)]


async def seed_mall(brand: Principal, now: datetime) -> list[str]:
    for name, description, points, stock, physical in MALL_ITEMS:
        await mall_service.create_item(
            brand,
            {
                "name": name,
                "description": description,
                "image_url": "",
                "points_price": points,
                "stock": stock,
                "physical": physical,
            },
            now=now,
        )
    return [name for name, *_ in MALL_ITEMS]


async def seed_wheel(brand: Principal, now: datetime) -> str:
    fields: dict[str, Any] = {
        "name": WHEEL_NAME,
        "threshold_fen": WHEEL_THRESHOLD_FEN,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=90),
        "prizes": [
            {"name": name, "kind": kind, "points": points, "weight": weight, "stock": stock}
            for name, kind, points, weight, stock in WHEEL_PRIZES
        ],
    }
    wheel = await lottery_service.create_wheel(brand, fields, now=now)
    return str(wheel["name"])


async def seed_owner_order(deps: Any, owner: Principal, now: datetime) -> int:
    """Placed two hours ago and paid on delivery terms: its points are in the owner's
    account and it unlocks one spin of the wheel (it is over the threshold, in the window)."""
    lines = [
        ((await Sku.get(brand_id=owner.brand_id, name=name)).id, quantity)
        for name, quantity in OWNER_ORDER
    ]
    return await paid_order(deps, owner, lines, placed_at=now - timedelta(hours=2))


# Another store's gift and prize, waiting for the brand to send them (兑换发货, 奖品发放).
SENDER_CONTACT = {"name": "周丽", "phone": "13900008888", "address": "杭州市拱墅区莫干山路 88 号"}
WON_PRIZE = "定制水杯"


async def seed_to_send(deps: Any, brand_id: int, now: datetime) -> None:
    """A store without an owner yet gets one, who pays an order (points and a spin), redeems
    the cheapest posted gift to a contact and spins the wheel onto a gift to send."""
    store = await Store.filter(brand_id=brand_id, owner_id=None).order_by("id").first()
    if store is None:
        return
    owner = await become_owner(store, await User.create(display_name=store.contact_name))
    await seed_owner_order(deps, owner, now - timedelta(hours=1))
    item = await MallItem.filter(brand_id=brand_id, physical=True).order_by("points_price").first()
    assert item is not None
    await mall_service.redeem(owner, item.id, 1, delivery=SENDER_CONTACT, now=now)
    [wheel] = await lottery_service.list_wheels(owner, now=now)
    # The roll that lands on the gift: past the weights of the prizes listed before it.
    names = [prize["name"] for prize in wheel["prizes"]]
    landing = sum(prize["weight"] for prize in wheel["prizes"][: names.index(WON_PRIZE)])
    await lottery_service.spin(owner, wheel["id"], now=now, roll_below=lambda _total: landing)
