"""A local stand-in for WeChat Pay API v3 in service-provider mode, speaking its wire protocol.

Part 2 of the WeChat sandbox. Our real client (backend.integrations.wechat.pay, through
wechatpayv3) talks to it over HTTP, so the real request signing, response verification,
notification decryption and retry handling run in tests and in the demo:

- every /v3 request must carry a valid `WECHATPAY2-SHA256-RSA2048` Authorization made with
  our merchant key; every answer is signed with the platform private key;
- partner JSAPI prepay, query by out_trade_no, close, refund and refund query, with WeChat's
  status codes and error codes;
- payment and refund notifications, AES-256-GCM encrypted with the APIv3 key and signed, are
  POSTed to the notify_url and retried on WeChat's schedule until answered 200 or 204.

Its `/sandbox/pay/...` endpoints play the payer and the bank: pay an order, settle refunds,
inspect and replay notifications.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

import httpx
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from backend.infra.logging import logging_config
from backend.integrations.wechat.pay import (
    CHINA_TZ,
    SIGNATURE_SCHEME,
    SandboxKeys,
    aes_gcm_encrypt,
    load_private_key,
    load_public_key,
    rsa_sign,
    rsa_verify,
    signature_message,
    wechat_time,
)
from backend.integrations.wechat.sandbox import (
    bad_control_body,
    control_body,
    control_error,
)

# Delays before each redelivery of an unanswered notification (WeChat's published schedule).
RETRY_SCHEDULE_SECONDS = (
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
)  # fmt: skip
NOTIFY_TIMEOUT_SECONDS = 5
MAX_CLOCK_SKEW_SECONDS = 300
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*@]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
SUB_MCHID = re.compile(r"\d{8,12}")
MAX_DESCRIPTION = 127
PAID_STATES = ("SUCCESS", "REFUND")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')

Reply = tuple[int, dict[str, Any] | None]  # HTTP status and JSON body of a /v3 answer
_T = TypeVar("_T")


def _failure(status: int, code: str, message: str) -> Reply:
    return status, {"code": code, "message": message}


def _param_error(message: str) -> Reply:
    return _failure(400, "PARAM_ERROR", message)


# WeChat Pay's status codes, error codes and messages.
SIGN_ERROR = _failure(401, "SIGN_ERROR", "签名错误")
MCHID_MISMATCH = _param_error("sp_mchid 与请求头中的商户号不一致")
APPID_MCHID_NOT_MATCH = _failure(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
NO_SUB_MERCHANT = _failure(400, "INVALID_REQUEST", "受理关系不存在")
ORDER_NOT_EXIST = _failure(404, "ORDER_NOT_EXIST", "订单不存在")
ORDER_PAID = _failure(400, "ORDERPAID", "该订单已支付")
ORDER_CLOSED = _failure(400, "ORDER_CLOSED", "订单已关闭")
OUT_TRADE_NO_USED = _failure(400, "INVALID_REQUEST", "201 商户订单号重复")
REFUND_TRADE_NOT_EXIST = _failure(404, "RESOURCE_NOT_EXISTS", "订单不存在")
REFUND_NOT_EXIST = _failure(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
TRADE_NOT_PAID = _failure(400, "INVALID_REQUEST", "订单未支付，不能退款")
TOTAL_MISMATCH = _failure(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
REFUND_TOO_MUCH = _failure(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
OUT_REFUND_NO_USED = _failure(400, "INVALID_REQUEST", "商户退款单号重复，且参数与原请求不一致")

REFUND_OUTCOMES = {  # final refund status -> notification event type and summary
    "SUCCESS": ("REFUND.SUCCESS", "退款成功"),
    "ABNORMAL": ("REFUND.ABNORMAL", "退款异常"),
    "CLOSED": ("REFUND.CLOSED", "退款关闭"),
}
TRADE_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "已关闭",
    "REFUND": "转入退款",
}


class _Refused(Exception):
    """Raised by the /v3 operations to answer with one of WeChat's errors."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def _refuse_unless(condition: bool, reply: Reply) -> None:
    if not condition:
        raise _Refused(reply)


