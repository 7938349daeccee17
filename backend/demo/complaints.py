"""Demo complaints, so that a newcomer's console has a queue to work: filed by seven store
owners at different times and taken through the workflow by the brand, the distributors and
the stores, through the complaint service itself (so each has its timeline and service
level): new ones, one at each step after, a resolved one waiting for its store and a closed
one the store confirmed and rated. The damaged and the wrong goods name the delivered order
they are about and carry photos, made here with Pillow and uploaded through the same photo
check and storage as the mini-program's."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from backend.catalog.models import Sku
from backend.complaints import service as complaints_service
from backend.complaints.states import Action
from backend.demo.orders import become_owner, delivered_order, distributor_staff
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.org.models import Store

# (category, what the store says, hours ago, steps after filing: (who, action, message))
DEMO_COMPLAINTS: list[tuple[str, str, float, list[tuple[str, Action, str]]]] = [
    ("delivery", "昨天下的单说好今天上午送到，现在还没到，店里已经断货了。", 2.5, []),
    ("damaged", "收到的 RO-800G 外箱压坏，机器侧面有裂痕。", 0.5, []),
    (
        "wrong_goods",
        "订的是 10 寸 PP 棉滤芯，送来的是 20 寸的，装不上。",
        20,
        [("brand", Action.ACKNOWLEDGE, "已收到，正在核实发货记录")],
    ),
    (
        "quality",
        "滤芯用了不到一个月，出水有异味。",
        30,
        [("brand", Action.ACKNOWLEDGE, ""), ("brand", Action.ASSIGN, "请经销商尽快上门查看")],
    ),
    (
        "service",
        "配送师傅把货放在门口就走了，也没打电话。",
        50,
        [
            ("brand", Action.ACKNOWLEDGE, ""),
            ("brand", Action.ASSIGN, ""),
            ("distributor", Action.RESPOND, "已向老板致歉，并对配送员做了培训"),
        ],
    ),
    (
        "promotion",
        "满 3000 减 300 的活动，下单时没有减。",
        96,
        [
            ("brand", Action.ACKNOWLEDGE, ""),
            ("brand", Action.ASSIGN, ""),
            ("distributor", Action.RESPOND, "核实后已退回差价 300 元"),
            ("brand", Action.RESOLVE, "差价已退回，请您确认"),
        ],
    ),
    (
        "other",
        "上周订的活性炭滤芯少了 2 支，麻烦补发。",
        140,
        [
            ("brand", Action.ACKNOWLEDGE, ""),
            ("brand", Action.ASSIGN, "请核对出库记录后补发"),
            ("distributor", Action.RESPOND, "已补发 2 支，随今天的货一起送到"),
            ("brand", Action.RESOLVE, "经销商已补发，请您确认"),
            ("store", Action.CONFIRM, "收到了，谢谢"),
        ],
    ),
]
# The store confirmed and rated the closed one.
DEMO_RATING = (5, "补发很快，满意")

# The complaints that name their order, with what the store had ordered (product, SKU,
# quantity) and the photos it took of the problem.
EVIDENCE: dict[str, tuple[tuple[str, str, int], str, int]] = {
    "damaged": (("澜泉 RO 反渗透净水器", "RO-800G", 1), "crushed_box", 2),
    "wrong_goods": (("PP 棉滤芯", "10 英寸", 10), "long_filters", 1),
}
# Delivered this long before the store complained.
ORDER_BEFORE_COMPLAINT = timedelta(hours=30)


def demo_photo(subject: str, number: int) -> bytes:
    """A small real JPEG of the problem: a crushed box with a crack, or filters too long for
    their housing, drawn with Pillow (a phone's photo stands in for nothing less)."""
    rng = random.Random(f"{subject}-{number}")  # noqa: S311 - demo pictures, reproducible
    image = Image.new("RGB", (480, 360), (226, 222, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 270, 480, 360), fill=(150, 140, 128))  # the floor
    if subject == "crushed_box":
        left = 90 + rng.randint(-20, 20)
        draw.polygon(
            [(left, 110), (left + 260, 95), (left + 290, 290), (left + 10, 300)],
            fill=(181, 138, 88),
            outline=(120, 86, 50),
        )
        draw.rectangle((left + 110, 100, left + 150, 296), fill=(214, 196, 150))  # tape
        crack = [(left + 40 + 22 * step, 160 + rng.randint(-25, 25)) for step in range(10)]
        draw.line(crack, fill=(40, 30, 20), width=4)
        draw.polygon(
            [(left + 230, 96), (left + 262, 96), (left + 250, 140)], fill=(120, 86, 50)
        )  # the crushed corner
    else:
        draw.rectangle((60, 80, 420, 120), fill=(90, 110, 130))  # the housing, 10 inches
        for row in range(3):
            top = 150 + row * 40
            draw.rounded_rectangle((40, top, 460, top + 30), radius=12, fill=(245, 245, 240))
            draw.line([(40, top + 15), (460, top + 15)], fill=(200, 200, 190), width=2)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def _evidence(
    deps: Any, owner: Principal, category: str, filed_at: datetime
) -> tuple[int | None, list[int]]:
    """The delivered order a complaint names and its uploaded photos (none for most)."""
    if category not in EVIDENCE:
        return None, []
    (product, sku_name, quantity), subject, photos = EVIDENCE[category]
    sku = await Sku.get(brand_id=owner.brand_id, product__name=product, name=sku_name)
    order_id = await delivered_order(
        deps, owner, [(sku.id, quantity)], placed_at=filed_at - ORDER_BEFORE_COMPLAINT
    )
    uploaded = [
        await complaints_service.upload_photo(
            deps, owner, demo_photo(subject, number), now=filed_at
        )
        for number in range(photos)
    ]
    return order_id, [photo["id"] for photo in uploaded]


async def seed_complaints(deps: Any, brand: Principal, now: datetime) -> int:
    """File the demo complaints from stores without an owner yet (the demo owner's store
    keeps a clean history for the newcomer to file their own)."""
    stores = await Store.filter(brand_id=brand.brand_id, owner_id=None).order_by("-id")
    assert brand.brand_id is not None
    for store, (category, text, hours_ago, steps) in zip(stores, DEMO_COMPLAINTS, strict=False):
        owner = await become_owner(
            store, await User.create(display_name=store.contact_name or store.name)
        )
        at = now - timedelta(hours=hours_ago)
        order_id, photo_ids = await _evidence(deps, owner, category, at)
        fields: dict[str, Any] = {
            "category": category,
            "order_id": order_id,
            "text": text,
            "contact_preference": "phone",
            "photo_ids": photo_ids,
        }
        filed = await complaints_service.file(deps, owner, fields, now=at)
        # These owners have no WeChat account here, so their text went unchecked: the brand
        # has read it (approved), as brand staff would in the console.
        await complaints_service.review_content(deps, brand, filed["id"], "approved", now=at)
        distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
        actors = {
            "brand": brand,
            "distributor": await distributor_staff(brand.brand_id, distributor_id),
            "store": owner,
        }
        when = at
        for number, (who, action, message) in enumerate(steps, start=1):
            when = at + timedelta(minutes=40 * number)
            await complaints_service.act(
                deps,
                actors[who],
                filed["id"],
                action,
                message=message,
                distributor_id=None,
                now=when,
            )
        if steps and steps[-1][1] == Action.CONFIRM:
            rating, comment = DEMO_RATING
            await complaints_service.rate(deps, owner, filed["id"], rating, comment, now=when)
    return min(len(stores), len(DEMO_COMPLAINTS))
