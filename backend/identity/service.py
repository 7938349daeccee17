"""Sign-in (mini-program and console), token rotation and revocation, roles.

The only identity module other domains import, besides the request guard in `access`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from backend.deps import Deps
from backend.identity import passwords, profiles
from backend.identity.access import (
    STAFF_ROLES,
    STORE_ROLES,
    RevocationCache,
    Tenancy,
    revoked_key,
    scoped,
)
from backend.identity.models import AuthSession, Membership, RefreshToken, Role, User, WechatAccount
from backend.identity.passwords import generate_password, hash_password, verify_password
from backend.identity.tokens import (
    Principal,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from backend.infra import sql
from backend.integrations.wechat.client import WechatApiError
from backend.kernel.errors import (
    Conflict,
    DomainError,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)
from backend.kernel.ports import Port

# The rules a staff password meets, for the routes that take one.
PASSWORD_MIN_LENGTH = passwords.MIN_LENGTH
PASSWORD_MAX_LENGTH = passwords.MAX_LENGTH

CLIENT_MINIPROGRAM = "miniprogram"
CLIENT_CONSOLE = "console"


class WechatCodeInvalid(Unauthorized):
    code = "auth.wechat_code_invalid"
    message = "微信登录凭证无效或已过期，请重新登录"


class WechatCodeUsed(Unauthorized):
    code = "auth.wechat_code_used"
    message = "微信登录凭证已被使用，请重新登录"


class WechatRateLimited(RateLimited):
    code = "auth.wechat_rate_limited"
    message = "微信接口调用过于频繁，请稍后再试"


class WechatUnavailable(UpstreamUnavailable):
    code = "auth.wechat_unavailable"
    message = "微信服务暂时不可用，请稍后再试"


class InvalidCredentials(Unauthorized):
    code = "auth.invalid_credentials"
    message = "用户名或密码错误"


class AccountLocked(DomainError):
    status = 423
    code = "auth.account_locked"
    message = "登录失败次数过多，账号已临时锁定，请稍后再试"


class AccountDisabled(Unauthorized):
    code = "auth.account_disabled"
    message = "账号已停用"


class TooManyAttempts(RateLimited):
    code = "auth.too_many_attempts"
    message = "登录尝试过于频繁，请一分钟后再试"


class RefreshTokenInvalid(Unauthorized):
    code = "auth.refresh_token_invalid"
    message = "登录已失效，请重新登录"


class RefreshTokenReused(Unauthorized):
    code = "auth.refresh_token_reused"
    message = "登录凭证已被使用，为安全起见请重新登录"


class MembershipNotFound(NotFound):
    code = "auth.membership_not_found"
    message = "找不到该身份"


class PhoneTaken(Conflict):
    code = "auth.phone_taken"
    message = "该手机号已绑定其他微信，请用原微信登录或联系客服"


class UsernameTaken(Conflict):
    code = "auth.username_taken"
    message = "用户名已被占用"


class UserNotFound(Unauthorized):
    """A valid token of a user who is no longer there."""

    code = "auth.user_not_found"
    message = "登录凭证无效，请重新登录"


# WeChat's errcodes for a code that cannot be exchanged, mapped to ours.
_WECHAT_CODE_ERRORS: dict[int, type[DomainError]] = {
    40029: WechatCodeInvalid,
    40163: WechatCodeUsed,
    41008: WechatCodeInvalid,
    45011: WechatRateLimited,
}


def _wechat_error(exc: WechatApiError) -> DomainError:
    error_type = _WECHAT_CODE_ERRORS.get(exc.errcode or 0, WechatUnavailable)
    return error_type(details={"wechat_errcode": exc.errcode})


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    principal: Principal

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "identity": principal_view(self.principal),
        }


def principal_view(principal: Principal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "role": principal.role,
        "membership_id": principal.membership_id,
        "brand_id": principal.brand_id,
        "distributor_id": principal.distributor_id,
        "store_id": principal.store_id,
        "salesperson_id": principal.salesperson_id,
    }


def _principal(user_id: int, session_id: uuid.UUID, membership: Membership | None) -> Principal:
    if membership is None:
        return Principal(user_id=user_id, session_id=str(session_id))
    return Principal(
        user_id=user_id,
        session_id=str(session_id),
        role=membership.role,
        membership_id=membership.id,
        brand_id=membership.brand_id,  # type: ignore[attr-defined]
        distributor_id=membership.distributor_id,  # type: ignore[attr-defined]
        store_id=membership.store_id,  # type: ignore[attr-defined]
        salesperson_id=membership.salesperson_id,  # type: ignore[attr-defined]
    )


async def _issue_pair(deps: Deps, session: AuthSession, membership: Membership | None) -> TokenPair:
    now = deps.clock.now()
    refresh = new_refresh_token()
    await RefreshToken.create(
        session=session, token_hash=hash_refresh_token(refresh), issued_at=now
    )
    principal = _principal(session.user_id, session.id, membership)  # type: ignore[attr-defined]
    ttl = deps.settings.access_token_ttl_seconds
    access = issue_access_token(
        principal, secret=deps.settings.jwt_secret, now=now, ttl_seconds=ttl
    )
    return TokenPair(access, refresh, ttl, principal)


async def _default_membership(user_id: int) -> Membership | None:
    """The identity a sign-in starts in: the oldest active one; the client can switch."""
    return await Membership.filter(user_id=user_id, is_active=True).order_by("id").first()


async def _start_session(deps: Deps, user: User, client: str) -> TokenPair:
    membership = await _default_membership(user.id)
    expires_at = deps.clock.now() + timedelta(seconds=deps.settings.refresh_token_ttl_seconds)
    async with in_transaction():
        session = await AuthSession.create(
            id=uuid.uuid4(), user=user, membership=membership, client=client, expires_at=expires_at
        )
        return await _issue_pair(deps, session, membership)


async def login_with_wechat(deps: Deps, code: str) -> TokenPair:
    try:
        login = await deps.wechat.code_to_session(code)
    except WechatApiError as exc:
        raise _wechat_error(exc) from exc
    appid = deps.settings.wechat.appid
    account = await WechatAccount.get_or_none(appid=appid, openid=login.openid)
    if account is None:
        try:
            async with in_transaction():
                user = await User.create()
                account = await WechatAccount.create(
                    appid=appid, openid=login.openid, unionid=login.unionid, user=user
                )
        except IntegrityError:
            # Two first logins of one person raced; the other one created the account.
            account = await WechatAccount.get(appid=appid, openid=login.openid)
    user = await User.get(id=account.user_id)  # type: ignore[attr-defined]
    if not user.is_active:
        raise AccountDisabled()
    await WechatAccount.filter(id=account.id).update(
        last_login_at=deps.clock.now(), unionid=login.unionid or account.unionid
    )
    return await _start_session(deps, user, CLIENT_MINIPROGRAM)


# What follows a phone proven by its user: org links the salespeople the brand registered
# under that phone. Org depends on identity, so app.py plugs org's claim in.
PHONE_PROVEN: Port[Callable[[int, str], Awaitable[None]]] = Port("identity.service.PHONE_PROVEN")


async def bind_phone(deps: Deps, principal: Principal, code: str) -> str:
    try:
        phone = await deps.wechat.phone_number(code)
    except WechatApiError as exc:
        raise _wechat_error(exc) from exc
    try:
        # users.phone is unique: a phone another WeChat user has bound fails here, in the one
        # write, so two users binding it at once cannot both succeed and nothing is changed.
        await User.filter(id=principal.user_id).update(phone=phone)
    except IntegrityError as exc:
        raise PhoneTaken(details={"phone": phone}) from exc
    await profiles.changed([principal.user_id])
    return phone


async def identity_after_phone(deps: Deps, principal: Principal, phone: str) -> dict[str, Any]:
    """The binding's answer, once whatever the phone brought (a salesperson's role) is
    granted. A user with exactly one identity is switched into it at once, with new tokens
    as /auth/switch gives; one with several, signed in as none, is told to choose."""
    profile = await profiles.read(principal.user_id)
    memberships = [] if profile is None else profile.memberships
    answer: dict[str, Any] = {
        "phone": phone,
        "memberships": memberships,
        "switched": False,
        "needs_switch": False,
        "identity": principal_view(principal),
    }
    if len(memberships) == 1 and principal.membership_id != memberships[0]["id"]:
        pair = await switch_membership(deps, principal, memberships[0]["id"])
        answer.update(pair.as_dict(), switched=True)
    elif len(memberships) > 1 and principal.membership_id is None:
        answer["needs_switch"] = True
    return answer


async def _check_login_rate(deps: Deps, client_ip: str) -> None:
    # The window opens at an IP's first attempt and lasts a minute (no calendar-minute edge
    # that would let 2x the limit through around a boundary).
    key = f"auth:login-rate:{client_ip}"
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        _, attempts = await pipe.execute()
    if int(attempts) > deps.settings.login_attempts_per_minute_per_ip:
        raise TooManyAttempts()


async def _record_failed_login(deps: Deps, user: User, now: datetime) -> None:
    await User.filter(id=user.id).update(failed_login_count=F("failed_login_count") + 1)
    failures = await User.filter(id=user.id).values_list("failed_login_count", flat=True)
    if failures and int(failures[0]) >= deps.settings.login_failures_before_lockout:  # type: ignore[call-overload]
        locked_until = now + timedelta(seconds=deps.settings.lockout_seconds)
        await User.filter(id=user.id).update(locked_until=locked_until, failed_login_count=0)


async def login_staff(deps: Deps, username: str, password: str, client_ip: str) -> TokenPair:
    await _check_login_rate(deps, client_ip)
    now = deps.clock.now()
    user = await User.get_or_none(username=username)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(details={"locked_until": user.locked_until.isoformat()})
    if not await verify_password(user.password_hash if user else None, password):
        if user is not None:
            await _record_failed_login(deps, user, now)
        raise InvalidCredentials()
    assert user is not None  # verify_password never accepts a missing hash
    if not user.is_active:
        raise AccountDisabled()
    await User.filter(id=user.id).update(failed_login_count=0, locked_until=None)
    return await _start_session(deps, user, CLIENT_CONSOLE)


async def refresh(deps: Deps, refresh_token: str) -> TokenPair:
    now = deps.clock.now()
    token = await RefreshToken.get_or_none(token_hash=hash_refresh_token(refresh_token))
    if token is None:
        raise RefreshTokenInvalid()
    session = await AuthSession.get(id=token.session_id)  # type: ignore[attr-defined]
    if session.revoked_at is not None or session.expires_at <= now:
        raise RefreshTokenInvalid()
    if not await User.exists(id=session.user_id, is_active=True):  # type: ignore[attr-defined]
        # Deactivation ends the account's sign-ins; should that have failed half-way, a
        # refresh still cannot outlive it.
        await revoke_session(deps, session.id, reason="account_disabled")
        raise AccountDisabled()
    async with in_transaction():
        consumed = await RefreshToken.filter(id=token.id, used_at=None).update(used_at=now)
        membership_id = session.membership_id  # type: ignore[attr-defined]
        membership = None
        if consumed and membership_id is not None:
            membership = await Membership.get_or_none(id=membership_id, is_active=True)
        if consumed and (membership_id is None or membership is not None):
            return await _issue_pair(deps, session, membership)
    if consumed:
        # The role this session was signed in as has been withdrawn: the session ends with it.
        await revoke_session(deps, session.id, reason="membership_withdrawn")
        raise RefreshTokenInvalid()
    # A refresh token presented twice means a copy exists: end the whole session.
    await revoke_session(deps, session.id, reason="refresh_reuse")
    raise RefreshTokenReused()


async def revoke_session(
    deps: Deps, session_id: uuid.UUID | str, *, reason: str, cache: RevocationCache | None = None
) -> None:
    await AuthSession.filter(id=session_id, revoked_at=None).update(
        revoked_at=deps.clock.now(), revoked_reason=reason
    )
    # Access tokens are stateless; Redis tells every process the session is gone until
    # the last of its access tokens would have expired anyway.
    await deps.redis.set(
        revoked_key(str(session_id)), "1", ex=deps.settings.access_token_ttl_seconds
    )
    if cache is not None:
        cache.mark_revoked(str(session_id))
    # Its sockets too: a live room or the console stays open past the sign-in otherwise.
    await deps.broadcast.end_signin(str(session_id))


async def switch_membership(deps: Deps, principal: Principal, membership_id: int) -> TokenPair:
    membership = await Membership.get_or_none(
        id=membership_id, user_id=principal.user_id, is_active=True
    )
    if membership is None:
        raise MembershipNotFound()
    session = await AuthSession.get(id=principal.session_id)
    async with in_transaction():
        await AuthSession.filter(id=session.id).update(membership_id=membership.id)
        # Older refresh tokens would restore the previous identity: retire them.
        await RefreshToken.filter(session_id=session.id, used_at=None).update(
            used_at=deps.clock.now()
        )
        return await _issue_pair(deps, session, membership)


async def describe_user(
    principal: Principal, cache: profiles.ProfileCache | None = None
) -> dict[str, Any]:
    """The caller's profile and identities (GET /me), from `cache` (this process's) when it
    has them: see identity/profiles.py for how a change reaches it."""
    profile = None if cache is None else cache.get(principal.user_id)
    if profile is None:
        generation = 0 if cache is None else cache.generation
        profile = await profiles.read(principal.user_id)
        if profile is None:
            raise UserNotFound()
        if cache is not None:
            cache.keep(principal.user_id, profile, generation)
    return profile.view(principal_view(principal))


async def profiles_changed(user_ids: Collection[int] | None) -> None:
    """What other domains call when they change what a user's /me shows (a store,
    distributor or salesperson renamed; None: anyone's), inside their transaction."""
    await profiles.changed(user_ids)


