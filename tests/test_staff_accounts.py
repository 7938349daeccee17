"""Staff accounts in the console: a brand admin manages the brand's, a distributor admin its
own distributor's; listing with filters and keyset paging, deactivation (sign-in refused and
open sign-ins ended), reactivation and password reset; never across tenants, never oneself,
never the brand's last admin."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend.identity import service as identity_service
from backend.identity.models import Role, User
from backend.identity.tokens import Principal
from backend.infra.broadcast import CONSOLE_NAMESPACE
from backend.org import service as org_service
from tests.factories import PASSWORD, Tenant, make_staff, make_tenant, staff_headers
from tests.test_realtime_signin import console_socket, gone, refused_code

API = "/api/v1/staff"


async def user_id_of(username: str) -> int:
    return (await User.get(username=username)).id


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> Any:
    return await client.post(
        "/api/v1/auth/staff/login", json={"username": username, "password": password}
    )


async def listed(client: httpx.AsyncClient, headers: dict[str, str], query: str = "") -> Any:
    response = await client.get(f"{API}{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def staffed_tenant() -> tuple[Tenant, dict[str, str]]:
    """A tenant with an ops person, an admin and a staff member at its distributor, and a
    staff member at the other distributor: usernames by who they are."""
    tenant = await make_tenant()
    brand_id = tenant.brand.id
    people = {
        "brand_admin": tenant.admin_username,
        "ops": await make_staff(brand_id, Role.BRAND_OPS),
        "dealer": await make_staff(brand_id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id),
        "clerk": await make_staff(brand_id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id),
        "rival": await make_staff(brand_id, Role.DISTRIBUTOR_STAFF, tenant.other_distributor.id),
    }
    return tenant, people


async def test_each_admin_lists_the_staff_they_manage_with_filters_and_paging(client) -> None:
    tenant, people = await staffed_tenant()
    elsewhere = await make_tenant()  # another brand's staff never show
    brand = await staff_headers(client, people["brand_admin"])

    everyone = await listed(client, brand, "?limit=100")
    assert [a["username"] for a in everyone["items"]] == [
        people[k] for k in ("brand_admin", "ops", "dealer", "clerk", "rival")
    ]
    dealer_row = everyone["items"][2]
    assert dealer_row["role"] == "distributor_admin" and dealer_row["is_active"] is True
    assert dealer_row["distributor_name"] == tenant.distributor.name
    assert everyone["items"][0]["distributor_id"] is None and elsewhere.admin_username not in {
        a["username"] for a in everyone["items"]
    }

    first = await listed(client, brand, "?limit=2")
    second = await listed(client, brand, f"?limit=2&after={first['next_after']}")
    third = await listed(client, brand, f"?limit=2&after={second['next_after']}")
    assert [a["username"] for a in first["items"] + second["items"] + third["items"]] == [
        a["username"] for a in everyone["items"]
    ]
    assert third["next_after"] is None

    at_distributor = await listed(client, brand, f"?distributor_id={tenant.distributor.id}")
    assert [a["username"] for a in at_distributor["items"]] == [people["dealer"], people["clerk"]]
    clerks = await listed(client, brand, "?role=distributor_staff")
    assert [a["username"] for a in clerks["items"]] == [people["clerk"], people["rival"]]
    ops_view = await listed(client, await staff_headers(client, people["ops"]))
    assert len(ops_view["items"]) == 5  # brand ops may look, not act

    dealer = await staff_headers(client, people["dealer"])
    own = await listed(client, dealer)
    assert [a["username"] for a in own["items"]] == [people["dealer"], people["clerk"]]
    assert (await listed(client, dealer, f"?distributor_id={tenant.other_distributor.id}"))[
        "items"
    ] == []

    clerk = await staff_headers(client, people["clerk"])
    assert (await client.get(API, headers=clerk)).status_code == 403
    for bad in ("?role=store_owner", "?limit=abc", "?active=maybe"):
        refused = await client.get(f"{API}{bad}", headers=brand)
        assert refused.status_code == 422, bad


async def test_a_distributor_admin_opens_accounts_for_its_own_distributor_only(client) -> None:
    tenant, people = await staffed_tenant()
    dealer = await staff_headers(client, people["dealer"])
    body = {"username": "hz_clerk_1", "password": "long-enough-pw", "display_name": "周倩"}
    key = {"Idempotency-Key": "open-hz-clerk-1"}

    created = await client.post(
        API, json=body | {"role": "distributor_staff"}, headers=dealer | key
    )
    assert created.status_code == 201, created.text
    assert created.json()["distributor_id"] == tenant.distributor.id
    again = await client.post(API, json=body | {"role": "distributor_staff"}, headers=dealer | key)
    assert (again.status_code, again.json()) == (201, created.json())  # the same one, once
    assert await User.filter(username="hz_clerk_1").count() == 1
    assert (await sign_in(client, "hz_clerk_1", "long-enough-pw")).status_code == 200

    as_brand = await client.post(
        API, json=body | {"username": "hz_ops", "role": "brand_ops"}, headers=dealer
    )
    assert as_brand.status_code == 403
    assert as_brand.json()["error"]["code"] == "staff.role_not_allowed"
    elsewhere = await client.post(
        API,
        json=body
        | {
            "username": "sh_clerk",
            "role": "distributor_staff",
            "distributor_id": tenant.other_distributor.id,
        },
        headers=dealer,
    )
    assert elsewhere.status_code == 404
    short = await client.post(
        API, json=body | {"username": "pw_short", "password": "short"}, headers=dealer
    )
    assert short.status_code == 422
    assert not await User.exists(username__in=["hz_ops", "sh_clerk", "pw_short"])
    clerk = await staff_headers(client, people["clerk"])
    assert (await client.post(API, json=body, headers=clerk)).status_code == 403


async def test_a_deactivated_account_cannot_sign_in_and_its_sign_ins_end(client) -> None:
    _, people = await staffed_tenant()
    dealer = await staff_headers(client, people["dealer"])
    clerk_id = await user_id_of(people["clerk"])
    signed_in = await sign_in(client, people["clerk"])
    clerk = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert (await client.get("/api/v1/me", headers=clerk)).status_code == 200

    off = await client.post(f"{API}/{clerk_id}/deactivate", headers=dealer)
    assert off.status_code == 200, off.text
    assert (off.json()["username"], off.json()["is_active"]) == (people["clerk"], False)
    assert (await client.get("/api/v1/me", headers=clerk)).status_code == 401
    refused = await sign_in(client, people["clerk"])
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert (error["code"], error["message"]) == ("auth.account_disabled", "账号已停用")
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": signed_in.json()["refresh_token"]}
    )
    assert again.status_code == 401
    inactive = await listed(client, dealer, "?active=false")
    assert [a["user_id"] for a in inactive["items"]] == [clerk_id]

    on = await client.post(f"{API}/{clerk_id}/activate", headers=dealer)
    assert on.json()["is_active"] is True
    assert (await sign_in(client, people["clerk"])).status_code == 200


async def test_nobody_acts_on_themselves_another_tenant_or_the_last_brand_admin(
    client, deps
) -> None:
    tenant, people = await staffed_tenant()
    _, other_people = await staffed_tenant()
    brand = await staff_headers(client, people["brand_admin"])
    dealer = await staff_headers(client, people["dealer"])
    own_id = await user_id_of(people["brand_admin"])

    myself = await client.post(f"{API}/{own_id}/deactivate", headers=brand)
    assert (myself.status_code, myself.json()["error"]["code"]) == (409, "staff.own_account")
    for action in ("deactivate", "activate", "password"):
        foreign = await client.post(
            f"{API}/{await user_id_of(other_people['clerk'])}/{action}", headers=brand
        )
        assert foreign.status_code == 404, action
        beyond = await client.post(
            f"{API}/{await user_id_of(people['rival'])}/{action}", headers=dealer
        )
        assert beyond.status_code == 404, action  # the other distributor's
        upward = await client.post(f"{API}/{own_id}/{action}", headers=dealer)
        assert upward.status_code == 404, action  # the brand's admin is not the dealer's
    assert (await sign_in(client, other_people["clerk"])).status_code == 200

    # The brand's only admin, deactivated by a brand principal that is not that admin (as
    # when two admins deactivate each other at once and the other went first), is refused.
    acting = Principal(user_id=0, session_id="t", role="brand_admin", brand_id=tenant.brand.id)
    with pytest.raises(identity_service.LastBrandAdmin):
        await org_service.set_staff_active(deps, acting, own_id, active=False)
    assert (await User.get(id=own_id)).is_active


async def test_two_admins_deactivating_each_other_leave_one(client) -> None:
    tenant = await make_tenant()
    second = await make_staff(tenant.brand.id, Role.BRAND_ADMIN)
    first_id, second_id = await user_id_of(tenant.admin_username), await user_id_of(second)
    first_headers = await staff_headers(client, tenant.admin_username)
    second_headers = await staff_headers(client, second)
    answers = await asyncio.gather(
        client.post(f"{API}/{second_id}/deactivate", headers=first_headers),
        client.post(f"{API}/{first_id}/deactivate", headers=second_headers),
    )
    assert sorted(a.status_code for a in answers)[0] == 200
    assert all(a.status_code in (200, 401, 409) for a in answers)
    assert await User.filter(id__in=[first_id, second_id], is_active=True).count() == 1


async def test_a_password_reset_sets_or_generates_one_and_ends_sign_ins(client) -> None:
    _, people = await staffed_tenant()
    brand = await staff_headers(client, people["brand_admin"])
    ops_id = await user_id_of(people["ops"])
    ops = await staff_headers(client, people["ops"])

    chosen = await client.post(
        f"{API}/{ops_id}/password", json={"password": "new-secret-2026"}, headers=brand
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json() == {
        "user_id": ops_id,
        "username": people["ops"],
        "generated": False,
        "password": None,
    }
    assert (await client.get("/api/v1/me", headers=ops)).status_code == 401
    assert (await sign_in(client, people["ops"])).status_code == 401
    assert (await sign_in(client, people["ops"], "new-secret-2026")).status_code == 200

    generated = await client.post(f"{API}/{ops_id}/password", headers=brand)
    password = generated.json()["password"]
    assert generated.json()["generated"] is True and len(password) >= 8
    assert (await sign_in(client, people["ops"], password)).status_code == 200
    assert (await sign_in(client, people["ops"], "new-secret-2026")).status_code == 401

    short = await client.post(f"{API}/{ops_id}/password", json={"password": "1234"}, headers=brand)
    assert short.status_code == 422
    assert (await sign_in(client, people["ops"], password)).status_code == 200
    ops = await staff_headers(client, people["ops"], password)
    refused = await client.post(f"{API}/{await user_id_of(people['clerk'])}/password", headers=ops)
    assert refused.status_code == 403  # brand ops look, admins act


async def test_an_account_with_a_role_elsewhere_is_not_one_admins_to_lock_out(client) -> None:
    tenant, people = await staffed_tenant()
    other = await make_tenant()
    shared_id = await user_id_of(people["ops"])
    await identity_service.grant_membership(shared_id, Role.BRAND_OPS, other.brand.id)
    brand = await staff_headers(client, people["brand_admin"])
    for action in ("deactivate", "password"):
        refused = await client.post(f"{API}/{shared_id}/{action}", headers=brand)
        assert refused.status_code == 409, action
        assert refused.json()["error"]["code"] == "staff.shared_account"
    assert (await sign_in(client, people["ops"])).status_code == 200
    assert tenant.brand.id != other.brand.id


async def test_deactivation_closes_the_accounts_open_consoles(platform_url, client) -> None:
    _, people = await staffed_tenant()
    brand = await staff_headers(client, people["brand_admin"])
    clerk_token = (await sign_in(client, people["clerk"])).json()["access_token"]
    ops_token = (await sign_in(client, people["ops"])).json()["access_token"]
    clerk_console = await console_socket(platform_url, clerk_token)
    ops_console = await console_socket(platform_url, ops_token)
    try:
        clerk_id = await user_id_of(people["clerk"])
        assert (await client.post(f"{API}/{clerk_id}/deactivate", headers=brand)).status_code == 200
        assert await gone(clerk_console)
        assert ops_console.connected  # another person's console stays
        assert await refused_code(platform_url, clerk_token, CONSOLE_NAMESPACE) == (
            "auth.session_revoked"
        )
    finally:
        for socket in (clerk_console, ops_console):
            if socket.connected:
                await socket.disconnect()
