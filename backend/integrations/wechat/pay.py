"""WeChat Pay API v3 in service-provider mode (服务商模式): the only place our code talks to it.

The platform is the service provider (sp_mchid, sp_appid); each distributor is a sub-merchant
(sub_mchid) and a store owner pays into the distributor's account. Requests go through
wechatpayv3 (partner mode, "WeChat Pay public key" mode so it never downloads certificates),
which signs them with our merchant key and verifies the signatures on WeChat's answers. It is
synchronous (requests), so each call runs in a worker thread. Payment notifications are
verified and decrypted here, with our own small helpers, so that a forged or tampered one
fails with a reason instead of the library's silent None.

The same code talks to WeChat (api_base_url "https://api.mch.weixin.qq.com") or to the local
sandbox (backend.integrations.wechat.sandbox.pay); `generate_sandbox_keys` makes the key pairs
the two sides share there.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import WeChatPay, WeChatPayType

SIGNATURE_SCHEME = "WECHATPAY2-SHA256-RSA2048"
NOTIFICATION_MAX_SKEW_SECONDS = 300  # WeChat's advice: refuse signatures older than 5 minutes
HTTP_TIMEOUT_SECONDS = (5, 10)  # connect, read
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# Characters that survive a URL path unencoded, so the path we sign is the path WeChat sees.
_PATH_SAFE = re.compile(r"[0-9A-Za-z_\-]{1,64}")


class WechatPayError(Exception):
    """WeChat Pay refused a call (its HTTP status, code and message), could not be reached
    (None, NETWORK_ERROR), signed its answer wrongly (None, RESPONSE_NOT_VERIFIED) or answered
    something that is not a JSON object (status, INVALID_RESPONSE)."""

    def __init__(self, status: int | None, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"wechat pay error {status} {code}: {message}")


class NotificationRejected(Exception):
    """A notification that is forged, tampered with, stale or cannot be decrypted."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class WechatPaySettings:
    sp_appid: str
    sp_mchid: str
    merchant_serial_no: str
    merchant_private_key: str  # PEM (PKCS#8)
    platform_public_key: str  # PEM; WeChat keeps the private half
    platform_public_key_id: str  # "PUB_KEY_ID_…", sent as Wechatpay-Serial
    api_v3_key: str  # 32 characters
    api_base_url: str
    notify_url: str
    refund_notify_url: str

    @property
    def configured(self) -> bool:
        """False in a process whose role takes no payments (unconfigured_pay_settings)."""
        return bool(self.sp_mchid)


def unconfigured_pay_settings(sp_appid: str) -> WechatPaySettings:
    """What a process that never pays or refunds holds (realtime, the sandbox): no keys, no
    merchant, no gateway. pay_client() turns it into a client that refuses every call."""
    return WechatPaySettings(
        sp_appid=sp_appid,
        sp_mchid="",
        merchant_serial_no="",
        merchant_private_key="",
        platform_public_key="",
        platform_public_key_id="",
        api_v3_key="",
        api_base_url="",
        notify_url="",
        refund_notify_url="",
    )


@dataclass(frozen=True)
class SandboxKeys:
    """Both sides' keys for the sandbox. Only the sandbox may hold the platform private key."""

    merchant_private_key: str
    merchant_public_key: str
    merchant_serial_no: str
    platform_private_key: str
    platform_public_key: str
    platform_public_key_id: str
    api_v3_key: str


@dataclass(frozen=True)
class TransactionState:
    out_trade_no: str
    transaction_id: str | None
    trade_state: str  # SUCCESS, NOTPAY, CLOSED, REFUND, PAYERROR, USERPAYING, REVOKED
    amount_total_fen: int
    payer_total_fen: int | None
    sp_mchid: str
    sub_mchid: str
    success_time: datetime | None


@dataclass(frozen=True)
class RefundState:
    out_refund_no: str
    refund_id: str
    status: str  # SUCCESS, PROCESSING, ABNORMAL, CLOSED
    refund_fen: int
    out_trade_no: str


@dataclass(frozen=True)
class Notification:
    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    resource: dict[str, Any]  # decrypted

    def transaction(self) -> TransactionState:
        """The resource of a TRANSACTION.* notification, read like a query answer."""
        return transaction_state(self.resource)

    def refund(self) -> RefundState:
        return refund_state(self.resource)