async def create_staff_user(username: str, password: str, display_name: str) -> User:
    try:
        return await User.create(
            username=username,
            password_hash=await hash_password(password),
            display_name=display_name,
        )
    except IntegrityError as exc:
        raise UsernameTaken() from exc


async def grant_membership(
    user_id: int,
    role: Role,
    brand_id: int,
    *,
    distributor_id: int | None = None,
    store_id: int | None = None,
    salesperson_id: int | None = None,
) -> Membership:
    identity: dict[str, Any] = {
        "user_id": user_id,
        "role": role.value,
        "brand_id": brand_id,
        "distributor_id": distributor_id,
        "store_id": store_id,
        "salesperson_id": salesperson_id,
    }
    existing = await Membership.get_or_none(**identity)
    if existing is not None:
        if not existing.is_active:
            await Membership.filter(id=existing.id).update(is_active=True)
            await profiles.changed([user_id])
        return existing
    created = await Membership.create(**identity)
    await profiles.changed([user_id])
    return created


async def set_salesperson_access(salesperson_id: int, active: bool) -> None:
    """Turn a salesperson's role on or off with the salesperson (org deactivating one): an
    inactive role cannot be chosen or refreshed into."""
    roles = Membership.filter(salesperson_id=salesperson_id, role=Role.SALESPERSON.value)
    await profiles.changed(await _user_ids(roles))
    await roles.update(is_active=active)


