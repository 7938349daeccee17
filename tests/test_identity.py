"""Sign-in through the WeChat sandbox and the console, token rotation, revocation, roles."""

from __future__ import annotations

import asyncio

import httpx
import jwt

from backend.identity.models import AuthSession, Membership, RefreshToken, Role, User, WechatAccount
from backend.integrations.wechat.sandbox import openid_for
from tests.factories import (
    PASSWORD,
    SANDBOX_APPID,
    bearer,
    login_code,
    make_staff,
    make_tenant,
    phone_code,
    staff_headers,
    wechat_login,
)


async def test_wechat_login_creates_user_once_and_issues_tokens(client, sandbox_client) -> None:
    first = await wechat_login(client, sandbox_client, "alice")
    second = await wechat_login(client, sandbox_client, "alice")
    assert first["identity"]["user_id"] == second["identity"]["user_id"]
    assert first["identity"]["role"] is None  # no store yet: only onboarding is open
    assert first["token_type"] == "Bearer" and first["expires_in"] == 900
    account = await WechatAccount.get(openid=openid_for(SANDBOX_APPID, "alice"))
    assert account.unionid and account.last_login_at is not None
    assert await User.all().count() == 1
    assert await AuthSession.all().count() == 2
    me = await client.get("/api/v1/me", headers=bearer(first))
    assert me.status_code == 200 and me.json()["memberships"] == []


async def test_concurrent_first_logins_create_one_user(client, sandbox_client) -> None:
    codes = [await login_code(sandbox_client, "bob") for _ in range(8)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/wechat/login", json={"code": code}) for code in codes)
    )
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.json()["identity"]["user_id"] for r in responses}) == 1
    assert await User.all().count() == 1
    assert await WechatAccount.all().count() == 1


async def test_reused_wechat_code_maps_to_our_code(client, sandbox_client) -> None:
    code = await login_code(sandbox_client, "carol")
    assert (await client.post("/api/v1/auth/wechat/login", json={"code": code})).status_code == 200
    again = await client.post("/api/v1/auth/wechat/login", json={"code": code})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "auth.wechat_code_used"
    assert again.json()["error"]["details"] == {"wechat_errcode": 40163}
    assert await AuthSession.all().count() == 1


async def test_invalid_wechat_code_maps_to_our_code(client) -> None:
    response = await client.post("/api/v1/auth/wechat/login", json={"code": "made-up"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.wechat_code_invalid"
    assert await User.all().count() == 0


async def test_wechat_unreachable_is_502_and_writes_nothing(client, deps, sandbox_client) -> None:
    from backend.config import WechatSettings
    from backend.integrations.wechat.client import MiniProgramClient

    working = deps.wechat
    deps.wechat = MiniProgramClient(
        WechatSettings(appid=SANDBOX_APPID, secret="x", api_base_url="http://127.0.0.1:1")
    )
    try:
        response = await client.post("/api/v1/auth/wechat/login", json={"code": "any"})
    finally:
        deps.wechat = working
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "auth.wechat_unavailable"
    assert await User.all().count() == 0


async def test_phone_binding(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "dave")
    code = await phone_code(sandbox_client, "13812345678")
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens)
    )
    assert bound.status_code == 200
    # No identity came with the phone: nothing to switch to, nothing to choose.
    assert bound.json() == {
        "phone": "13812345678",
        "memberships": [],
        "switched": False,
        "needs_switch": False,
        "identity": tokens["identity"],
    }
    assert (await User.get(id=tokens["identity"]["user_id"])).phone == "13812345678"
    reused = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens)
    )
    assert reused.json()["error"]["code"] == "auth.wechat_code_used"


