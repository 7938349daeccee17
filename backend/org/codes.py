"""Onboarding code tokens: a random public id signed with our secret, and their QR images.

The signature lets us reject a forged or mistyped code without touching the database; the
random id (96 bits) makes codes unguessable even to someone who has seen many of them.
"""

from __future__ import annotations

import io
import secrets

import segno
from itsdangerous import BadSignature, Signer

_SALT = "b2bc.onboarding-code"


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


def sign(public_id: str, secret: str) -> str:
    return Signer(secret, salt=_SALT, sep=".").sign(public_id).decode()


def unsign(token: str, secret: str) -> str | None:
    """The public id inside a genuine token, or None for anything forged or malformed."""
    if len(token) > 128:
        return None
    try:
        return Signer(secret, salt=_SALT, sep=".").unsign(token).decode()
    except (BadSignature, UnicodeError):
        return None


def join_url(public_base_url: str, token: str) -> str:
    # The mini-program is configured to open for this URL prefix when the code is scanned.
    return f"{public_base_url}/join/{token}"


def qr_png(content: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


# Crockford's base 32: no I, L, O or U, so a short code read aloud or typed is not misread.
_SHORT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def short_code(code_id: int) -> str:
    """The code's id as people read it under its QR ("K-000Q7"): it names one code (to find a
    box or an application's code) and grants nothing, the signed token does."""
    digits = ""
    while code_id:
        code_id, digit = divmod(code_id, 32)
        digits = _SHORT_ALPHABET[digit] + digits
    return f"K-{digits.rjust(5, '0')}"