async def move_store_memberships(store_ids: Sequence[int], distributor_id: int) -> None:
    """Stores moved to another distributor: their owners' and clerks' roles name it from now
    on (org moving stores, inside its transaction)."""
    roles = Membership.filter(store_id__in=list(store_ids), role__in=[r.value for r in STORE_ROLES])
    await profiles.changed(await _user_ids(roles))
    await roles.update(distributor_id=distributor_id)


async def _user_ids(memberships: Any) -> list[int]:
    """The users holding these memberships (a queryset): whose profiles a change to them
    changes."""
    return [int(u) for u in await memberships.values_list("user_id", flat=True)]


async def openid_for(user_id: int, appid: str) -> str | None:
    """The user's openid in our mini-program, which WeChat Pay needs to know the payer."""
    account = await WechatAccount.filter(user_id=user_id, appid=appid).order_by("-id").first()
    return account.openid if account else None


async def _active_staff(brand_id: int, roles: Sequence[Role], **narrowing: Any) -> list[int]:
    ids = await Membership.filter(
        brand_id=brand_id,
        role__in=[role.value for role in roles],
        is_active=True,
        user__is_active=True,
        **narrowing,
    ).values_list("user_id", flat=True)
    return sorted({int(user_id) for user_id in ids})  # type: ignore[call-overload]


