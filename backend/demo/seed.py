"""Demo data: one brand with regions, distributors, salespeople, stores and staff accounts,
a catalog, running promotions, coupons, a points mall and a lottery wheel, complaints at
every step, and a live session with enough stores invited for a lively room.

Created through the same services the API uses, so the demo shows real behaviour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from backend.analytics import event_days, rollups
from backend.catalog import service as catalog_service
from backend.catalog.models import Category, PriceEntry, Sku
from backend.coupons import service as coupons_service
from backend.demo.analytics import seed_order_history
from backend.demo.behaviour import seed_behaviour
from backend.demo.claims import seed_voucher_claim
from backend.demo.codes import seed_codes
from backend.demo.complaints import seed_complaints
from backend.demo.display import seed_display
from backend.demo.live import seed_live_session
from backend.demo.onboarding import seed_onboarding
from backend.demo.orders import become_owner, seed_desk_orders
from backend.demo.reorders import seed_reorders
from backend.demo.rewards import seed_mall, seed_owner_order, seed_to_send, seed_wheel
from backend.identity import service as identity_service
from backend.identity.models import Role, User, WechatAccount
from backend.identity.tokens import Principal
from backend.integrations.wechat.sandbox import openid_for
from backend.ledger import service as ledger_service
from backend.org import service as org_service
from backend.org.models import Brand, Salesperson, Store, StoreTag, StoreTier
from backend.promotions import service as promotions_service

BRAND_NAME = "澜泉净水"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed for the newcomer on purpose
REGIONS = ["华东大区", "华南大区"]
DISTRIBUTORS = [
    ("杭州澜泉商贸有限公司", "华东大区", "1900000101"),
    ("上海泉润贸易有限公司", "华东大区", "1900000102"),
    ("广州清源水处理设备有限公司", "华南大区", "1900000103"),
]
# The people behind the demo's console accounts: the header reads "王敏 · 品牌管理员".
BRAND_ADMIN_NAME = "王敏"
BRAND_OPS_NAME = "陈立"
DISTRIBUTOR_ADMIN_NAMES = ["周婷", "孙浩", "黄丽"]  # one per distributor, in order
SALESPEOPLE = ["王磊", "李娜", "张伟", "刘洋", "陈静", "杨帆"]
NAME_PREFIXES = ["鑫", "顺", "佳", "恒", "利", "华"]
STORE_WORDS = ["家电", "五金", "建材", "水电", "厨卫", "净水"]
STREETS = ["文一西路", "莫干山路", "南京东路", "淮海中路", "天河路", "中山大道"]
TAGS = ["社区店", "旗舰店", "新开店", "重点客户"]
# Stores go to the salespeople in turn, and the salespeople to the distributors: the first
# distributor has a third of them, all invited to its live session (34, a lively room).
STORE_COUNT = 100
DEMO_OWNER_PERSONA = "demo-owner"
# (category, product, [(sku name, spec, unit, list price in fen, case size, minimum order)])
CATALOG = [
    (
        "净水器",
        "澜泉 RO 反渗透净水器",
        [
            ("RO-500G", "厨下式 · 每分钟 1.3 升", "台", 199_900, 1, 1),
            ("RO-800G", "厨下式 · 每分钟 2.1 升", "台", 299_900, 1, 1),
        ],
    ),
    ("净水器", "澜泉 前置过滤器", [("40 微米", "全屋前置 · 4 分接口", "台", 59_900, 1, 1)]),
    ("滤芯", "PP 棉滤芯", [("10 英寸", "5 微米 · 第一级", "支", 3_500, 10, 10)]),
    ("滤芯", "活性炭滤芯", [("10 英寸", "颗粒活性炭 · 第二级", "支", 5_800, 10, 20)]),
    ("滤芯", "RO 膜滤芯", [("500G 通用", "适配两款 RO 净水器", "支", 29_900, 4, 4)]),
]


@dataclass
class DemoAccounts:
    brand_id: int
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, scope
    salespeople: list[tuple[str, str]] = field(default_factory=list)  # name, phone
    stores: int = 0
    skus: int = 0
    promotions: list[str] = field(default_factory=list)
    coupons: list[str] = field(default_factory=list)
    owner_store: str = ""
    owner_points: int = 0
    mall_items: list[str] = field(default_factory=list)
    wheel: str = ""
    complaints: int = 0
    desk_orders: int = 0
    live_session: str = ""
    live_invited: int = 0
    display_programs: list[str] = field(default_factory=list)
    code_batches: list[str] = field(default_factory=list)
    consumer_code_url: str = ""


async def seed_demo(appid: str, deps: Any = None) -> DemoAccounts | None:
    """Create the demo data once; returns None when it is already there. With the process's
    `deps`, complaints too (they go through WeChat's content check and the realtime push)."""
    if await Brand.exists(name=BRAND_NAME):
        return None
    rng = random.Random(2026)  # noqa: S311 - demo data, reproducible on purpose
    brand = await org_service.create_brand(BRAND_NAME)
    admin = await identity_service.create_staff_user("brand_admin", DEMO_PASSWORD, BRAND_ADMIN_NAME)
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
        display_name=BRAND_OPS_NAME,
        role=Role.BRAND_OPS,
        distributor_id=None,
    )
    accounts.staff.append(("brand_ops", "品牌运营", BRAND_NAME))

    distributor_ids = []
    people = zip(DISTRIBUTORS, DISTRIBUTOR_ADMIN_NAMES, strict=True)
    for number, ((name, region, mchid), admin_name) in enumerate(people, start=1):
        distributor = await org_service.create_distributor(
            acting,
            name=name,
            contact_name=admin_name,
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
            display_name=admin_name,
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

    # One transaction for the stores: on SQLite each commit is a sync to disk, and a hundred
    # stores with their tags would otherwise cost two hundred of them at every first start.
    async with in_transaction():
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
    accounts.skus = await _seed_catalog(acting, distributor_ids, rng)
    accounts.promotions = await _seed_promotions(acting)
    accounts.coupons = await _seed_coupons(acting)
    await _seed_incentives(acting)
    owner = await _seed_demo_owner(brand.id, appid)
    accounts.owner_store = str(owner.store_name)
    now = datetime.now(UTC).replace(microsecond=0)
    accounts.mall_items = await seed_mall(acting, now)
    accounts.wheel = await seed_wheel(acting, now)
    if deps is not None:
        salesperson_ids = [int(p["id"]) for p in salespeople]  # type: ignore[call-overload]
        await _seed_workflows(
            deps,
            acting,
            owner,
            distributor_ids=distributor_ids,
            salesperson_ids=salesperson_ids,
            accounts=accounts,
        )
    accounts.live_session, accounts.live_invited = await seed_live_session(
        acting, distributor_ids[0], now
    )
    # Last: a week of mini-program visits by the store owners the steps above made, summed
    # for the behaviour reports at once rather than by the job's first run.
    now = datetime.now(UTC).replace(microsecond=0)
    await seed_behaviour(brand.id, now)
    await event_days.sum_marked(now)
    return accounts


async def _seed_workflows(
    deps: Any,
    acting: Principal,
    owner: DemoOwner,
    *,
    distributor_ids: list[int],
    salesperson_ids: list[int],
    accounts: DemoAccounts,
) -> None:
    """Orders, complaints, onboarding, claims and display programs: they go through WeChat
    Pay's bookkeeping, the content check and the realtime push, so they need the process's
    deps."""
    brand_id = accounts.brand_id
    now = datetime.now(UTC).replace(microsecond=0)
    await seed_owner_order(deps, owner.principal, now)
    accounts.complaints = await seed_complaints(deps, acting, deps.clock.now())
    accounts.desk_orders = await seed_desk_orders(deps, brand_id, distributor_ids[0], now)
    await seed_onboarding(deps, acting, distributor_ids, salesperson_ids)
    await seed_to_send(deps, brand_id, now)
    await seed_voucher_claim(deps, acting, distributor_ids[0], now)
    accounts.display_programs = await seed_display(deps, acting, owner.principal, now)
    codes = await seed_codes(deps, acting, owner.principal, distributor_ids, now)
    accounts.code_batches, accounts.consumer_code_url = codes.batches, codes.consumer_code_url
    accounts.owner_points = await _points_of(owner.principal)  # the order's and the display's
    await seed_order_history(deps, acting, brand_id, now)
    await rollups.refresh(deps)  # the dashboards show the demo's orders from the first start
    await seed_reorders(deps, brand_id, salesperson_ids[0], now)


async def _seed_catalog(acting: Principal, distributor_ids: list[int], rng: random.Random) -> int:
    """Products with list prices, tier and volume prices, and stock at every distributor."""
    categories: dict[str, int] = {}
    sku_ids: list[int] = []
    for category, name, variants in CATALOG:
        if category not in categories:
            created = await catalog_service.create_category(
                acting, name=category, parent_id=None, sort=0
            )
            categories[category] = created["id"]
        product = await catalog_service.create_product(
            acting,
            name=name,
            category_id=categories[category],
            description="",
            images=[],
            skus=[
                {
                    "name": sku,
                    "spec": spec,
                    "unit": unit,
                    "barcode": f"6970{rng.randint(10**8, 10**9 - 1)}",
                    "list_price_fen": price,
                    "case_size": case,
                    "min_order_qty": minimum,
                }
                for sku, spec, unit, price, case, minimum in variants
            ],
        )
        sku_ids.extend(sku["id"] for sku in product["skus"])
    for distributor_id in distributor_ids:
        for sku_id in sku_ids:
            await catalog_service.adjust_stock(
                acting, distributor_id, sku_id, delta=rng.randint(50, 500)
            )
    flagship = sku_ids[0]
    await PriceEntry.create(
        brand_id=acting.brand_id, sku_id=flagship, store_tier="A", unit_price_fen=189_900
    )
    await PriceEntry.create(
        brand_id=acting.brand_id, sku_id=flagship, min_qty=10, unit_price_fen=179_900
    )
    return len(sku_ids)


async def _seed_promotions(acting: Principal) -> list[str]:
    """Two running promotions, so the demo's quotes and orders show them at work."""
    now = datetime.now(UTC)
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=90)}
    everyone: dict[str, Any] = {
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "channels": [],
        "scope": {"sku_ids": [], "category_ids": [], "bundle": [], "bundle_mode": "sets"},
        "conditions": {"min_quantity": 0, "min_amount_fen": 0},
        "stacking": "shared",
        "priority": 0,
        "per_store_limit": None,
    }
    filters = await Category.get(brand_id=acting.brand_id, name="滤芯")
    promotions = [
        {
            **everyone,
            **window,
            "name": "年终满 3000 减 300",
            "step": 2,
            "budget_fen": 5_000_000,
            "reward": {
                "kind": "reduction",
                "threshold_fen": 300_000,
                "amount_off_fen": 30_000,
                "every": False,
            },
        },
        {
            **everyone,
            **window,
            "name": "滤芯九折",
            "step": 1,
            "budget_fen": None,
            "scope": {
                "sku_ids": [],
                "category_ids": [filters.id],
                "bundle": [],
                "bundle_mode": "sets",
            },
            "reward": {"kind": "special_price", "unit_price_fen": None, "percent_of_list": "90"},
        },
        {
            **everyone,
            **window,
            "name": "订货送积分（每元 1 分）",
            "step": 2,
            "budget_fen": None,
            "reward": {"kind": "points", "per_yuan": "1", "threshold_fen": None, "multiplier": "1"},
        },
    ]
    for fields in promotions:
        created = await promotions_service.create_promotion(acting, fields, now=now)
        await promotions_service.move_promotion(acting, created["id"], "activate", now=now)
    await _seed_draft_bundle(acting, {**everyone, **window}, now)
    return [str(fields["name"]) for fields in promotions]


