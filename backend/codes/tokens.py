"""The text of product codes (pure): unguessable tokens, the URL a QR carries, the serials
printed under it, and reading a token back out of whatever a scanner returned."""

from __future__ import annotations

import re
import secrets

# Crockford's base 32 (no I, L, O, U): upper case and digits only, so that the QR's URL,
# upper-cased as a whole, fits QR's compact alphanumeric mode.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 20  # 100 random bits: guessing one live code among 10^9 takes ~10^21 tries
_TOKEN = re.compile(r"[0-9A-HJKMNP-TV-Z]{20}")
# Where the token sits in a scanned URL: ".../C/<token>" for a printed code, ".../V/<token>"
# for a consumer's e-coupon (any case: some scanners lower it).
_IN_URL = re.compile(r"/c/([0-9a-z]{20})(?:[/?#]|$)", re.IGNORECASE)
_IN_COUPON_URL = re.compile(r"/v/([0-9a-z]{20})(?:[/?#]|$)", re.IGNORECASE)


# Every byte read from the system's randomness becomes one character by its low 5 bits
# (256 is a multiple of 32, so each character is equally likely).
_BYTE_TO_CHAR = bytes(ord(ALPHABET[b & 31]) for b in range(256))


def new_tokens(count: int) -> list[str]:
    """`count` fresh tokens, made in bulk (a million in about a second)."""
    text = secrets.token_bytes(count * TOKEN_LENGTH).translate(_BYTE_TO_CHAR).decode("ascii")
    return [text[i : i + TOKEN_LENGTH] for i in range(0, len(text), TOKEN_LENGTH)]


def new_token() -> str:
    return new_tokens(1)[0]


def code_url(public_base_url: str, token: str) -> str:
    """What the QR carries. The mini-program is registered to open for the `/C/` prefix of
    the platform's domain (WeChat's 扫普通链接二维码打开小程序), and any camera app lands on
    a web page that says to scan it in WeChat."""
    return f"{public_base_url.rstrip('/')}/C/{token}"


def coupon_url(public_base_url: str, token: str) -> str:
    """What a consumer's e-coupon QR carries, for the store to scan."""
    return f"{public_base_url.rstrip('/')}/V/{token}"


def _token(text: str, in_url: re.Pattern[str]) -> str | None:
    text = text.strip()
    if len(text) > 512:
        return None
    found = in_url.search(text)
    candidate = (found.group(1) if found else text).upper()
    return candidate if _TOKEN.fullmatch(candidate) else None


def token_in(text: str) -> str | None:
    """The token in what a scanner returned (a code's URL, or the bare token typed or read
    from a label), upper-cased; None when there is none, without touching the database."""
    return _token(text, _IN_URL)


def coupon_token_in(text: str) -> str | None:
    """The token of a consumer's e-coupon in what the store's scanner returned."""
    return _token(text, _IN_COUPON_URL)


def box_serial(batch_no: str, serial: int) -> str:
    """A box as people read it on its label and in range lists: "20261201-B000042"."""
    return f"{batch_no}-B{serial:06d}"


def item_serial(batch_no: str, serial: int) -> str:
    return f"{batch_no}-{serial:07d}"
