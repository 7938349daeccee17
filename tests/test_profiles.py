"""GET /api/v1/me from each process's profile cache (backend/identity/profiles.py): kept
until a change is announced, and a change made through the API is seen by the next request,
in the app that made it, in another app of the same process, and (on Redis) in a cache that
hears of it only through Redis, as another process does."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from backend.app import create_app
from backend.config import Settings
from backend.deps import Deps
from backend.identity import profiles
from backend.identity.models import Role, User
from backend.infra.redis import create_redis
from backend.integrations.wechat.client import MiniProgramClient
from backend.integrations.wechat.pay import WechatPayClient
from tests.conftest import REDIS_URL
from tests.factories import (
    bearer,
    make_staff,
    make_store,
    make_tenant,
    phone_code,
    staff_headers,
    store_owner,
    wechat_login,
)

ON_REDIS = REDIS_URL.startswith("redis")
_apps = itertools.count(1)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for what another task does (a listener subscribing, a message heard)."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the listener offers no event to wait on
            await asyncio.sleep(0.01)


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rename_distributor(
    client: httpx.AsyncClient, admin: dict[str, str], distributor_id: int, name: str
) -> None:
    renamed = await client.patch(
        f"/api/v1/distributors/{distributor_id}", json={"name": name}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text


@pytest.fixture
async def serving(app: Any) -> profiles.ProfileCache:
    """The test app's cache, once it serves (on Redis: once its subscription is confirmed)."""
    cache: profiles.ProfileCache = app.ctx.profiles
    await until(lambda: cache.serving)
    return cache


@pytest.fixture
async def other_app(settings: Settings, deps: Deps) -> AsyncIterator[Any]:
    """A second API app on the same database and Redis, with its own cache and Redis client."""
    own = Deps(
        settings=settings,
        clock=deps.clock,
        redis=create_redis(settings.redis_url),
        wechat=MiniProgramClient(settings.wechat),
        pay=WechatPayClient(settings.wechat_pay),
    )
    application = create_app(settings, deps=own, manage_db=False, name=f"b2bc_other_{next(_apps)}")
    application.config.TOUCHUP = False  # Sanic rewrites its HTTP module once per process
    try:
        async with LifespanManager(application, startup_timeout=30):
            await until(lambda: application.ctx.profiles.serving)
            yield application
    finally:
        await own.redis.aclose()


async def test_me_is_kept_until_a_change_is_announced(client, serving) -> None:
    tenant = await make_tenant()
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    headers = await staff_headers(client, username)
    first = await me(client, headers)
    [membership] = first["memberships"]
    distributor = tenant.distributor
    assert membership["distributor"] == {"id": distributor.id, "name": distributor.name}
    assert serving.get(first["id"]) is not None
    # Written by hand, past the services: nothing announced it, so the kept answer stands.
    await User.filter(username=username).update(display_name="手工改名")
    assert await me(client, headers) == first

    admin = await staff_headers(client, tenant.admin_username)
    await rename_distributor(client, admin, tenant.distributor.id, "城东经销商")
    after = await me(client, headers)
    assert after["memberships"][0]["distributor"]["name"] == "城东经销商"
    assert after["display_name"] == "手工改名"  # read again as a whole
    # A change to something /me does not show keeps the answer.
    await client.patch(
        f"/api/v1/distributors/{tenant.distributor.id}",
        json={"contact_name": "李四"},
        headers=admin,
    )
    assert serving.get(first["id"]) is not None


async def test_phone_and_the_role_it_brings_are_seen_at_once(client, sandbox_client, serving):
    tenant = await make_tenant()
    tokens = await wechat_login(client, sandbox_client, "salesperson-li")
    before = await me(client, bearer(tokens))
    assert (before["phone"], before["memberships"]) == (None, [])
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens)
    )
    assert bound.status_code == 200, bound.text
    after = await me(client, bearer(tokens))
    assert after["phone"] == tenant.salesperson.phone
    [membership] = after["memberships"]
    assert membership["salesperson"] == {"id": tenant.salesperson.id, "name": "王磊"}
    assert after["memberships"] == bound.json()["memberships"]


async def test_salesperson_renamed_then_deactivated(client, sandbox_client, serving) -> None:
    tenant = await make_tenant()
    tokens = await wechat_login(client, sandbox_client, "salesperson-wu")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens)
    )
    headers = bearer(bound.json())
    assert (await me(client, headers))["memberships"][0]["salesperson"]["name"] == "王磊"
    admin = await staff_headers(client, tenant.admin_username)
    path = f"/api/v1/salespeople/{tenant.salesperson.id}"
    assert (await client.patch(path, json={"name": "王磊磊"}, headers=admin)).status_code == 200
    assert (await me(client, headers))["memberships"][0]["salesperson"]["name"] == "王磊磊"
    assert (await client.patch(path, json={"is_active": False}, headers=admin)).status_code == 200
    assert (await me(client, headers))["memberships"] == []