# --- pure helpers -----------------------------------------------------------------------------


def generate_rsa_key_pair() -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM), the formats WeChat hands out."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def generate_sandbox_keys() -> SandboxKeys:
    merchant_private, merchant_public = generate_rsa_key_pair()
    platform_private, platform_public = generate_rsa_key_pair()
    return SandboxKeys(
        merchant_private_key=merchant_private,
        merchant_public_key=merchant_public,
        merchant_serial_no=secrets.token_hex(20).upper(),
        platform_private_key=platform_private,
        platform_public_key=platform_public,
        platform_public_key_id="PUB_KEY_ID_"
        + "".join(secrets.choice(string.digits) for _ in range(28)),
        api_v3_key=secrets.token_hex(16),
    )


def sandbox_settings(
    keys: SandboxKeys,
    *,
    sp_appid: str,
    sp_mchid: str,
    api_base_url: str,
    notify_url: str,
    refund_notify_url: str,
) -> WechatPaySettings:
    """Our side of the sandbox keys: the platform's public key only."""
    return WechatPaySettings(
        sp_appid=sp_appid,
        sp_mchid=sp_mchid,
        merchant_serial_no=keys.merchant_serial_no,
        merchant_private_key=keys.merchant_private_key,
        platform_public_key=keys.platform_public_key,
        platform_public_key_id=keys.platform_public_key_id,
        api_v3_key=keys.api_v3_key,
        api_base_url=api_base_url,
        notify_url=notify_url,
        refund_notify_url=refund_notify_url,
    )


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("WeChat Pay keys are RSA keys")
    return key


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("WeChat Pay keys are RSA keys")
    return key


def signature_message(*parts: str) -> bytes:
    """WeChat Pay v3 signs its fields one a line, each line ending in a newline."""
    return "".join(f"{part}\n" for part in parts).encode()


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(
            base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):  # ValueError: not base64
        return False
    return True


