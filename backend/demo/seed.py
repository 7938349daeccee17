"""Demo data: one brand with regions, distributors, salespeople, stores and staff accounts.

Created through the same services the API uses, so the demo shows real behaviour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.org import service as org_service
from backend.org.models import Brand, Salesperson, Store, StoreTag, StoreTier

BRAND_NAME = "澜泉净水"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the newcomer on purpose
REGIONS = ["华东大区", "华南大区"]
DISTRIBUTORS = [
    ("杭州澜泉商贸有限公司", "华东大区", "1900000101"),
    ("上海泉润贸易有限公司", "华东大区", "1900000102"),
    ("广州清源水处理设备有限公司", "华南大区", "1900000103"),
]
SALESPEOPLE = ["王磊", "李娜", "张伟", "刘洋", "陈静", "杨帆"]
NAME_PREFIXES = ["鑫", "顺", "佳", "恒", "利", "华"]
STORE_WORDS = ["家电", "五金", "建材", "水电", "厨卫", "净水"]
STREETS = ["文一西路", "莫干山路", "南京东路", "淮海中路", "天河路", "中山大道"]
TAGS = ["社区店", "旗舰店", "新开店", "重点客户"]
STORE_COUNT = 40


@dataclass
class DemoAccounts:
    brand_id: int
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, scope
    salespeople: list[tuple[str, str]] = field(default_factory=list)  # name, phone
    stores: int = 0


async def seed_demo() -> DemoAccounts | None:
    """Create the demo data once; returns None when it is already there."""
    if await Brand.exists(name=BRAND_NAME):
        return None
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    brand = await org_service.create_brand(BRAND_NAME)
    admin = await identity_service.create_staff_user("brand_admin", DEMO_PASSWORD, "品牌管理员")
    await identity_service.grant_membership(admin.id, Role.BRAND_ADMIN, brand.id)
    acting = Principal(
        user_id=admin.id, session_id="seed", role=Role.BRAND_ADMIN.value, brand_id=brand.id
    )
    accounts = DemoAccounts(brand_id=brand.id)
    accounts.staff.append(("brand_admin", "品牌管理员", BRAND_NAME))

    regions = {name: (await org_service.create_region(acting, name))["id"] for name in REGIONS}
    await org_service.create_staff_account(
        acting,
        username="brand_ops",
        password=DEMO_PASSWORD,
        display_name="品牌运营",
        role=Role.BRAND_OPS,
        distributor_id=None,
    )
    accounts.staff.append(("brand_ops", "品牌运营", BRAND_NAME))

    distributor_ids = []
    for number, (name, region, mchid) in enumerate(DISTRIBUTORS, start=1):
        distributor = await org_service.create_distributor(
            acting,
            name=name,
            contact_phone=f"0571-8800{number:04d}",
            wechat_sub_mchid=mchid,
            region_ids=[regions[region]],
        )
        distributor_ids.append(distributor["id"])
        username = f"dist{number}_admin"
        await org_service.create_staff_account(
            acting,
            username=username,
            password=DEMO_PASSWORD,
            display_name=f"{name[:4]}管理员",
            role=Role.DISTRIBUTOR_ADMIN,
            distributor_id=distributor["id"],
        )
        accounts.staff.append((username, "经销商管理员", name))

    salespeople: list[dict[str, object]] = []
    for number, name in enumerate(SALESPEOPLE):
        phone = f"1390000{number + 1:04d}"
        person = await org_service.create_salesperson(
            acting,
            name=name,
            phone=phone,
            distributor_id=distributor_ids[number % len(distributor_ids)],
        )
        salespeople.append(person)
        accounts.salespeople.append((name, phone))

    for number in range(STORE_COUNT):
        person = salespeople[number % len(salespeople)]
        distributor_id = int(person["distributor_id"])  # type: ignore[call-overload]
        region_name = REGIONS[0] if distributor_id != distributor_ids[-1] else REGIONS[1]
        store = await Store.create(
            brand_id=brand.id,
            name=f"{rng.choice(NAME_PREFIXES)}{rng.choice(STORE_WORDS)}店{number + 1:02d}",
            contact_name=f"{rng.choice('赵钱孙李周吴郑王')}老板",
            phone=f"1370000{number + 1:04d}",
            address=f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            latitude=round(30.0 + rng.random(), 6),
            longitude=round(120.0 + rng.random(), 6),
            region_id=regions[region_name],
            distributor_id=distributor_id,
            salesperson_id=person["id"],
            tier=rng.choice(list(StoreTier)).value,
            invited_by_salesperson_id=person["id"],
        )
        await StoreTag.bulk_create([StoreTag(store=store, tag=t) for t in rng.sample(TAGS, 2)])
        accounts.stores += 1
    assert await Salesperson.filter(brand_id=brand.id).count() == len(SALESPEOPLE)
    return accounts