def _found(value: _T | None, reply: Reply) -> _T:
    if value is None:
        raise _Refused(reply)
    return value


def _object(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one so that its absence fails the checks that follow."""
    return value if isinstance(value, dict) else {}


def _digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


@dataclass
class SandboxTransaction:
    sp_appid: str
    sub_mchid: str
    sub_appid: str | None
    out_trade_no: str
    description: str
    total: int
    payer: dict[str, str]
    notify_url: str
    time_expire: datetime | None
    prepay_id: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    payer_total: int | None = None  # what the payer paid, when a test says it differs
    reported_total: int | None = None  # what WeChat reports as amount.total (tamper tests)

    def same_order(self, other: SandboxTransaction) -> bool:
        """WeChat accepts a repeated prepay only when the order's key fields are unchanged."""
        fields = ("sp_appid", "sub_mchid", "sub_appid", "description", "total", "payer")
        return all(getattr(self, name) == getattr(other, name) for name in fields)


@dataclass
class SandboxRefund:
    sub_mchid: str
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    reason: str
    notify_url: str | None
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass
class DeliveryAttempt:
    at: float
    status: int | None  # None: the notify URL could not be reached
    error: str | None = None


@dataclass
class OutboxNotification:
    id: str
    url: str
    event_type: str
    subject: str  # the out_trade_no or out_refund_no it is about
    body: str
    resource: dict[str, Any]  # the plaintext, for tests and the demo console
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False


@dataclass
class PaySandboxState:
    keys: SandboxKeys
    sp_mchid: str
    sp_appid: str
    # None accepts any 8-12 digit sub_mchid, as if every distributor were already onboarded.
    sub_mchids: set[str] | None = None
    retry_scale: float = 1.0  # multiplies RETRY_SCHEDULE_SECONDS (tests: 0.001)
    refund_settle_after: float | None = None  # seconds; None: only /sandbox/pay/refunds/settle
    transactions: dict[tuple[str, str], SandboxTransaction] = field(default_factory=dict)
    refunds: dict[tuple[str, str], SandboxRefund] = field(default_factory=dict)
    notifications: dict[str, OutboxNotification] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def now(self) -> float:
        return float(self.clock())

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), CHINA_TZ)

    def refundable(self, tx: SandboxTransaction) -> int:
        """Refunds in flight count against the order until they are closed."""
        refunded = sum(
            refund.refund
            for refund in self.refunds.values()
            if (refund.sub_mchid, refund.out_trade_no) == (tx.sub_mchid, tx.out_trade_no)
            and refund.status != "CLOSED"
        )
        return tx.total - refunded

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run in the serving event loop; the set keeps the task alive until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


# --- wire format ----------------------------------------------------------------------------

# Parsed once: every answer and every notification is signed.
_private_key = lru_cache(maxsize=16)(load_private_key)
_public_key = lru_cache(maxsize=16)(load_public_key)


def _signed_headers(keys: SandboxKeys, timestamp: int, body: str) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    signature = rsa_sign(
        _private_key(keys.platform_private_key), signature_message(str(timestamp), nonce, body)
    )
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": keys.platform_public_key_id,
        "Wechatpay-Signature-Type": SIGNATURE_SCHEME,
    }


