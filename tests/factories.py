"""Small async factories: real service calls with overridable defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.identity.tokens import Principal
from backend.org import service as org_service
from backend.org.models import Brand, Distributor, Salesperson, Store

PASSWORD = "correct-horse-battery"
SANDBOX_APPID = "wx_sandbox_appid"
_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


@dataclass
class Tenant:
    brand: Brand
    distributor: Distributor
    other_distributor: Distributor
    salesperson: Salesperson
    store: Store
    admin_username: str

    @property
    def acting_admin(self) -> Principal:
        return Principal(
            user_id=0, session_id="factory", role="brand_admin", brand_id=self.brand.id
        )


async def make_staff(
    brand_id: int, role: Role, distributor_id: int | None = None, username: str | None = None
) -> str:
    username = username or f"{role.value}_{_n()}"
    user = await identity_service.create_staff_user(username, PASSWORD, username)
    await identity_service.grant_membership(user.id, role, brand_id, distributor_id=distributor_id)
    return username


async def make_tenant(name: str | None = None) -> Tenant:
    brand = await org_service.create_brand(name or f"品牌{_n()}")
    admin = await make_staff(brand.id, Role.BRAND_ADMIN)
    distributor = await Distributor.create(
        brand=brand, name=f"经销商{_n()}", wechat_sub_mchid="1900000001"
    )
    other = await Distributor.create(brand=brand, name=f"经销商{_n()}")
    salesperson = await Salesperson.create(
        brand=brand, distributor=distributor, name="王磊", phone=f"139{_n():08d}"
    )
    store = await Store.create(
        brand=brand,
        name=f"门店{_n()}",
        phone=f"137{_n():08d}",
        address="文一西路1号",
        distributor=distributor,
        salesperson=salesperson,
    )
    return Tenant(brand, distributor, other, salesperson, store, admin)


async def staff_headers(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/staff/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def login_code(sandbox_client: httpx.AsyncClient, persona: str) -> str:
    response = await sandbox_client.post(
        "/sandbox/login-code", json={"appid": SANDBOX_APPID, "persona": persona}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


async def phone_code(sandbox_client: httpx.AsyncClient, phone: str) -> str:
    response = await sandbox_client.post(
        "/sandbox/phone-code", json={"appid": SANDBOX_APPID, "phone": phone}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


async def wechat_login(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, persona: str
) -> dict[str, Any]:
    code = await login_code(sandbox_client, persona)
    response = await client.post("/api/v1/auth/wechat/login", json={"code": code})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@dataclass
class Shop:
    """A tenant with a catalog: two SKUs stocked at the tenant's distributor, one not sold there."""

    tenant: Tenant
    water: int  # sku: 净水器 RO-500, list 1999.00, sold by the unit
    filters: int  # sku: 滤芯, list 100.00, cases of 10
    unsold: int  # sku the distributor does not carry


async def make_shop(
    tenant: Tenant | None = None, *, water_stock: int = 50, filter_stock: int = 500
) -> Shop:
    from backend.catalog import service as catalog_service

    tenant = tenant or await make_tenant()
    acting = tenant.acting_admin
    category = await catalog_service.create_category(acting, name="净水器", parent_id=None, sort=0)
    sku = {"spec": "", "unit": "台", "barcode": None, "case_size": 1, "min_order_qty": 1}
    product = await catalog_service.create_product(
        acting,
        name="澜泉 RO 净水器",
        category_id=category["id"],
        description="",
        images=[],
        skus=[
            {**sku, "name": "RO-500", "barcode": f"69{_n():011d}", "list_price_fen": 199_900},
            {
                **sku,
                "name": "滤芯",
                "unit": "支",
                "list_price_fen": 10_000,
                "case_size": 10,
                "min_order_qty": 10,
            },
            {**sku, "name": "旧款", "list_price_fen": 99_900},
        ],
    )
    water, filters, unsold = (s["id"] for s in product["skus"])
    await catalog_service.adjust_stock(acting, tenant.distributor.id, water, delta=water_stock)
    await catalog_service.adjust_stock(acting, tenant.distributor.id, filters, delta=filter_stock)
    return Shop(tenant, water, filters, unsold)


async def store_owner(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    store: Store,
    persona: str | None = None,
) -> dict[str, Any]:
    """Sign a WeChat user in as the owner of `store`."""
    persona = persona or f"owner-of-{store.id}"
    first = await wechat_login(client, sandbox_client, persona)
    await identity_service.grant_membership(
        first["identity"]["user_id"],
        Role.STORE_OWNER,
        store.brand_id,  # type: ignore[attr-defined]
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        store_id=store.id,
    )
    return await wechat_login(client, sandbox_client, persona)


