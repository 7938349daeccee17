"""Access tokens (signed JWTs) and opaque refresh tokens. No IO: time is passed in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, and inside which tenant boundary every query must stay."""

    user_id: int
    session_id: str
    role: str | None = None
    membership_id: int | None = None
    brand_id: int | None = None
    distributor_id: int | None = None
    store_id: int | None = None
    salesperson_id: int | None = None


class TokenInvalid(Exception):
    pass


class TokenExpired(TokenInvalid):
    pass


_CLAIMS = {
    "mid": "membership_id",
    "bid": "brand_id",
    "did": "distributor_id",
    "stid": "store_id",
    "spid": "salesperson_id",
}


def issue_access_token(
    principal: Principal, *, secret: str, now: datetime, ttl_seconds: int
) -> str:
    claims: dict[str, Any] = {
        "typ": ACCESS_TOKEN_TYPE,
        "sub": str(principal.user_id),
        "sid": principal.session_id,
        "role": principal.role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    for claim, attribute in _CLAIMS.items():
        value = getattr(principal, attribute)
        if value is not None:
            claims[claim] = value
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and claims were checked; its expiry is checked per use."""

    principal: Principal
    expires_at: int  # unix seconds


def verify_access_token(token: str, *, secret: str) -> VerifiedToken:
    """Check signature and claims, not expiry: the result may be cached by the token string."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Time is checked against our clock in check_expiry; PyJWT would use the
            # machine's and refuse a token issued by a server whose clock runs ahead.
            options={
                "require": ["exp", "sub", "sid", "typ"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid(str(exc)) from exc
    if claims["typ"] != ACCESS_TOKEN_TYPE:
        raise TokenInvalid("not an access token")
    try:
        principal = Principal(
            user_id=int(claims["sub"]),
            session_id=str(claims["sid"]),
            role=claims.get("role"),
            **{attribute: claims.get(claim) for claim, attribute in _CLAIMS.items()},
        )
        return VerifiedToken(principal, int(claims["exp"]))
    except (TypeError, ValueError) as exc:
        raise TokenInvalid("malformed claims") from exc


def check_expiry(verified: VerifiedToken, now: datetime) -> Principal:
    # Against the injected clock, not the machine's, so tests can move time.
    if verified.expires_at <= int(now.timestamp()):
        raise TokenExpired("expired")
    return verified.principal


def read_access_token(token: str, *, secret: str, now: datetime) -> Principal:
    return check_expiry(verify_access_token(token, secret=secret), now)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