async def brand_staff_user_ids(brand_id: int) -> list[int]:
    """The active users holding a brand role (admin or ops) in the brand: whom brand-wide
    alerts go to."""
    return await _active_staff(brand_id, [Role.BRAND_ADMIN, Role.BRAND_OPS])


async def distributor_staff_user_ids(brand_id: int, distributor_id: int) -> list[int]:
    """The active console users of one distributor (admins and staff): whom its alerts go to."""
    return await _active_staff(
        brand_id, [Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF], distributor_id=distributor_id
    )


async def store_owner_user_ids(store_ids: Sequence[int]) -> dict[int, list[int]]:
    """The owners of each store (active store_owner memberships): whom a store's reminders
    go to."""
    rows = await Membership.filter(
        store_id__in=list(store_ids), role=Role.STORE_OWNER.value, is_active=True
    ).values_list("store_id", "user_id")
    owners: dict[int, list[int]] = {}
    for store_id, user_id in rows:
        owners.setdefault(int(store_id), []).append(int(user_id))
    return owners


async def works_at_store(user_id: int, store_id: int) -> bool:
    """Whether the user is the store's owner or clerk (an active membership)."""
    return await Membership.filter(
        user_id=user_id,
        store_id=store_id,
        role__in=[Role.STORE_OWNER.value, Role.STORE_CLERK.value],
        is_active=True,
    ).exists()


