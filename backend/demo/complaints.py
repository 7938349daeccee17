"""Demo complaints, so that a newcomer's console has a queue to work: filed by six store
owners at different times and taken through the workflow by the brand and the distributors,
through the complaint service itself (so each has its timeline and service level)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.complaints import service as complaints_service
from backend.complaints.states import Action
from backend.identity import service as identity_service
from backend.identity.models import Membership, Role, User
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
]


async def _owner(store: Store, brand_id: int) -> Principal:
    user = await User.create(display_name=store.contact_name or store.name)
    distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
    membership = await identity_service.grant_membership(
        user.id, Role.STORE_OWNER, brand_id, distributor_id=distributor_id, store_id=store.id
    )
    await Store.filter(id=store.id).update(owner_id=user.id)
    return Principal(
        user_id=user.id,
        session_id="seed",
        role=Role.STORE_OWNER.value,
        membership_id=membership.id,
        brand_id=brand_id,
        distributor_id=distributor_id,
        store_id=store.id,
    )


async def _distributor_staff(brand_id: int, distributor_id: int) -> Principal:
    membership = await Membership.filter(
        brand_id=brand_id, distributor_id=distributor_id, role=Role.DISTRIBUTOR_ADMIN.value
    ).first()
    assert membership is not None
    user_id: int = membership.user_id  # type: ignore[attr-defined]
    return Principal(
        user_id=user_id,
        session_id="seed",
        role=Role.DISTRIBUTOR_ADMIN.value,
        membership_id=membership.id,
        brand_id=brand_id,
        distributor_id=distributor_id,
    )


async def seed_complaints(deps: Any, brand: Principal, now: datetime) -> int:
    """File the demo complaints from stores without an owner yet (the demo owner's store
    keeps a clean history for the newcomer to file their own)."""
    stores = await Store.filter(brand_id=brand.brand_id, owner_id=None).order_by("-id")
    assert brand.brand_id is not None
    for store, (category, text, hours_ago, steps) in zip(stores, DEMO_COMPLAINTS, strict=False):
        owner = await _owner(store, brand.brand_id)
        at = now - timedelta(hours=hours_ago)
        fields: dict[str, Any] = {
            "category": category,
            "order_id": None,
            "text": text,
            "contact_preference": "phone",
            "photo_ids": [],
        }
        filed = await complaints_service.file(deps, owner, fields, now=at)
        # These owners have no WeChat account here, so their text went unchecked: the brand
        # has read it (approved), as brand staff would in the console.
        await complaints_service.review_content(deps, brand, filed["id"], "approved", now=at)
        distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
        for number, (who, action, message) in enumerate(steps, start=1):
            actor = (
                brand
                if who == "brand"
                else await _distributor_staff(brand.brand_id, distributor_id)
            )
            await complaints_service.act(
                deps,
                actor,
                filed["id"],
                action,
                message=message,
                distributor_id=None,
                now=at + timedelta(minutes=40 * number),
            )
    return min(len(stores), len(DEMO_COMPLAINTS))