async def test_phone_binding_turns_a_registered_salesperson_into_one(
    client, sandbox_client
) -> None:
    tenant = await make_tenant()
    tokens = await wechat_login(client, sandbox_client, "salesperson-wang")
    assert tokens["identity"]["role"] is None
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    bound = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens)
    )
    assert bound.status_code == 200, bound.text
    answer = bound.json()
    [membership] = answer["memberships"]
    assert membership["role"] == "salesperson"
    assert membership["salesperson"]["id"] == tenant.salesperson.id
    # The one identity the phone brought is switched into at once, as /auth/switch would.
    assert (answer["switched"], answer["needs_switch"]) == (True, False)
    assert answer["identity"]["role"] == "salesperson"
    assert answer["identity"]["membership_id"] == membership["id"]
    assert answer["identity"]["salesperson_id"] == tenant.salesperson.id
    session = await client.get("/api/v1/auth/session", headers=bearer(answer))
    assert session.json()["salesperson_id"] == tenant.salesperson.id
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": answer["refresh_token"]}
    )
    assert renewed.json()["identity"]["role"] == "salesperson"
    # The refresh token from before the switch would restore "no role": it was retired, and
    # presenting it is a replay, as after /auth/switch.
    stale = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert stale.json()["error"]["code"] == "auth.refresh_token_reused"


async def test_phone_binding_with_several_identities_asks_to_choose(client, sandbox_client) -> None:
    from backend.org.models import Salesperson

    first, second = await make_tenant(), await make_tenant()
    phone = first.salesperson.phone
    await Salesperson.create(
        brand=second.brand, distributor=second.distributor, name="王磊", phone=phone
    )
    tokens = await wechat_login(client, sandbox_client, "two-brands")
    code = await phone_code(sandbox_client, phone)
    answer = (
        await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(tokens))
    ).json()
    assert (answer["switched"], answer["needs_switch"]) == (False, True)
    assert "access_token" not in answer and answer["identity"]["role"] is None
    assert {m["brand"]["id"] for m in answer["memberships"]} == {first.brand.id, second.brand.id}
    session = await client.get("/api/v1/auth/session", headers=bearer(tokens))
    assert session.json()["role"] is None  # the tokens in hand still work, role unchanged


async def test_a_phone_bound_to_another_wechat_user_is_refused(client, sandbox_client) -> None:
    tenant = await make_tenant()
    owner = await wechat_login(client, sandbox_client, "phone-owner")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(owner))
    other = await wechat_login(client, sandbox_client, "phone-other")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    refused = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(other)
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "auth.phone_taken"
    assert error["message"] == "该手机号已绑定其他微信，请用原微信登录或联系客服"
    other_user = await User.get(id=other["identity"]["user_id"])
    assert other_user.phone is None
    assert await Membership.filter(user_id=other_user.id).count() == 0
    await tenant.salesperson.refresh_from_db()
    assert tenant.salesperson.user_id == owner["identity"]["user_id"]
    # The first user binding the same phone again is no conflict.
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    again = await client.post(
        "/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(owner)
    )
    assert again.status_code == 200 and again.json()["switched"] is True


async def test_two_users_binding_one_phone_at_once_one_wins(client, sandbox_client) -> None:
    users = [await wechat_login(client, sandbox_client, f"racer-{n}") for n in range(6)]
    codes = [await phone_code(sandbox_client, "13811112222") for _ in users]
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(user))
            for user, code in zip(users, codes, strict=True)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    assert await User.filter(phone="13811112222").count() == 1


async def test_staff_login_and_profile(client) -> None:
    tenant = await make_tenant()
    headers = await staff_headers(client, tenant.admin_username)
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["username"] == tenant.admin_username
    assert me["current"]["role"] == "brand_admin"
    assert me["current"]["brand_id"] == tenant.brand.id
    session = (await client.get("/api/v1/auth/session", headers=headers)).json()
    assert session["role"] == "brand_admin"