async def user_names(user_ids: Iterable[int]) -> dict[int, str]:
    """How each of these users is named to staff (display name, else username; "" when
    neither, as for a WeChat user who never gave one), in one query."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    rows = await User.filter(id__in=wanted).values_list("id", "display_name", "username")
    return {int(user_id): display or username or "" for user_id, display, username in rows}


# ---- staff accounts: listing, deactivation, password reset ----------------------------------

# A staff account is a user with a username and a console role; a brand admin manages the
# brand's, a distributor admin its distributor's (scoped() on the membership).
STAFF_TENANCY = Tenancy(distributor="distributor_id")
# Sessions end with these reasons when an administrator acts on the account.
ENDED_BY_DEACTIVATION = "account_disabled"
ENDED_BY_PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret


class StaffNotFound(NotFound):
    code = "staff.not_found"
    message = "找不到该员工账号"


class OwnAccount(Conflict):
    code = "staff.own_account"
    message = "不能停用自己的账号或在这里重置自己的密码"


class LastBrandAdmin(Conflict):
    code = "staff.last_brand_admin"
    message = "这是品牌唯一在用的管理员账号，不能停用"


class SharedAccount(Conflict):
    code = "staff.shared_account"
    message = "该账号在其他品牌或经销商也有身份，请联系平台处理"


def staff_view(membership: Membership) -> dict[str, Any]:
    """One row of the staff list: the account (user) in one of its console roles. `id` is the
    role's (the list's cursor); actions name the account by `user_id`."""
    user: User = membership.user
    return {
        "id": membership.id,
        "user_id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": membership.role,
        "distributor_id": membership.distributor_id,  # type: ignore[attr-defined]
        "is_active": user.is_active and membership.is_active,
        "created_at": user.created_at.isoformat(),
    }


def _staff_memberships(principal: Principal) -> Any:
    staff = Membership.filter(
        role__in=[role.value for role in STAFF_ROLES], user__username__not_isnull=True
    )
    return scoped(principal, staff, STAFF_TENANCY)


async def staff_accounts(
    principal: Principal,
    *,
    distributor_id: int | None,
    role: str | None,
    active: bool | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The staff accounts the caller manages, in id order (limit + 1 rows, keyset `after`)."""
    staff = _staff_memberships(principal)
    if distributor_id is not None:
        staff = staff.filter(distributor_id=distributor_id)
    if role is not None:
        staff = staff.filter(role=role)
    if active is not None:
        staff = staff.filter(user__is_active=active)
    if after is not None:
        staff = staff.filter(id__gt=after)
    rows = await staff.order_by("id").limit(limit + 1).select_related("user")
    return [staff_view(m) for m in rows]


