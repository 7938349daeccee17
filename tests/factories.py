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