async def make_store(tenant: Tenant, **overrides: Any) -> Store:
    fields = {
        "brand": tenant.brand,
        "name": f"门店{_n()}",
        "phone": f"137{_n():08d}",
        "address": "文一西路1号",
        "distributor": tenant.distributor,
        "salesperson": tenant.salesperson,
    }
    fields.update(overrides)
    return await Store.create(**fields)


def idempotent(tokens: dict[str, Any], key: str | None = None) -> dict[str, str]:
    return {**bearer(tokens), "Idempotency-Key": key or f"key-{_n()}"}


async def stock_of(shop: Shop, sku_id: int | None = None) -> int:
    """Units of a SKU (the water purifier by default) left at the shop's distributor."""
    from backend.catalog.models import DistributorSku

    row = await DistributorSku.get(
        distributor_id=shop.tenant.distributor.id, sku_id=sku_id or shop.water
    )
    return row.stock


async def distributor_admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    """Signed-in headers of a new admin of the shop's distributor."""
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    return await staff_headers(client, username)


async def live_session_with_stores(
    deps: Any, *, stores: int = 3, status: str = "live", tenant: Tenant | None = None
) -> tuple[Tenant, Any, list[Store]]:
    """A live session (written directly, not scheduled through the API) of a tenant's
    distributor, inviting the tenant's store and `stores - 1` more: its tenant, the session and
    the stores invited."""
    from datetime import timedelta

    from backend.livestream.models import Audience, LiveInvitation, LiveSession

    now = deps.clock.now()
    tenant = tenant or await make_tenant()
    invited = [tenant.store] + [await make_store(tenant) for _ in range(stores - 1)]
    session = await LiveSession.create(
        brand=tenant.brand,
        distributor=tenant.distributor,
        title="订货会",
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=2),
        status=status,
        audience=Audience.STORES.value,
        invited_count=len(invited),
        created_by_id=0,
        created_at=now - timedelta(days=1),
    )
    await LiveInvitation.bulk_create(
        [LiveInvitation(session_id=session.id, store_id=store.id) for store in invited]
    )
    return tenant, session, invited


@dataclass
class CodeBatchFixture:
    """A READY code batch written directly (no job): its row and every code's token."""

    batch: Any  # backend.codes.models.CodeBatch
    boxes: list[str]  # box tokens, by serial
    items: list[list[str]]  # each box's item tokens, by serial
    box_ids: list[int]

    def url(self, token: str, base: str = "https://b2bc.example") -> str:
        return f"{base}/C/{token}"


async def make_code_batch(
    tenant_or_shop: Tenant | Shop,
    sku_id: int,
    boxes: int = 2,
    items_per_box: int = 3,
    distributor_id: int | None = None,
    reward: dict[str, Any] | None = None,
    *,
    batch_no: str | None = None,
) -> CodeBatchFixture:
    """A READY batch of `boxes` boxes of `items_per_box` items of the tenant's `sku_id`, with
    tokens from backend/codes/tokens.py; boxes shipped to `distributor_id` if given; `reward`
    the open-box reward ({"kind": "points"|"cash", "amount": n}) or none."""
    from datetime import UTC, date, datetime

    from backend.codes.models import BatchStatus, CodeBatch, CodeKind, ProductCode
    from backend.codes.tokens import new_tokens

    tenant = tenant_or_shop.tenant if isinstance(tenant_or_shop, Shop) else tenant_or_shop
    reward = reward or {}
    batch = await CodeBatch.create(
        brand_id=tenant.brand.id,
        sku_id=sku_id,
        batch_no=batch_no or f"T{_n():06d}",
        produced_on=date(2026, 12, 1),
        boxes=boxes,
        items_per_box=items_per_box,
        status=BatchStatus.READY.value,
        written=boxes * (items_per_box + 1),
        open_reward_kind=reward.get("kind", ""),
        open_reward_amount=reward.get("amount", 0),
        ready_at=datetime.now(UTC),
    )
    tokens = new_tokens(boxes * (items_per_box + 1))
    box_tokens, item_tokens, box_ids = tokens[:boxes], [], []
    rest = iter(tokens[boxes:])
    for n, token in enumerate(box_tokens, start=1):
        box = await ProductCode.create(
            brand_id=tenant.brand.id,
            batch_id=batch.id,
            kind=CodeKind.BOX.value,
            token=token,
            serial=n,
            distributor_id=distributor_id,
        )
        box_ids.append(box.id)
        mine = [next(rest) for _ in range(items_per_box)]
        item_tokens.append(mine)
        await ProductCode.bulk_create(
            [
                ProductCode(
                    brand_id=tenant.brand.id,
                    batch_id=batch.id,
                    kind=CodeKind.ITEM.value,
                    token=item,
                    serial=(n - 1) * items_per_box + i,
                    box_id=box.id,
                )
                for i, item in enumerate(mine, start=1)
            ]
        )
    return CodeBatchFixture(batch, box_tokens, item_tokens, box_ids)
