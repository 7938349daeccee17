"""Authentication of requests and the one helper that keeps every query inside its tenant."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial, wraps
from typing import Any, TypeVar

from redis.exceptions import RedisError
from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext import openapi
from tortoise.models import Model
from tortoise.queryset import QuerySet

from backend.deps import Deps
from backend.identity.models import Role
from backend.identity.tokens import (
    Principal,
    TokenExpired,
    TokenInvalid,
    VerifiedToken,
    check_expiry,
    verify_access_token,
)
from backend.kernel.errors import Forbidden, Unauthorized, UpstreamUnavailable

# The identity surface other domains use: the guard, the scoping helper, who is calling.
__all__ = [
    "BRAND_ROLES",
    "DISTRIBUTOR_ROLES",
    "REFUNDER_ROLES",
    "STAFF_ROLES",
    "STORE_ROLES",
    "Principal",
    "Role",
    "Tenancy",
    "authenticate",
    "authenticated",
    "require_role",
    "scoped",
    "session_revoked",
]

BRAND_ROLES = frozenset({Role.BRAND_ADMIN, Role.BRAND_OPS})
DISTRIBUTOR_ROLES = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
STORE_ROLES = frozenset({Role.STORE_OWNER, Role.STORE_CLERK})
STAFF_ROLES = BRAND_ROLES | DISTRIBUTOR_ROLES
# Who may pay money back (payments' refunds, and the order page's refund preview).
REFUNDER_ROLES = frozenset({Role.DISTRIBUTOR_ADMIN})


class TokenMissing(Unauthorized):
    code = "auth.token_missing"
    message = "请先登录"


class AccessTokenInvalid(Unauthorized):
    code = "auth.token_invalid"
    message = "登录凭证无效，请重新登录"


class AccessTokenExpired(Unauthorized):
    code = "auth.token_expired"
    message = "登录已过期，请重新登录"


class SessionRevoked(Unauthorized):
    code = "auth.session_revoked"
    message = "登录已失效，请重新登录"


class RoleRequired(Forbidden):
    code = "auth.role_required"
    message = "当前身份无权执行此操作"


def revoked_key(session_id: str) -> str:
    return f"auth:revoked:{session_id}"


async def session_revoked(redis: Any, session_id: str) -> bool:
    """Whether the sign-in `session_id` has ended (logout, refresh-token reuse, a withdrawn
    role): asked of Redis, where revoke_session writes it for every process."""
    try:
        return bool(await redis.exists(revoked_key(session_id)))
    except RedisError as exc:
        raise UpstreamUnavailable("缓存服务暂时不可用，请稍后再试") from exc


class RevocationCache:
    """Remembers per process, for a few seconds, whether a session was revoked.

    Revocation is written to the database and to Redis; every process asks Redis at most once
    per session per `ttl` seconds, so an authenticated request usually costs no IO at all.
    The revoking process learns at once; others within `ttl`.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._seen: dict[str, tuple[bool, float]] = {}

    async def is_revoked(self, redis: Any, session_id: str) -> bool:
        cached = self._seen.get(session_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        revoked = await session_revoked(redis, session_id)
        if len(self._seen) > 100_000:  # bound memory on a long-running process
            self._seen.clear()
        self._seen[session_id] = (revoked, now)
        return revoked

    def mark_revoked(self, session_id: str) -> None:
        self._seen[session_id] = (True, time.monotonic())


class TokenVerifier:
    """Verifies access tokens, remembering per process the ones already verified.

    A token string is exactly what was signed, so once its signature and claims check out
    the result can be reused; expiry and revocation are still checked on every request.
    Verifying a JWT costs more than the rest of a small authenticated request.
    """

    def __init__(self, secret: str, capacity: int = 50_000) -> None:
        self.verify: Callable[[str], VerifiedToken] = lru_cache(maxsize=capacity)(
            partial(verify_access_token, secret=secret)
        )


async def authenticate(request: Request) -> Principal:
    deps: Deps = request.app.ctx.deps
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    try:
        principal = check_expiry(request.app.ctx.tokens.verify(token.strip()), deps.clock.now())
    except TokenExpired as exc:
        raise AccessTokenExpired() from exc
    except TokenInvalid as exc:
        raise AccessTokenInvalid() from exc
    if await request.app.ctx.revocations.is_revoked(deps.redis, principal.session_id):
        raise SessionRevoked()
    return principal


H = Callable[..., Awaitable[HTTPResponse]]


def authenticated(*roles: Role) -> Callable[[H], H]:
    """Require a valid access token (and one of `roles`, if given); pass it as `principal`."""
    allowed = frozenset(roles)

    def decorator(handler: H) -> H:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            principal = await authenticate(request)
            if allowed:
                require_role(principal, allowed)
            request.ctx.principal = principal
            return await handler(request, *args, principal=principal, **kwargs)

        secured: H = openapi.secured("bearer")(wrapper)
        return secured

    return decorator


def require_role(principal: Principal, roles: Iterable[Role]) -> None:
    if principal.role not in set(roles):
        raise RoleRequired()


@dataclass(frozen=True)
class Tenancy:
    """Which columns of a model tie its rows to a brand, distributor, salesperson or store.

    A role whose column is None sees no rows of that model.
    """

    brand: str = "brand_id"
    distributor: str | None = None
    salesperson: str | None = None
    store: str | None = None


M = TypeVar("M", bound=Model)

# A filter no row satisfies (ids start at 1): what a role outside a model's tenancy sees.
_NOTHING = {"id__lt": 0}


def _narrowing(principal: Principal, tenancy: Tenancy) -> dict[str, Any] | None:
    """The column values a row must have for `principal` to see it; None: no row at all."""
    if principal.role is None or principal.brand_id is None:
        return None
    role = Role(principal.role)
    if role in BRAND_ROLES:
        return {tenancy.brand: principal.brand_id}
    if role in DISTRIBUTOR_ROLES:
        column, value = tenancy.distributor, principal.distributor_id
    elif role == Role.SALESPERSON:
        column, value = tenancy.salesperson, principal.salesperson_id
    else:
        column, value = tenancy.store, principal.store_id
    if column is None or value is None:
        return None
    return {tenancy.brand: principal.brand_id, column: value}


def scoped(principal: Principal, queryset: QuerySet[M], tenancy: Tenancy) -> QuerySet[M]:
    """Narrow `queryset` to what `principal` may see: every read goes through here..."""
    narrowing = _narrowing(principal, tenancy)
    return queryset.filter(**(_NOTHING if narrowing is None else narrowing))


def may_see(principal: Principal, row: Mapping[str, Any], tenancy: Tenancy) -> bool:
    """...or, for a row read by hand-written SQL (infra/sql.py), the same rule after reading:
    `row` holds at least the tenancy's columns."""
    narrowing = _narrowing(principal, tenancy)
    return narrowing is not None and all(row[k] == v for k, v in narrowing.items())