async def staff_account(principal: Principal, user_id: int) -> dict[str, Any]:
    """The account as the caller's list shows it; another tenant's is not found."""
    found = (
        await _staff_memberships(principal)
        .filter(user_id=user_id)
        .order_by("id")
        .select_related("user")
        .first()
    )
    if found is None:
        raise StaffNotFound()
    return staff_view(found)


async def _manageable(principal: Principal, user_id: int) -> dict[str, Any]:
    """The account, if the caller may act on it: in the caller's scope, not the caller, and
    holding no active role outside that scope (another brand's or distributor's account
    is not this administrator's to lock out)."""
    account = await staff_account(principal, user_id)
    if user_id == principal.user_id:
        raise OwnAccount()
    inside = scoped(principal, Membership.filter(user_id=user_id), STAFF_TENANCY)
    inside_ids = await inside.values_list("id", flat=True)
    if await Membership.filter(user_id=user_id, is_active=True).exclude(id__in=inside_ids).exists():
        raise SharedAccount()
    return account


async def end_signins(
    deps: Deps, user_id: int, *, reason: str, cache: RevocationCache | None = None
) -> None:
    """End every open sign-in of the user (tokens refused, sockets closed in every process;
    `cache`: this process's, which then knows at once)."""
    open_ids = await AuthSession.filter(
        user_id=user_id, revoked_at__isnull=True, expires_at__gt=deps.clock.now()
    ).values_list("id", flat=True)
    for session_id in open_ids:
        await revoke_session(deps, session_id, reason=reason, cache=cache)  # type: ignore[arg-type]


async def set_staff_active(
    deps: Deps,
    principal: Principal,
    user_id: int,
    *,
    active: bool,
    cache: RevocationCache | None = None,
) -> dict[str, Any]:
    """Deactivate (sign-in refused, open sign-ins ended once this commits) or reactivate a
    staff account. Run inside the caller's transaction, which holds the lock that makes
    "not the last brand admin" true when it commits (org serialises on the brand's row)."""
    account = await _manageable(principal, user_id)
    if not active and principal.brand_id is not None:
        admins = await _active_staff(principal.brand_id, [Role.BRAND_ADMIN])
        if user_id in admins and len(admins) == 1:
            raise LastBrandAdmin()
    changed = await User.filter(id=user_id, is_active=not active).update(is_active=active)
    if changed and not active:
        ended = partial(end_signins, deps, user_id, reason=ENDED_BY_DEACTIVATION, cache=cache)
        await sql.after_commit(ended)
    return {**account, "is_active": active}


async def reset_staff_password(
    deps: Deps,
    principal: Principal,
    user_id: int,
    password: str | None,
    *,
    cache: RevocationCache | None = None,
) -> dict[str, Any]:
    """Set the account's password (a generated one when none is given, answered this once),
    lift a lockout, and end its open sign-ins: whoever knew the old one is out."""
    account = await _manageable(principal, user_id)
    generated = password is None
    new_password = generate_password() if password is None else password
    await User.filter(id=user_id).update(
        password_hash=await hash_password(new_password), failed_login_count=0, locked_until=None
    )
    await end_signins(deps, user_id, reason=ENDED_BY_PASSWORD_RESET, cache=cache)
    return {
        "user_id": user_id,
        "username": account["username"],
        "generated": generated,
        "password": new_password if generated else None,
    }