async def test_wrong_password_then_lockout(client, settings) -> None:
    tenant = await make_tenant()
    for _ in range(settings.login_failures_before_lockout):
        wrong = await client.post(
            "/api/v1/auth/staff/login", json={"username": tenant.admin_username, "password": "nope"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "auth.invalid_credentials"
    locked = await client.post(
        "/api/v1/auth/staff/login", json={"username": tenant.admin_username, "password": PASSWORD}
    )
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "auth.account_locked"
    assert await AuthSession.all().count() == 0


async def test_lockout_ends_after_its_time(client, deps, settings) -> None:
    tenant = await make_tenant()
    for _ in range(settings.login_failures_before_lockout):
        await client.post(
            "/api/v1/auth/staff/login", json={"username": tenant.admin_username, "password": "x"}
        )
    deps.clock.advance(seconds=settings.lockout_seconds + 1)
    await staff_headers(client, tenant.admin_username)
    assert (await User.get(username=tenant.admin_username)).failed_login_count == 0


async def test_unknown_username_is_the_same_error(client) -> None:
    response = await client.post(
        "/api/v1/auth/staff/login", json={"username": "ghost", "password": "x"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_credentials"


async def test_login_attempts_are_rate_limited_per_ip(client, settings) -> None:
    statuses = [
        (
            await client.post(
                "/api/v1/auth/staff/login", json={"username": f"u{i}", "password": "x"}
            )
        ).status_code
        for i in range(settings.login_attempts_per_minute_per_ip + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}


async def test_refresh_rotates_and_old_token_is_dead(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "erin")
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await client.get("/api/v1/me", headers=bearer(new))).status_code == 200
    assert await RefreshToken.filter(used_at=None).count() == 1


async def test_reused_refresh_token_revokes_the_session(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "frank")
    new = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "auth.refresh_token_reused"
    # The thief's replay ended the session for the current tokens too.
    assert (await client.get("/api/v1/me", headers=bearer(new))).json()["error"][
        "code"
    ] == "auth.session_revoked"
    later = await client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert later.json()["error"]["code"] == "auth.refresh_token_invalid"
    session = await AuthSession.get()
    assert session.revoked_reason == "refresh_reuse"


async def test_concurrent_refreshes_with_one_token_yield_exactly_one_pair(
    client, sandbox_client
) -> None:
    tokens = await wechat_login(client, sandbox_client, "gina")
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            for _ in range(10)
        )
    )
    # One refresh consumes the token; the next presents a used token, which ends the sign-in.
    # Those that arrive after that find the sign-in ended: invalid rather than reused.
    assert sorted(r.status_code for r in responses) == [200] + [401] * 9
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 401]
    assert "auth.refresh_token_reused" in refused
    assert set(refused) <= {"auth.refresh_token_reused", "auth.refresh_token_invalid"}
    assert await RefreshToken.all().count() == 2
    assert (await AuthSession.get()).revoked_reason == "refresh_reuse"


async def test_logout_revokes_access_and_refresh_tokens(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "hank")
    assert (await client.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 200
    after = await client.get("/api/v1/auth/session", headers=bearer(tokens))
    assert after.status_code == 401 and after.json()["error"]["code"] == "auth.session_revoked"
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.json()["error"]["code"] == "auth.refresh_token_invalid"


async def test_revocation_reaches_other_processes_through_redis(
    client, sandbox_client, app, deps
) -> None:
    from backend.identity import service

    tokens = await wechat_login(client, sandbox_client, "ivy")
    assert (await client.get("/api/v1/auth/session", headers=bearer(tokens))).status_code == 200
    # Another process revokes: this process's cache has not heard, Redis has.
    await service.revoke_session(deps, (await AuthSession.get()).id, reason="admin")
    app.ctx.revocations._seen.clear()  # as after the cache's few seconds
    after = await client.get("/api/v1/auth/session", headers=bearer(tokens))
    assert after.json()["error"]["code"] == "auth.session_revoked"


async def test_expired_access_token_is_401(client, sandbox_client, deps, settings) -> None:
    tokens = await wechat_login(client, sandbox_client, "jack")
    # Used once, so the verified token sits in the per-process cache: it must still expire.
    assert (await client.get("/api/v1/me", headers=bearer(tokens))).status_code == 200
    deps.clock.advance(seconds=settings.access_token_ttl_seconds + 1)
    response = await client.get("/api/v1/me", headers=bearer(tokens))
    assert response.status_code == 401 and response.json()["error"]["code"] == "auth.token_expired"
    # The refresh token still works, which is what the mini-program does next.
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 200


async def test_forged_and_malformed_tokens_are_401(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "kate")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    claims["role"] = "brand_admin"
    forged = jwt.encode(claims, "not-our-secret-but-long-enough-for-hs256", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned, "garbage", tokens["access_token"] + "x"):
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "auth.token_invalid"
    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "auth.token_missing"


async def test_refresh_token_cannot_be_used_as_access_token(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "leo")
    response = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert response.json()["error"]["code"] == "auth.token_invalid"


async def test_switching_to_someone_elses_membership_is_404(client, sandbox_client) -> None:
    tenant = await make_tenant()
    other = await make_staff(tenant.brand.id, Role.BRAND_OPS)
    other_membership = await Membership.get(user__username=other)
    tokens = await wechat_login(client, sandbox_client, "mia")
    response = await client.post(
        "/api/v1/auth/switch", json={"membership_id": other_membership.id}, headers=bearer(tokens)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "auth.membership_not_found"


async def test_withdrawn_role_ends_the_session_at_refresh(client) -> None:
    tenant = await make_tenant()
    login = await client.post(
        "/api/v1/auth/staff/login", json={"username": tenant.admin_username, "password": PASSWORD}
    )
    tokens = login.json()
    await Membership.filter(id=tokens["identity"]["membership_id"]).update(is_active=False)
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert (await AuthSession.get()).revoked_reason == "membership_withdrawn"


async def test_role_guard_is_403(client, sandbox_client) -> None:
    tokens = await wechat_login(client, sandbox_client, "nora")
    response = await client.post("/api/v1/regions", json={"name": "华北"}, headers=bearer(tokens))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.role_required"


async def test_sandbox_speaks_wechat_errors(sandbox_client: httpx.AsyncClient) -> None:
    bad_secret = await sandbox_client.get(
        "/sns/jscode2session", params={"appid": SANDBOX_APPID, "secret": "wrong", "js_code": "x"}
    )
    assert bad_secret.json()["errcode"] == 40125
    bad_token = await sandbox_client.post(
        "/wxa/business/getuserphonenumber", params={"access_token": "x"}, json={"code": "y"}
    )
    assert bad_token.json()["errcode"] == 40001


async def test_sandbox_phone_side_answers_the_shared_error_shape(sandbox_client) -> None:
    """The sandbox's /sandbox endpoints are ours: our error shape. WeChat's keep errcode."""
    cases = [
        ("/sandbox/login-code", {"appid": "nope", "persona": "x"}, "sandbox.identity_required"),
        (
            "/sandbox/phone-code",
            {"appid": "wx_sandbox_appid", "phone": "1x"},
            "sandbox.phone_required",
        ),
        # Full-width digits pass str.isdigit; WeChat never hands such a number out.
        (
            "/sandbox/phone-code",
            {"appid": "wx_sandbox_appid", "phone": "１３９００００００１"},
            "sandbox.phone_required",
        ),
        ("/sandbox/subscribe-grant", {"appid": "wx_sandbox_appid"}, "sandbox.identity_required"),
        (
            "/sandbox/subscribe-grant",
            {"appid": "wx_sandbox_appid", "persona": "p", "template_ids": ["nope"]},
            "sandbox.unknown_template",
        ),
        # Ids that are not text (a list or an object cannot even be looked up) are refused
        # as such, not a 500.
        (
            "/sandbox/subscribe-grant",
            {"appid": "wx_sandbox_appid", "persona": "p", "template_ids": [["t"], {"t": 1}]},
            "sandbox.bad_template_ids",
        ),
    ]
    for path, body, code in cases:
        response = await sandbox_client.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["code"] == code
        assert set(response.json()["error"]) == {"code", "message", "details"}
    malformed = await sandbox_client.post("/sandbox/login-code", content=b"{oops")
    assert malformed.json()["error"]["code"] == "sandbox.bad_request"
    wechat = await sandbox_client.get(
        "/sns/jscode2session",
        params={"appid": "nope", "secret": "x", "js_code": "y", "grant_type": "authorization_code"},
    )
    assert wechat.status_code == 200 and wechat.json()["errcode"] == 40013