def _signed_response(
    state: PaySandboxState, status: int, payload: dict[str, Any] | None
) -> HTTPResponse:
    body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
    headers = _signed_headers(state.keys, int(state.now()), body)
    headers["Request-ID"] = uuid.uuid4().hex
    # An explicit charset: the client verifies the signature over the text it decodes.
    return HTTPResponse(
        body.encode(),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def _authorization_problem(state: PaySandboxState, request: Request, url: str) -> str | None:
    """Why the Authorization header is not a valid merchant signature (None when it is)."""
    scheme, _, rest = request.headers.get("authorization", "").partition(" ")
    if scheme != SIGNATURE_SCHEME:
        return "unknown authorization scheme"
    params = dict(_AUTH_PARAM.findall(rest))
    if params.get("mchid") != state.sp_mchid:
        return "unknown mchid"
    if params.get("serial_no") != state.keys.merchant_serial_no:
        return "unknown merchant certificate serial"
    timestamp = params.get("timestamp", "")
    if not timestamp.isdigit() or abs(state.now() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "timestamp out of range"
    message = signature_message(
        request.method, url, timestamp, params.get("nonce_str", ""), request.body.decode()
    )
    if not rsa_verify(
        _public_key(state.keys.merchant_public_key), message, params.get("signature", "")
    ):
        return "signature does not verify"
    return None


def _transaction_resource(state: PaySandboxState, tx: SandboxTransaction) -> dict[str, Any]:
    """The transaction as WeChat reports it, in query answers and notifications alike."""
    resource: dict[str, Any] = {
        "sp_appid": tx.sp_appid,
        "sp_mchid": state.sp_mchid,
        "sub_mchid": tx.sub_mchid,
        "out_trade_no": tx.out_trade_no,
        "trade_state": tx.trade_state,
        "trade_state_desc": TRADE_STATE_DESC.get(tx.trade_state, tx.trade_state),
        "attach": "",
        "amount": {"total": tx.total, "currency": "CNY"},
    }
    if tx.sub_appid:
        resource["sub_appid"] = tx.sub_appid
    if tx.transaction_id is not None and tx.success_time is not None:
        resource.update(
            transaction_id=tx.transaction_id,
            trade_type="JSAPI",
            bank_type="OTHERS",
            success_time=wechat_time(tx.success_time),
            payer=tx.payer,
            amount={
                "total": tx.total if tx.reported_total is None else tx.reported_total,
                "payer_total": tx.total if tx.payer_total is None else tx.payer_total,
                "currency": "CNY",
                "payer_currency": "CNY",
            },
        )
    return resource


def _refund_amount(refund: SandboxRefund) -> dict[str, int]:
    return {
        "total": refund.total,
        "refund": refund.refund,
        "payer_total": refund.total,
        "payer_refund": refund.refund,
    }


def _refund_resource(refund: SandboxRefund) -> dict[str, Any]:
    """A refund as the refund API answers it."""
    resource: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": wechat_time(refund.created_at),
        "status": refund.status,
        "funds_account": "AVAILABLE",
        "amount": {
            **_refund_amount(refund),
            "settlement_total": refund.total,
            "settlement_refund": refund.refund,
            "discount_refund": 0,
            "currency": "CNY",
            "refund_fee": 0,
        },
    }
    if refund.success_time is not None:
        resource["success_time"] = wechat_time(refund.success_time)
    return resource


def _refund_notification_resource(state: PaySandboxState, refund: SandboxRefund) -> dict[str, Any]:
    """A refund as notifications report it: status named `refund_status`, merchant ids added."""
    resource: dict[str, Any] = {
        "sp_mchid": state.sp_mchid,
        "sub_mchid": refund.sub_mchid,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": _refund_amount(refund),
    }
    if refund.success_time is not None:
        resource["success_time"] = wechat_time(refund.success_time)
    return resource


# --- notifications --------------------------------------------------------------------------


def _queue_notification(
    state: PaySandboxState,
    *,
    url: str,
    event_type: str,
    summary: str,
    original_type: str,
    subject: str,
    resource: dict[str, Any],
) -> OutboxNotification:
    nonce = secrets.token_hex(6)  # WeChat's resource nonces are 12 characters
    ciphertext = aes_gcm_encrypt(
        state.keys.api_v3_key,
        nonce,
        json.dumps(resource, ensure_ascii=False).encode(),
        original_type,
    )
    notification_id = str(uuid.uuid4())
    envelope = {
        "id": notification_id,
        "create_time": wechat_time(state.now_datetime()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce,
        },
    }
    notification = OutboxNotification(
        id=notification_id,
        url=url,
        event_type=event_type,
        subject=subject,
        body=json.dumps(envelope, ensure_ascii=False),
        resource=resource,
    )
    state.notifications[notification_id] = notification
    state.spawn(_deliver_with_retries(state, notification))
    return notification


async def _attempt(
    state: PaySandboxState, http: httpx.AsyncClient, notification: OutboxNotification
) -> bool:
    # Each attempt is signed afresh, so a retry hours later still passes a freshness check.
    headers = _signed_headers(state.keys, int(state.now()), notification.body)
    headers["Content-Type"] = "application/json"
    try:
        response = await http.post(
            notification.url, content=notification.body.encode(), headers=headers
        )
    except httpx.HTTPError as exc:
        notification.attempts.append(DeliveryAttempt(state.now(), None, repr(exc)))
        return False
    notification.attempts.append(DeliveryAttempt(state.now(), response.status_code))
    if response.status_code in (200, 204):
        notification.delivered = True
    return notification.delivered


async def _deliver_with_retries(state: PaySandboxState, notification: OutboxNotification) -> None:
    async with httpx.AsyncClient(timeout=NOTIFY_TIMEOUT_SECONDS) as http:
        for delay in (0, *RETRY_SCHEDULE_SECONDS):
            await asyncio.sleep(delay * state.retry_scale)
            if notification.delivered:  # a manual redelivery got through meanwhile
                return
            if await _attempt(state, http, notification):
                return
    notification.gave_up = True


def _notification_view(notification: OutboxNotification) -> dict[str, Any]:
    view = asdict(notification)
    view.pop("body")
    return view


def _settle_refund(state: PaySandboxState, refund: SandboxRefund, outcome: str) -> None:
    refund.status = outcome
    if outcome == "SUCCESS":
        refund.success_time = state.now_datetime()
    if refund.notify_url:
        event_type, summary = REFUND_OUTCOMES[outcome]
        _queue_notification(
            state,
            url=refund.notify_url,
            event_type=event_type,
            summary=summary,
            original_type="refund",
            subject=refund.out_refund_no,
            resource=_refund_notification_resource(state, refund),
        )


async def _settle_later(state: PaySandboxState, refund: SandboxRefund, delay: float) -> None:
    await asyncio.sleep(delay)
    if refund.status == "PROCESSING":
        _settle_refund(state, refund, "SUCCESS")


# --- the /v3 operations: (state, request, path parameters) -> reply, or raise _Refused ----


def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _v3_body(request: Request) -> dict[str, Any]:
    return _found(_body(request), _param_error("请求体不是JSON对象"))


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_sub_merchant(state: PaySandboxState, sub_mchid: Any) -> None:
    _refuse_unless(
        isinstance(sub_mchid, str) and SUB_MCHID.fullmatch(sub_mchid) is not None,
        _param_error("sub_mchid 格式错误"),
    )
    _refuse_unless(state.sub_mchids is None or sub_mchid in state.sub_mchids, NO_SUB_MERCHANT)


def _time_expire(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise _Refused(_param_error("time_expire 格式错误")) from exc


def _prepay_order(state: PaySandboxState, body: Mapping[str, Any]) -> SandboxTransaction:
    """The order a partner JSAPI prepay describes; refuses it as WeChat would."""
    for name in ("sp_appid", "sp_mchid", "sub_mchid", "description", "out_trade_no", "notify_url"):
        _refuse_unless(
            isinstance(body.get(name), str) and body[name], _param_error(f"缺少参数 {name}")
        )
    _refuse_unless(body["sp_mchid"] == state.sp_mchid, MCHID_MISMATCH)
    _refuse_unless(body["sp_appid"] == state.sp_appid, APPID_MCHID_NOT_MATCH)
    _check_sub_merchant(state, body["sub_mchid"])
    _refuse_unless(
        OUT_TRADE_NO.fullmatch(body["out_trade_no"]) is not None,
        _param_error("out_trade_no 长度须为6-32位，且只能是数字、大小写字母_-|*@"),
    )
    _refuse_unless(
        len(body["description"]) <= MAX_DESCRIPTION, _param_error("description 超过127个字符")
    )
    _refuse_unless(
        body["notify_url"].startswith(("https://", "http://")), _param_error("notify_url 格式错误")
    )
    amount = _object(body.get("amount"))
    _refuse_unless(
        _positive_int(amount.get("total")), _param_error("amount.total 必须为大于0的整数")
    )
    _refuse_unless(
        amount.get("currency", "CNY") == "CNY", _param_error("amount.currency 仅支持CNY")
    )
    payer, sub_appid = _object(body.get("payer")), body.get("sub_appid")
    _refuse_unless(
        bool(payer.get("sp_openid") or payer.get("sub_openid")),
        _param_error("缺少参数 payer.sp_openid 或 payer.sub_openid"),
    )
    _refuse_unless(
        not payer.get("sub_openid") or bool(sub_appid),
        _param_error("传入 sub_openid 时须传入 sub_appid"),
    )
    return SandboxTransaction(
        sp_appid=body["sp_appid"],
        sub_mchid=body["sub_mchid"],
        sub_appid=sub_appid,
        out_trade_no=body["out_trade_no"],
        description=body["description"],
        total=amount["total"],
        payer={key: str(value) for key, value in payer.items()},
        notify_url=body["notify_url"],
        time_expire=_time_expire(body.get("time_expire")),
        prepay_id="wx" + secrets.token_hex(15),
    )


def _prepay(state: PaySandboxState, request: Request) -> Reply:
    order = _prepay_order(state, _v3_body(request))
    existing = state.transactions.setdefault((order.sub_mchid, order.out_trade_no), order)
    _refuse_unless(existing.trade_state not in PAID_STATES, ORDER_PAID)
    _refuse_unless(existing.trade_state != "CLOSED", ORDER_CLOSED)
    _refuse_unless(existing.same_order(order), OUT_TRADE_NO_USED)
    return 200, {"prepay_id": existing.prepay_id}


def _query(state: PaySandboxState, request: Request, out_trade_no: str) -> Reply:
    _refuse_unless(request.args.get("sp_mchid") == state.sp_mchid, MCHID_MISMATCH)
    tx = _found(
        state.transactions.get((request.args.get("sub_mchid", ""), out_trade_no)), ORDER_NOT_EXIST
    )
    return 200, _transaction_resource(state, tx)


def _close(state: PaySandboxState, request: Request, out_trade_no: str) -> Reply:
    body = _v3_body(request)
    _refuse_unless(body.get("sp_mchid") == state.sp_mchid, MCHID_MISMATCH)
    tx = _found(
        state.transactions.get((str(body.get("sub_mchid", "")), out_trade_no)), ORDER_NOT_EXIST
    )
    _refuse_unless(tx.trade_state not in PAID_STATES, ORDER_PAID)
    tx.trade_state = "CLOSED"  # closing a closed order succeeds again, as at WeChat
    return 204, None


def _refund(state: PaySandboxState, request: Request) -> Reply:
    body = _v3_body(request)
    _check_sub_merchant(state, body.get("sub_mchid"))
    out_refund_no, amount = str(body.get("out_refund_no", "")), _object(body.get("amount"))
    _refuse_unless(
        OUT_REFUND_NO.fullmatch(out_refund_no) is not None, _param_error("out_refund_no 格式错误")
    )
    _refuse_unless(
        _positive_int(amount.get("refund")) and _positive_int(amount.get("total")),
        _param_error("amount.refund 和 amount.total 必须为大于0的整数"),
    )
    tx = _found(
        state.transactions.get((body["sub_mchid"], str(body.get("out_trade_no", "")))),
        REFUND_TRADE_NOT_EXIST,
    )
    existing = state.refunds.get((tx.sub_mchid, out_refund_no))
    if existing is not None:  # a retried request gets the same answer; a changed one is refused
        same = (existing.out_trade_no, existing.refund) == (tx.out_trade_no, amount["refund"])
        _refuse_unless(same, OUT_REFUND_NO_USED)
        return 200, _refund_resource(existing)
    _refuse_unless(tx.trade_state in PAID_STATES and tx.transaction_id is not None, TRADE_NOT_PAID)
    _refuse_unless(amount["total"] == tx.total, TOTAL_MISMATCH)
    _refuse_unless(amount["refund"] <= state.refundable(tx), REFUND_TOO_MUCH)
    created = SandboxRefund(
        sub_mchid=tx.sub_mchid,
        out_refund_no=out_refund_no,
        refund_id="50" + _digits(27),
        out_trade_no=tx.out_trade_no,
        transaction_id=str(tx.transaction_id),
        refund=amount["refund"],
        total=tx.total,
        reason=str(body.get("reason", "")),
        notify_url=body.get("notify_url") or None,
        created_at=state.now_datetime(),
    )
    state.refunds[(tx.sub_mchid, out_refund_no)] = created
    tx.trade_state = "REFUND"
    if state.refund_settle_after is not None:
        state.spawn(_settle_later(state, created, state.refund_settle_after))
    return 200, _refund_resource(created)


def _query_refund(state: PaySandboxState, request: Request, out_refund_no: str) -> Reply:
    found = state.refunds.get((request.args.get("sub_mchid", ""), out_refund_no))
    return 200, _refund_resource(_found(found, REFUND_NOT_EXIST))


V3Operation = Callable[..., Reply]
V3_ROUTES: tuple[tuple[str, str, V3Operation], ...] = (
    ("POST", "/v3/pay/partner/transactions/jsapi", _prepay),
    ("GET", "/v3/pay/partner/transactions/out-trade-no/<out_trade_no>", _query),
    ("POST", "/v3/pay/partner/transactions/out-trade-no/<out_trade_no>/close", _close),
    ("POST", "/v3/refund/domestic/refunds", _refund),
    ("GET", "/v3/refund/domestic/refunds/<out_refund_no>", _query_refund),
)


def _v3_endpoint(
    state: PaySandboxState, mount: str, operation: V3Operation
) -> Callable[..., Coroutine[Any, Any, HTTPResponse]]:
    """Authenticate the merchant, run the operation, sign its answer (errors included)."""

    async def endpoint(request: Request, **path_params: str) -> HTTPResponse:
        # The merchant signs the URL relative to WeChat's host, i.e. without our mount point.
        path = request.path.removeprefix(mount)
        url = f"{path}?{request.query_string}" if request.query_string else path
        if _authorization_problem(state, request, url):
            return _signed_response(state, *SIGN_ERROR)
        try:
            reply = operation(state, request, **path_params)
        except _Refused as refused:
            reply = refused.reply
        return _signed_response(state, *reply)

    return endpoint


# --- the payer's and the bank's side -----------------------------------------------------


def _complete(state: PaySandboxState, body: Mapping[str, Any]) -> HTTPResponse:
    """The payer confirms wx.requestPayment. Optional amount_fen / payer_total_fen make WeChat
    report other amounts than were ordered, to test that we check them."""
    # The payer's side names the order only: our out_trade_nos are unique across sub-merchants.
    tx = next(
        (
            t
            for t in state.transactions.values()
            if body.get("prepay_id") == t.prepay_id or body.get("out_trade_no") == t.out_trade_no
        ),
        None,
    )
    if tx is None:
        return control_error(404, "sandbox.order_not_found", "沙箱中没有这笔订单")
    if tx.trade_state != "NOTPAY":
        return control_error(
            409, "sandbox.order_not_payable", "订单不是待支付状态", {"trade_state": tx.trade_state}
        )
    if tx.time_expire is not None and tx.time_expire.timestamp() < state.now():
        return control_error(409, "sandbox.order_expired", "订单已过支付期限")
    if not all(
        _positive_int(body[name]) for name in ("amount_fen", "payer_total_fen") if name in body
    ):
        return control_error(400, "sandbox.bad_amount", "金额须为正整数（分）")
    tx.trade_state = "SUCCESS"
    tx.transaction_id = "4200" + _digits(24)
    tx.success_time = state.now_datetime()
    tx.reported_total = body.get("amount_fen")
    tx.payer_total = body.get("payer_total_fen")
    notification = _queue_notification(
        state,
        url=tx.notify_url,
        event_type="TRANSACTION.SUCCESS",
        summary="支付成功",
        original_type="transaction",
        subject=tx.out_trade_no,
        resource=_transaction_resource(state, tx),
    )
    return json_response(
        {
            "out_trade_no": tx.out_trade_no,
            "transaction_id": tx.transaction_id,
            "notification_id": notification.id,
        }
    )


def _settle(state: PaySandboxState, body: Mapping[str, Any]) -> HTTPResponse:
    """Finish PROCESSING refunds (all, or the one named) as SUCCESS, ABNORMAL or CLOSED."""
    outcome = str(body.get("status", "SUCCESS"))
    if outcome not in REFUND_OUTCOMES:
        return control_error(
            400, "sandbox.bad_refund_status", "status 须为 SUCCESS、ABNORMAL 或 CLOSED"
        )
    wanted = body.get("out_refund_no")
    settled = [
        refund
        for refund in state.refunds.values()
        if refund.status == "PROCESSING" and wanted in (None, refund.out_refund_no)
    ]
    for refund in settled:
        _settle_refund(state, refund, outcome)
    return json_response({"settled": [refund.out_refund_no for refund in settled]})


def create_pay_sandbox_blueprint(state: PaySandboxState, url_prefix: str = "") -> Blueprint:
    bp = Blueprint(f"wechat_pay_sandbox{abs(hash(url_prefix))}", url_prefix=url_prefix or None)
    mount = url_prefix.rstrip("/")
    for method, uri, operation in V3_ROUTES:
        bp.add_route(
            _v3_endpoint(state, mount, operation),
            uri,
            methods=[method],
            name=operation.__name__.lstrip("_"),
        )

    @bp.post("/sandbox/pay/complete")
    async def complete(request: Request) -> HTTPResponse:
        body = control_body(request)
        if body is None:
            return bad_control_body()
        return _complete(state, body)

    @bp.post("/sandbox/pay/refunds/settle")
    async def settle_refunds(request: Request) -> HTTPResponse:
        body = control_body(request)
        if body is None:
            return bad_control_body()
        return _settle(state, body)

    @bp.get("/sandbox/pay/notifications")
    async def notifications(request: Request) -> HTTPResponse:
        subject = request.args.get("subject")
        return json_response(
            [
                _notification_view(n)
                for n in state.notifications.values()
                if subject in (None, n.subject)
            ]
        )

    @bp.post("/sandbox/pay/notifications/<notification_id>/redeliver")
    async def redeliver(request: Request, notification_id: str) -> HTTPResponse:
        """Send one notification once more, as WeChat may: handlers must be idempotent."""
        notification = state.notifications.get(notification_id)
        if notification is None:
            return control_error(404, "sandbox.notification_not_found", "没有这条通知")
        async with httpx.AsyncClient(timeout=NOTIFY_TIMEOUT_SECONDS) as http:
            await _attempt(state, http, notification)
        return json_response(_notification_view(notification))

    @bp.listener("before_server_stop")
    async def stop_deliveries(app: Sanic) -> None:
        # Pending retries may sleep for hours: they must not hold the server up.
        pending = list(state.tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    return bp


def create_pay_sandbox_app(state: PaySandboxState, name: str = "wechat_pay_sandbox") -> Sanic:
    """The pay sandbox as a server of its own (tests run it on a loopback port)."""
    app = Sanic(name, log_config=logging_config())
    # TouchUp rewrites Sanic's HTTP module once per process: leave that to the API app that
    # shares the process in tests.
    app.config.TOUCHUP = False
    app.blueprint(create_pay_sandbox_blueprint(state))
    return app