def aes_gcm_encrypt(api_v3_key: str, nonce: str, plaintext: bytes, associated_data: str) -> str:
    return base64.b64encode(
        AESGCM(api_v3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    ).decode()


def aes_gcm_decrypt(api_v3_key: str, nonce: str, ciphertext: str, associated_data: str) -> bytes:
    """Raises InvalidTag when the key is wrong or the ciphertext was changed."""
    return AESGCM(api_v3_key.encode()).decrypt(
        nonce.encode(), base64.b64decode(ciphertext), associated_data.encode()
    )


def wechat_time(moment: datetime) -> str:
    """RFC 3339 in China time, as WeChat writes times ("2018-06-08T10:34:56+08:00")."""
    if moment.tzinfo is None:
        raise ValueError("WeChat Pay times must carry a time zone")
    return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def transaction_state(data: Mapping[str, Any]) -> TransactionState:
    """A partner transaction as WeChat describes it (query answer or notification resource)."""
    amount = data.get("amount") or {}
    success_time = data.get("success_time")
    return TransactionState(
        out_trade_no=str(data["out_trade_no"]),
        transaction_id=data.get("transaction_id") or None,
        trade_state=str(data["trade_state"]),
        amount_total_fen=int(amount["total"]),
        payer_total_fen=_optional_int(amount.get("payer_total")),
        sp_mchid=str(data["sp_mchid"]),
        sub_mchid=str(data["sub_mchid"]),
        success_time=datetime.fromisoformat(success_time) if success_time else None,
    )


def refund_state(data: Mapping[str, Any]) -> RefundState:
    """A refund as WeChat describes it; notifications call the status `refund_status`."""
    return RefundState(
        out_refund_no=str(data["out_refund_no"]),
        refund_id=str(data["refund_id"]),
        status=str(data.get("status") or data["refund_status"]),
        refund_fen=int(data["amount"]["refund"]),
        out_trade_no=str(data["out_trade_no"]),
    )


def _require(**fields: str) -> None:
    # Checked here, not left to wechatpayv3: everything it raises inside a call is then about
    # WeChat's answer, and can be reported as such.
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise ValueError(f"required: {', '.join(missing)}")


def _path_segment(name: str, value: str) -> str:
    # Out-numbers go into URL paths: refuse anything that would be re-encoded on the way.
    if not _PATH_SAFE.fullmatch(value):
        raise ValueError(f"{name} must be 1-64 letters, digits, '_' or '-'")
    return value


# --- the client -------------------------------------------------------------------------------


class WechatPayClient:
    """Partner-mode calls for the platform (sp_mchid) on behalf of one sub-merchant each."""

    def __init__(self, settings: WechatPaySettings, clock: Callable[[], float] = time.time) -> None:
        """`clock` is wall time (seconds): it judges WeChat's signature timestamps, so it must
        be real time, not a domain clock that tests move forward."""
        self.settings = settings
        self._clock = clock
        self._merchant_key = load_private_key(settings.merchant_private_key)
        self._platform_key = load_public_key(settings.platform_public_key)
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=settings.sp_mchid,
            private_key=settings.merchant_private_key,
            cert_serial_no=settings.merchant_serial_no,
            appid=settings.sp_appid,
            apiv3_key=settings.api_v3_key,
            notify_url=settings.notify_url,
            partner_mode=True,
            timeout=HTTP_TIMEOUT_SECONDS,
            public_key=settings.platform_public_key,
            public_key_id=settings.platform_public_key_id,
        )
        # The gateway is not a constructor argument; this is the one place that sets it.
        self._pay._core._gate_way = settings.api_base_url.rstrip("/")

    async def _call(self, call: Callable[[], tuple[int, Any]]) -> dict[str, Any]:
        def run() -> tuple[int, Any]:
            try:
                return call()
            except requests.RequestException as exc:
                raise WechatPayError(None, "NETWORK_ERROR", str(exc)) from exc
            except Exception as exc:
                # wechatpayv3 raises a bare Exception when a 2xx answer's signature does not
                # verify (or its signature headers are missing): nothing in it can be trusted.
                raise WechatPayError(None, "RESPONSE_NOT_VERIFIED", str(exc)) from exc

        status, text = await asyncio.to_thread(run)
        try:
            payload = json.loads(text) if text else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise WechatPayError(status, "INVALID_RESPONSE", str(text)[:200])
        # wechatpayv3 verifies 2xx answers only; an unverified error answer can only make a
        # call fail, never make us believe a payment happened.
        if not 200 <= status < 300:
            raise WechatPayError(
                status, str(payload.get("code", "HTTP_ERROR")), str(payload.get("message", ""))
            )
        return payload

    def payment_params(self, prepay_id: str, sub_appid: str | None = None) -> dict[str, str]:
        """What wx.requestPayment takes; a prepay_id stays usable for two hours, so an unpaid
        order can be offered again by signing the same prepay_id afresh."""
        appid = sub_appid or self.settings.sp_appid
        timestamp = str(int(self._clock()))
        nonce = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        return {
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": rsa_sign(
                self._merchant_key, signature_message(appid, timestamp, nonce, package)
            ),
            "prepay_id": prepay_id,
        }

    async def prepay_jsapi(
        self,
        *,
        sub_mchid: str,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        expire_at: datetime,
        sub_appid: str | None = None,
    ) -> dict[str, str]:
        # The openid belongs to the mini-program the payer uses: ours unless a sub_appid is given.
        payer = {"sub_openid": payer_openid} if sub_appid else {"sp_openid": payer_openid}
        time_expire = wechat_time(expire_at)
        _require(description=description, sub_mchid=sub_mchid, payer_openid=payer_openid)
        segment = _path_segment("out_trade_no", out_trade_no)
        answer = await self._call(
            lambda: self._pay.pay(
                description=description,
                out_trade_no=segment,
                amount={"total": amount_fen, "currency": "CNY"},
                payer=payer,
                time_expire=time_expire,
                sub_mchid=sub_mchid,
                sub_appid=sub_appid,
            )
        )
        return self.payment_params(str(answer["prepay_id"]), sub_appid)

    async def query(self, *, sub_mchid: str, out_trade_no: str) -> TransactionState:
        _require(sub_mchid=sub_mchid)
        segment = _path_segment("out_trade_no", out_trade_no)
        answer = await self._call(
            lambda: self._pay.query(out_trade_no=segment, sub_mchid=sub_mchid)
        )
        return transaction_state(answer)

    async def close(self, *, sub_mchid: str, out_trade_no: str) -> None:
        _require(sub_mchid=sub_mchid)
        segment = _path_segment("out_trade_no", out_trade_no)
        await self._call(lambda: self._pay.close(out_trade_no=segment, sub_mchid=sub_mchid))

    async def refund(
        self,
        *,
        sub_mchid: str,
        out_trade_no: str,
        out_refund_no: str,
        refund_fen: int,
        total_fen: int,
        reason: str,
    ) -> RefundState:
        _require(sub_mchid=sub_mchid, out_trade_no=out_trade_no)
        segment = _path_segment("out_refund_no", out_refund_no)
        answer = await self._call(
            lambda: self._pay.refund(
                out_refund_no=segment,
                amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                out_trade_no=out_trade_no,
                reason=reason,
                notify_url=self.settings.refund_notify_url,
                sub_mchid=sub_mchid,
            )
        )
        return refund_state(answer)

    async def query_refund(self, *, sub_mchid: str, out_refund_no: str) -> RefundState:
        _require(sub_mchid=sub_mchid)
        segment = _path_segment("out_refund_no", out_refund_no)
        answer = await self._call(
            lambda: self._pay.query_refund(out_refund_no=segment, sub_mchid=sub_mchid)
        )
        return refund_state(answer)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify a payment or refund notification and decrypt its resource.

        WeChat also sends probes whose signature starts with "WECHATPAY/SIGNTEST/": they fail
        verification like any forgery, which is the answer WeChat expects.
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get("wechatpay-signature", "")
        timestamp = lowered.get("wechatpay-timestamp", "")
        nonce = lowered.get("wechatpay-nonce", "")
        serial = lowered.get("wechatpay-serial", "")
        if not (signature and timestamp and nonce and serial):
            raise NotificationRejected("missing Wechatpay signature headers")
        if serial != self.settings.platform_public_key_id:
            raise NotificationRejected(f"unknown platform key {serial!r}")
        if not timestamp.isdigit() or abs(self._clock() - int(timestamp)) > (
            NOTIFICATION_MAX_SKEW_SECONDS
        ):
            raise NotificationRejected("timestamp is more than 5 minutes off")
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            raise NotificationRejected("body is not UTF-8") from exc
        if not rsa_verify(self._platform_key, signature_message(timestamp, nonce, text), signature):
            raise NotificationRejected("signature does not verify")
        try:
            envelope = json.loads(text)
            resource = envelope["resource"]
            if envelope.get("resource_type") != "encrypt-resource" or (
                resource.get("algorithm") != "AEAD_AES_256_GCM"
            ):
                raise NotificationRejected("unsupported resource encryption")
            plaintext = aes_gcm_decrypt(
                self.settings.api_v3_key,
                resource["nonce"],
                resource["ciphertext"],
                resource.get("associated_data") or "",
            )
            decrypted = json.loads(plaintext)
            if not isinstance(decrypted, dict):
                raise NotificationRejected("resource is not a JSON object")
            return Notification(
                id=str(envelope["id"]),
                event_type=str(envelope["event_type"]),
                resource=decrypted,
            )
        except InvalidTag as exc:
            raise NotificationRejected("resource cannot be decrypted with our APIv3 key") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotificationRejected(f"malformed notification: {exc!r}") from exc


class UnconfiguredPayClient(WechatPayClient):
    """The Pay client of a process whose role takes no payments: every call is refused with
    an error that says so, instead of reaching a gateway with no keys."""

    def __init__(self, settings: WechatPaySettings) -> None:
        self.settings = settings

    async def _call(self, call: Callable[[], tuple[int, Any]]) -> dict[str, Any]:
        raise WechatPayError(None, "NOT_CONFIGURED", NOT_CONFIGURED_MESSAGE)

    def payment_params(self, prepay_id: str, sub_appid: str | None = None) -> dict[str, str]:
        raise WechatPayError(None, "NOT_CONFIGURED", NOT_CONFIGURED_MESSAGE)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        raise NotificationRejected(NOT_CONFIGURED_MESSAGE)


NOT_CONFIGURED_MESSAGE = "this process's role takes no WeChat Pay calls (no keys configured)"


def pay_client(settings: WechatPaySettings) -> WechatPayClient:
    return WechatPayClient(settings) if settings.configured else UnconfiguredPayClient(settings)