async def test_store_moved_to_another_distributor(client, sandbox_client, serving) -> None:
    tenant = await make_tenant()
    store = await make_store(tenant, salesperson=None)
    owner = await store_owner(client, sandbox_client, store)
    [membership] = (await me(client, bearer(owner)))["memberships"]
    assert membership["distributor"]["id"] == tenant.distributor.id
    admin = await staff_headers(client, tenant.admin_username)
    moved = await client.patch(
        f"/api/v1/stores/{store.id}",
        json={"distributor_id": tenant.other_distributor.id},
        headers=admin,
    )
    assert moved.status_code == 200, moved.text
    [membership] = (await me(client, bearer(owner)))["memberships"]
    assert membership["distributor"] == {
        "id": tenant.other_distributor.id,
        "name": tenant.other_distributor.name,
    }
    assert membership["store"] == {"id": store.id, "name": store.name}


async def test_a_change_made_in_one_app_is_seen_by_the_next_request_of_another(
    client, serving, other_app
) -> None:
    tenant = await make_tenant()
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    headers = await staff_headers(client, username)
    transport = httpx.ASGITransport(app=other_app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://other") as other:
        first = await me(other, headers)
        assert other_app.ctx.profiles.get(first["id"]) is not None
        admin = await staff_headers(client, tenant.admin_username)
        await rename_distributor(client, admin, tenant.distributor.id, "城西经销商")
        seen = await me(other, headers)
    assert seen["memberships"][0]["distributor"]["name"] == "城西经销商"


@pytest.mark.skipif(not ON_REDIS, reason="another process is reached through Redis only")
async def test_another_process_hears_the_change_through_redis(client, settings, serving) -> None:
    tenant = await make_tenant()
    username = await make_staff(tenant.brand.id, Role.BRAND_OPS)
    headers = await staff_headers(client, username)
    user_id = (await me(client, headers))["id"]
    # A cache this process does not hold (not among ANNOUNCEMENTS.local): only Redis tells it.
    elsewhere = profiles.ProfileCache(ttl=600)
    redis = create_redis(settings.redis_url)
    listener = asyncio.create_task(profiles.listen(elsewhere, redis))
    try:
        await until(lambda: elsewhere.serving)
        profile = await profiles.read(user_id)
        assert profile is not None
        elsewhere.keep(user_id, profile, elsewhere.generation)
        assert elsewhere.get(user_id) is profile
        heard = elsewhere.generation
        admin = await staff_headers(client, tenant.admin_username)
        code = await client.post(
            "/api/v1/staff",
            json={
                "username": "new_ops",
                "password": "correct-horse-battery",
                "display_name": "新同事",
                "role": "brand_ops",
            },
            headers=admin,
        )
        assert code.status_code in (200, 201), code.text
        # A role for someone else, once heard, says nothing of this user...
        await until(lambda: elsewhere.generation > heard)
        assert elsewhere.get(user_id) is profile
        await rename_distributor(client, admin, tenant.distributor.id, "城北经销商")
        # ...a rename may concern anyone: every process forgets every profile.
        await until(lambda: elsewhere.get(user_id) is None)
    finally:
        listener.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listener
        await redis.aclose()
    assert not elsewhere.serving  # stopped listening: reads go to the database


async def test_a_read_racing_a_change_is_not_kept() -> None:
    cache = profiles.ProfileCache(ttl=600)
    cache.serve(True)
    profile = profiles.Profile({"id": 1}, [])
    generation = cache.generation
    cache.forget([2])  # announced while the read was under way (any user)
    cache.keep(1, profile, generation)
    assert cache.get(1) is None
    cache.keep(1, profile, cache.generation)
    assert cache.get(1) is profile
    cache.serve(False)  # a listener that lost its connection
    assert cache.get(1) is None
    cache.keep(1, profile, cache.generation)
    cache.serve(True)
    assert cache.get(1) is None  # what it kept before may have missed changes


async def test_an_entry_lives_at_most_its_ttl() -> None:
    cache = profiles.ProfileCache(ttl=0)
    cache.serve(True)
    cache.keep(1, profiles.Profile({"id": 1}, []), cache.generation)
    assert cache.get(1) is None