async def _seed_draft_bundle(acting: Principal, base: dict[str, Any], now: datetime) -> None:
    """A bundle promotion left as a draft, so the console's editor and simulator have one to
    try out before it is activated (drafts never price a store's cart)."""
    purifier = await Sku.get(brand_id=acting.brand_id, name="RO-500G")
    membrane = await Sku.get(brand_id=acting.brand_id, name="500G 通用")
    draft = {
        **base,
        "name": "净水器 + RO 膜套装 9 折（草稿）",
        "step": 3,
        "budget_fen": 2_000_000,
        "scope": {
            "sku_ids": [],
            "category_ids": [],
            "bundle": [
                {"sku_id": purifier.id, "set_quantity": 1},
                {"sku_id": membrane.id, "set_quantity": 4},
            ],
            "bundle_mode": "sets",
        },
        "reward": {"kind": "discount", "percent": "90"},
    }
    await promotions_service.create_promotion(acting, draft, now=now)


async def _seed_coupons(acting: Principal) -> list[str]:
    """A coupon in every store's wallet, and one in the 领券中心 for stores to claim."""
    now = datetime.now(UTC)
    no_one_in_particular: dict[str, list[Any]] = {
        "distributor_ids": [],
        "region_ids": [],
        "tiers": [],
        "tags": [],
    }
    scope: dict[str, list[Any]] = {"sku_ids": [], "category_ids": [], "exchange": []}
    common = {
        "audience": no_one_in_particular,
        "valid_from": None,
        "valid_until": None,
        "valid_days": 30,
        "total_quantity": None,
    }
    issued = await coupons_service.create_template(
        acting,
        {
            **common,
            "name": "新客满 2000 减 100",
            "kind": "reduction",
            "terms": {**scope, "threshold_fen": 200_000, "amount_off_fen": 10_000},
            "per_store_limit": 1,
            "claimable": False,
        },
        now=now,
    )
    await coupons_service.create_issuance(
        acting,
        issued["id"],
        {"audience": no_one_in_particular, "schedule": "once", "day_of_month": None},
        now=now,
    )
    claimable = await coupons_service.create_template(
        acting,
        {
            **common,
            "name": "95 折券（最多减 50 元）",
            "kind": "discount",
            "terms": {**scope, "percent": "95", "max_off_fen": 5_000, "threshold_fen": 0},
            "total_quantity": 500,
            "per_store_limit": 2,
            "claimable": True,
        },
        now=now,
    )
    return [str(issued["name"]), str(claimable["name"])]


async def _seed_incentives(acting: Principal) -> None:
    """The brand's standing first-order and invitation rewards (the demo owner's first paid
    order earns its cashback), so the rewards page and the stores' cash accounts show some."""
    await ledger_service.set_incentives(
        acting,
        {
            "first_order_cashback_fen": 5_000,
            "first_order_min_fen": 100_000,
            "invitation_reward_fen": 2_000,
            "salesperson_first_order_points": 200,
        },
        now=datetime.now(UTC),
    )


@dataclass(frozen=True)
class DemoOwner:
    store_name: str
    principal: Principal


async def _seed_demo_owner(brand_id: int, appid: str) -> DemoOwner:
    """A store owner a newcomer can sign in as through the WeChat sandbox."""
    store = await Store.filter(brand_id=brand_id).order_by("id").first()
    assert store is not None
    user = await User.create(display_name="演示店主")
    await WechatAccount.create(appid=appid, openid=openid_for(appid, DEMO_OWNER_PERSONA), user=user)
    principal = await become_owner(store, user)
    return DemoOwner(store.name, principal)


async def _points_of(owner: Principal) -> int:
    accounts = await ledger_service.list_accounts(owner, owner.store_id)
    return sum(int(a["balance"]) for a in accounts if a["kind"] == "points")
