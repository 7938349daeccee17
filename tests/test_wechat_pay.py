"""WeChat Pay v3 (service-provider mode): our real client against the real sandbox over HTTP.

Nothing is patched: requests are signed with the merchant key and verified by the sandbox,
answers and notifications are signed with the platform key and verified by the client, and
notifications reach a small receiver on its own loopback port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sanic import Sanic

from backend.integrations.wechat.pay import (
    Notification,
    NotificationRejected,
    SandboxKeys,
    WechatPayClient,
    WechatPayError,
    WechatPaySettings,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    generate_sandbox_keys,
    load_private_key,
    load_public_key,
    rsa_sign,
    rsa_verify,
    sandbox_settings,
    signature_message,
)
from backend.integrations.wechat.sandbox.pay import (
    RETRY_SCHEDULE_SECONDS,
    PaySandboxState,
    create_pay_sandbox_app,
    create_pay_sandbox_blueprint,
)
from tests.conftest import ThreadedServer, free_port

SP_MCHID = "1900000100"
SP_APPID = "wxsp0000000000001"
SUB_MCHID = "1900000109"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
RETRY_SCALE = 0.001  # WeChat's 15 s first retry becomes 15 ms
T = TypeVar("T")


@dataclasses.dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def notification_id(self) -> str:
        return str(json.loads(self.body)["id"])


class Receiver:
    """Our notify URL's stand-in: records every delivery and answers 500 when told to."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failures_left: dict[str, int] = {}  # path -> how many more times to answer 500
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        with self._lock:
            failing = self.failures_left.get(scope["path"], 0) > 0
            if failing:
                self.failures_left[scope["path"]] -= 1
            status = 500 if failing else 200
            headers = {name.decode(): value.decode() for name, value in scope["headers"]}
            self.received.append(Received(scope["path"], headers, body, status))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def deliveries(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.path == path]


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    """Overrides the suite's per-test reset: these tests use no database, Redis or API app."""


@pytest.fixture(scope="module")
def keys() -> SandboxKeys:
    return generate_sandbox_keys()


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with ThreadedServer(app) as server:
        yield app, server.url


@pytest.fixture(scope="module")
def pay_state(keys: SandboxKeys) -> PaySandboxState:
    return PaySandboxState(keys=keys, sp_mchid=SP_MCHID, sp_appid=SP_APPID, retry_scale=RETRY_SCALE)


@pytest.fixture(scope="module")
def pay_sandbox(pay_state: PaySandboxState) -> Iterator[str]:
    with ThreadedServer(create_pay_sandbox_app(pay_state, name="test_pay_sandbox")) as server:
        yield server.url


@pytest.fixture(scope="module")
def settings(
    keys: SandboxKeys, pay_sandbox: str, receiver: tuple[Receiver, str]
) -> WechatPaySettings:
    return sandbox_settings(
        keys,
        sp_appid=SP_APPID,
        sp_mchid=SP_MCHID,
        api_base_url=pay_sandbox,
        notify_url=f"{receiver[1]}/pay/notify",
        refund_notify_url=f"{receiver[1]}/pay/refund-notify",
    )


@pytest.fixture(scope="module")
def pay(settings: WechatPaySettings) -> WechatPayClient:
    return WechatPayClient(settings)


@pytest.fixture
async def payer(pay_sandbox: str) -> AsyncIterator[httpx.AsyncClient]:
    """The sandbox's /sandbox endpoints: the store owner's phone and the bank."""
    async with httpx.AsyncClient(base_url=pay_sandbox) as http:
        yield http


def new_out_no(prefix: str = "T") -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


async def eventually(check: Callable[[], Awaitable[T | None]]) -> T:
    """Poll until `check` returns something truthy (deliveries and settlements are async)."""
    # Polling, not an Event: what we wait for happens in another server's thread.
    async with asyncio.timeout(5):
        while True:
            if result := await check():
                return result
            await asyncio.sleep(0.02)


async def outbox(payer: httpx.AsyncClient, subject: str) -> list[dict[str, Any]]:
    """The sandbox's record of the notifications about one order or refund."""
    response = await payer.get("/sandbox/pay/notifications", params={"subject": subject})
    return list(response.json())


async def prepay(pay: WechatPayClient, out_trade_no: str, amount_fen: int = 1000) -> dict[str, str]:
    return await pay.prepay_jsapi(
        sub_mchid=SUB_MCHID,
        out_trade_no=out_trade_no,
        description="门店订货单",
        amount_fen=amount_fen,
        payer_openid=OPENID,
        expire_at=datetime.now(UTC) + timedelta(minutes=30),
    )


async def paid_order(
    pay: WechatPayClient,
    payer: httpx.AsyncClient,
    amount_fen: int = 1000,
    reported: dict[str, int] | None = None,
) -> str:
    """An order paid through the sandbox; `reported` overrides the amounts WeChat reports."""
    out_trade_no = new_out_no()
    await prepay(pay, out_trade_no, amount_fen)
    response = await payer.post(
        "/sandbox/pay/complete", json={"out_trade_no": out_trade_no, **(reported or {})}
    )
    assert response.status_code == 200, response.text
    return out_trade_no


async def notification_for(
    pay: WechatPayClient, receiver: Receiver, path: str, key: str, value: str
) -> tuple[Received, Notification]:
    """Wait for the delivery to `path` whose decrypted resource has resource[key] == value."""

    async def find() -> tuple[Received, Notification] | None:
        for item in receiver.deliveries(path):
            if item.answered != 200:
                continue
            parsed = pay.parse_notification(item.headers, item.body)
            if parsed.resource.get(key) == value:
                return item, parsed
        return None

    return await eventually(find)


def sign_as_platform(keys: SandboxKeys, body: bytes, timestamp: int) -> dict[str, str]:
    nonce = uuid.uuid4().hex
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": rsa_sign(
            load_private_key(keys.platform_private_key),
            signature_message(str(timestamp), nonce, body.decode()),
        ),
        "Wechatpay-Serial": keys.platform_public_key_id,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


# --- pure helpers -----------------------------------------------------------------------------


def test_aes_gcm_round_trip_and_tamper() -> None:
    key = "0123456789abcdef0123456789abcdef"
    ciphertext = aes_gcm_encrypt(key, "abcdefabcdef", "支付成功".encode(), "transaction")
    assert aes_gcm_decrypt(key, "abcdefabcdef", ciphertext, "transaction").decode() == "支付成功"
    with pytest.raises(InvalidTag):
        aes_gcm_decrypt(key, "abcdefabcdef", ciphertext, "refund")
    with pytest.raises(InvalidTag):
        aes_gcm_decrypt(key[::-1], "abcdefabcdef", ciphertext, "transaction")


def test_signature_message_and_rsa(keys: SandboxKeys) -> None:
    assert signature_message("GET", "/v3/x", "1", "n", "") == b"GET\n/v3/x\n1\nn\n\n"
    message = signature_message("a", "b")
    signature = rsa_sign(load_private_key(keys.merchant_private_key), message)
    assert rsa_verify(load_public_key(keys.merchant_public_key), message, signature)
    assert not rsa_verify(load_public_key(keys.platform_public_key), message, signature)
    assert not rsa_verify(load_public_key(keys.merchant_public_key), message, "not base64!")


# --- prepay and payment -----------------------------------------------------------------------


async def test_prepay_returns_signed_request_payment_params(
    pay: WechatPayClient, keys: SandboxKeys
) -> None:
    params = await prepay(pay, new_out_no())
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign", "prepay_id"}
    assert params["package"] == f"prepay_id={params['prepay_id']}"
    assert params["signType"] == "RSA"
    assert abs(int(params["timeStamp"]) - time.time()) < 60
    message = signature_message(
        SP_APPID, params["timeStamp"], params["nonceStr"], params["package"]
    )
    assert rsa_verify(load_public_key(keys.merchant_public_key), message, params["paySign"])


async def test_prepay_is_idempotent_for_the_same_order(pay: WechatPayClient) -> None:
    out_trade_no = new_out_no()
    first = await prepay(pay, out_trade_no)
    again = await prepay(pay, out_trade_no)
    assert again["prepay_id"] == first["prepay_id"]
    assert again["paySign"] != first["paySign"]  # a fresh nonce, signed afresh
    with pytest.raises(WechatPayError) as changed:
        await prepay(pay, out_trade_no, amount_fen=999)
    assert (changed.value.status, changed.value.code) == (400, "INVALID_REQUEST")


async def test_prepay_is_validated_like_wechat(pay: WechatPayClient) -> None:
    with pytest.raises(WechatPayError) as zero:
        await prepay(pay, new_out_no(), amount_fen=0)
    assert (zero.value.status, zero.value.code) == (400, "PARAM_ERROR")
    with pytest.raises(WechatPayError) as short:
        await prepay(pay, "T123")
    assert short.value.code == "PARAM_ERROR"
    with pytest.raises(WechatPayError) as bad_sub:
        await pay.prepay_jsapi(
            sub_mchid="19x",
            out_trade_no=new_out_no(),
            description="x",
            amount_fen=1,
            payer_openid=OPENID,
            expire_at=datetime.now(UTC) + timedelta(minutes=5),
        )
    assert bad_sub.value.code == "PARAM_ERROR"
    with pytest.raises(ValueError, match="time zone"):
        await pay.prepay_jsapi(
            sub_mchid=SUB_MCHID,
            out_trade_no=new_out_no(),
            description="x",
            amount_fen=1,
            payer_openid=OPENID,
            expire_at=datetime.now(),  # naive: WeChat times need a zone
        )


async def test_query_then_pay_then_notification(
    pay: WechatPayClient, payer: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    out_trade_no = new_out_no()
    await prepay(pay, out_trade_no, amount_fen=2590)
    unpaid = await pay.query(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)
    assert (unpaid.trade_state, unpaid.amount_total_fen, unpaid.transaction_id) == (
        "NOTPAY",
        2590,
        None,
    )

    response = await payer.post("/sandbox/pay/complete", json={"out_trade_no": out_trade_no})
    transaction_id = response.json()["transaction_id"]
    paid = await pay.query(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)
    assert paid.trade_state == "SUCCESS"
    assert paid.transaction_id == transaction_id
    assert (paid.amount_total_fen, paid.payer_total_fen) == (2590, 2590)
    assert (paid.sp_mchid, paid.sub_mchid) == (SP_MCHID, SUB_MCHID)
    assert paid.success_time is not None and paid.success_time.tzinfo is not None

    _, notification = await notification_for(
        pay, receiver[0], "/pay/notify", "out_trade_no", out_trade_no
    )
    assert notification.id == response.json()["notification_id"]
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.resource["payer"] == {"sp_openid": OPENID}
    assert notification.transaction() == paid


async def test_reported_amounts_can_differ_from_the_order(
    pay: WechatPayClient, payer: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    out_trade_no = await paid_order(pay, payer, 1000, {"amount_fen": 1, "payer_total_fen": 900})
    _, notification = await notification_for(
        pay, receiver[0], "/pay/notify", "out_trade_no", out_trade_no
    )
    reported = notification.transaction()
    assert (reported.amount_total_fen, reported.payer_total_fen) == (1, 900)


async def test_paying_twice_or_prepaying_a_paid_order_is_refused(
    pay: WechatPayClient, payer: httpx.AsyncClient
) -> None:
    out_trade_no = await paid_order(pay, payer)
    again = await payer.post("/sandbox/pay/complete", json={"out_trade_no": out_trade_no})
    assert again.status_code == 409
    with pytest.raises(WechatPayError) as paid:
        await prepay(pay, out_trade_no)
    assert (paid.value.status, paid.value.code) == (400, "ORDERPAID")


# --- notifications: forgeries, retries, replays ----------------------------------------------


def _forge(keys: SandboxKeys, item: Received, how: str) -> tuple[dict[str, str], bytes]:
    headers, body = dict(item.headers), item.body
    now = int(time.time())
    if how == "tampered body":
        envelope = json.loads(body)
        envelope["event_type"] = "REFUND.SUCCESS"
        body = json.dumps(envelope).encode()
    elif how == "wrong signature":
        other = generate_sandbox_keys()
        headers = sign_as_platform(
            dataclasses.replace(keys, platform_private_key=other.platform_private_key), body, now
        )
    elif how == "wrong serial":
        headers = {**sign_as_platform(keys, body, now), "Wechatpay-Serial": "PUB_KEY_ID_0000"}
    elif how == "stale timestamp":
        headers = sign_as_platform(keys, body, now - 301)
    elif how == "probe signature":
        headers = {
            **sign_as_platform(keys, body, now),
            "Wechatpay-Signature": "WECHATPAY/SIGNTEST/abc",
        }
    elif how == "missing headers":
        headers = {}
    elif how == "wrong apiv3 key":
        # Signed by the platform, but encrypted under another key: cannot be read.
        envelope = json.loads(body)
        envelope["resource"]["ciphertext"] = aes_gcm_encrypt(
            "f" * 32, envelope["resource"]["nonce"], b"{}", envelope["resource"]["associated_data"]
        )
        body = json.dumps(envelope).encode()
        headers = sign_as_platform(keys, body, now)
    return headers, body


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("tampered body", "signature"),
        ("wrong signature", "signature"),
        ("probe signature", "signature"),
        ("wrong serial", "platform key"),
        ("stale timestamp", "5 minutes"),
        ("missing headers", "missing"),
        ("wrong apiv3 key", "decrypted"),
    ],
)
async def test_forged_notifications_are_rejected(
    pay: WechatPayClient,
    payer: httpx.AsyncClient,
    receiver: tuple[Receiver, str],
    keys: SandboxKeys,
    how: str,
    reason: str,
) -> None:
    out_trade_no = await paid_order(pay, payer)
    item, _ = await notification_for(pay, receiver[0], "/pay/notify", "out_trade_no", out_trade_no)
    headers, body = _forge(keys, item, how)
    with pytest.raises(NotificationRejected, match=reason):
        pay.parse_notification(headers, body)


async def test_fresh_notification_signed_by_the_platform_is_accepted(
    pay: WechatPayClient,
    payer: httpx.AsyncClient,
    receiver: tuple[Receiver, str],
    keys: SandboxKeys,
) -> None:
    # The control for the forgeries above: the same re-signing, done right, passes.
    out_trade_no = await paid_order(pay, payer)
    item, original = await notification_for(
        pay, receiver[0], "/pay/notify", "out_trade_no", out_trade_no
    )
    headers = sign_as_platform(keys, item.body, int(time.time()) - 200)
    assert pay.parse_notification(headers, item.body) == original


async def test_unanswered_notifications_are_retried_on_wechats_schedule(
    settings: WechatPaySettings,
    payer: httpx.AsyncClient,
    receiver: tuple[Receiver, str],
) -> None:
    app, url = receiver
    path = f"/flaky/{uuid.uuid4().hex}"
    app.failures_left[path] = 2
    flaky = WechatPayClient(dataclasses.replace(settings, notify_url=url + path))
    out_trade_no = await paid_order(flaky, payer)

    async def delivered() -> dict[str, Any] | None:
        entry = (await outbox(payer, out_trade_no))[0]
        return entry if entry["delivered"] else None

    entry = await eventually(delivered)
    assert [attempt["status"] for attempt in entry["attempts"]] == [500, 500, 200]
    gaps = [
        b["at"] - a["at"] for a, b in zip(entry["attempts"], entry["attempts"][1:], strict=False)
    ]
    assert all(
        gap >= seconds * RETRY_SCALE
        for gap, seconds in zip(gaps, RETRY_SCHEDULE_SECONDS, strict=False)
    )
    assert [item.answered for item in app.deliveries(path)] == [500, 500, 200]
    assert len({item.notification_id for item in app.deliveries(path)}) == 1

    # A replay: the same notification once more, freshly signed, still valid.
    replay = await payer.post(f"/sandbox/pay/notifications/{entry['id']}/redeliver")
    assert [attempt["status"] for attempt in replay.json()["attempts"]] == [500, 500, 200, 200]
    first, last = app.deliveries(path)[-2], app.deliveries(path)[-1]
    assert flaky.parse_notification(last.headers, last.body) == flaky.parse_notification(
        first.headers, first.body
    )


async def test_unreachable_notify_url_is_recorded(
    settings: WechatPaySettings, payer: httpx.AsyncClient
) -> None:
    dead = WechatPayClient(
        dataclasses.replace(settings, notify_url=f"http://127.0.0.1:{free_port()}/notify")
    )
    out_trade_no = await paid_order(dead, payer)

    async def retried() -> list[dict[str, Any]] | None:
        attempts = (await outbox(payer, out_trade_no))[0]["attempts"]
        return attempts if len(attempts) >= 2 else None

    attempts = await eventually(retried)
    assert attempts[0]["status"] is None and "Connect" in attempts[0]["error"]


# --- trust: signatures both ways, network ----------------------------------------------------


async def test_wrong_merchant_key_is_refused_with_sign_error(settings: WechatPaySettings) -> None:
    impostor = WechatPayClient(
        dataclasses.replace(
            settings, merchant_private_key=generate_sandbox_keys().merchant_private_key
        )
    )
    with pytest.raises(WechatPayError) as refused:
        await prepay(impostor, new_out_no())
    assert (refused.value.status, refused.value.code) == (401, "SIGN_ERROR")


async def test_answers_not_signed_by_the_platform_are_not_trusted(
    settings: WechatPaySettings,
) -> None:
    fooled = WechatPayClient(
        dataclasses.replace(
            settings, platform_public_key=generate_sandbox_keys().platform_public_key
        )
    )
    with pytest.raises(WechatPayError) as untrusted:
        await prepay(fooled, new_out_no())
    assert (untrusted.value.status, untrusted.value.code) == (None, "RESPONSE_NOT_VERIFIED")


async def test_network_failure_is_a_wechat_pay_error(settings: WechatPaySettings) -> None:
    offline = WechatPayClient(
        dataclasses.replace(settings, api_base_url=f"http://127.0.0.1:{free_port()}")
    )
    with pytest.raises(WechatPayError) as failed:
        await offline.query(sub_mchid=SUB_MCHID, out_trade_no=new_out_no())
    assert (failed.value.status, failed.value.code) == (None, "NETWORK_ERROR")


# --- close and refunds -------------------------------------------------------------------------


async def test_close(pay: WechatPayClient, payer: httpx.AsyncClient) -> None:
    out_trade_no = new_out_no()
    await prepay(pay, out_trade_no)
    await pay.close(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)
    await pay.close(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)  # again: still fine
    closed = await pay.query(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)
    assert closed.trade_state == "CLOSED"
    refused = await payer.post("/sandbox/pay/complete", json={"out_trade_no": out_trade_no})
    assert refused.status_code == 409
    with pytest.raises(WechatPayError) as reopened:
        await prepay(pay, out_trade_no)
    assert reopened.value.code == "ORDER_CLOSED"

    with pytest.raises(WechatPayError) as paid:
        await pay.close(sub_mchid=SUB_MCHID, out_trade_no=await paid_order(pay, payer))
    assert (paid.value.status, paid.value.code) == (400, "ORDERPAID")
    with pytest.raises(WechatPayError) as missing:
        await pay.query(sub_mchid=SUB_MCHID, out_trade_no=new_out_no())
    assert (missing.value.status, missing.value.code) == (404, "ORDER_NOT_EXIST")


def _our_error(response: httpx.Response, status: int, code: str) -> None:
    """The sandbox's own control endpoints answer in the platform's error shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]


async def test_control_endpoints_answer_the_shared_error_shape(
    pay: WechatPayClient, payer: httpx.AsyncClient
) -> None:
    unknown = await payer.post("/sandbox/pay/complete", json={"out_trade_no": new_out_no()})
    _our_error(unknown, 404, "sandbox.order_not_found")
    _our_error(
        await payer.post("/sandbox/pay/complete", content=b"[1, 2"), 400, "sandbox.bad_request"
    )
    out_trade_no = new_out_no()
    await prepay(pay, out_trade_no)
    negative = await payer.post(
        "/sandbox/pay/complete", json={"out_trade_no": out_trade_no, "amount_fen": -1}
    )
    _our_error(negative, 400, "sandbox.bad_amount")
    paid = await paid_order(pay, payer)
    again = await payer.post("/sandbox/pay/complete", json={"out_trade_no": paid})
    _our_error(again, 409, "sandbox.order_not_payable")
    assert again.json()["error"]["details"] == {"trade_state": "SUCCESS"}
    settle = await payer.post("/sandbox/pay/refunds/settle", json={"status": "LATER"})
    _our_error(settle, 400, "sandbox.bad_refund_status")
    missing = await payer.post("/sandbox/pay/notifications/nope/redeliver")
    _our_error(missing, 404, "sandbox.notification_not_found")
    # WeChat Pay's own endpoints keep WeChat's wire format.
    with pytest.raises(WechatPayError) as not_there:
        await pay.query(sub_mchid=SUB_MCHID, out_trade_no=new_out_no())
    assert (not_there.value.status, not_there.value.code) == (404, "ORDER_NOT_EXIST")


async def test_partial_and_full_refunds(
    pay: WechatPayClient, payer: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    out_trade_no = await paid_order(pay, payer, 1000)

    async def refund(out_refund_no: str, refund_fen: int) -> Any:
        return await pay.refund(
            sub_mchid=SUB_MCHID,
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
            refund_fen=refund_fen,
            total_fen=1000,
            reason="缺货",
        )

    first_no, second_no = new_out_no("R"), new_out_no("R")
    first = await refund(first_no, 300)
    assert (first.status, first.refund_fen, first.out_trade_no) == ("PROCESSING", 300, out_trade_no)
    assert await refund(first_no, 300) == first  # a retried request gets the same refund
    assert (
        await pay.query_refund(sub_mchid=SUB_MCHID, out_refund_no=first_no)
    ).status == "PROCESSING"

    with pytest.raises(WechatPayError) as too_much:
        await refund(second_no, 701)
    assert (too_much.value.status, too_much.value.code) == (400, "INVALID_REQUEST")

    settled = await payer.post("/sandbox/pay/refunds/settle", json={"out_refund_no": first_no})
    assert settled.json() == {"settled": [first_no]}
    assert (await pay.query_refund(sub_mchid=SUB_MCHID, out_refund_no=first_no)).status == "SUCCESS"
    _, notification = await notification_for(
        pay, receiver[0], "/pay/refund-notify", "out_refund_no", first_no
    )
    assert notification.event_type == "REFUND.SUCCESS"
    assert notification.resource["refund_status"] == "SUCCESS"
    assert notification.resource["amount"]["refund"] == 300
    assert notification.refund() == dataclasses.replace(first, status="SUCCESS")

    rest = await refund(second_no, 700)
    assert rest.status == "PROCESSING"
    await payer.post("/sandbox/pay/refunds/settle", json={})
    assert (
        await pay.query_refund(sub_mchid=SUB_MCHID, out_refund_no=second_no)
    ).status == "SUCCESS"
    assert (await pay.query(sub_mchid=SUB_MCHID, out_trade_no=out_trade_no)).trade_state == "REFUND"
    with pytest.raises(WechatPayError) as nothing_left:
        await refund(new_out_no("R"), 1)
    assert nothing_left.value.code == "INVALID_REQUEST"
    with pytest.raises(WechatPayError) as unknown:
        await pay.query_refund(sub_mchid=SUB_MCHID, out_refund_no=new_out_no("R"))
    assert (unknown.value.status, unknown.value.code) == (404, "RESOURCE_NOT_EXISTS")


async def test_refund_of_unpaid_order_is_refused(pay: WechatPayClient) -> None:
    out_trade_no = new_out_no()
    await prepay(pay, out_trade_no)
    with pytest.raises(WechatPayError) as unpaid:
        await pay.refund(
            sub_mchid=SUB_MCHID,
            out_trade_no=out_trade_no,
            out_refund_no=new_out_no("R"),
            refund_fen=1,
            total_fen=1000,
            reason="x",
        )
    assert (unpaid.value.status, unpaid.value.code) == (400, "INVALID_REQUEST")


# --- mounted inside another app, as in the embedded default --------------------------------


@pytest.fixture(scope="module")
def mounted_sandbox(keys: SandboxKeys) -> Iterator[tuple[str, PaySandboxState]]:
    state = PaySandboxState(
        keys=keys,
        sp_mchid=SP_MCHID,
        sp_appid=SP_APPID,
        sub_mchids={SUB_MCHID},
        refund_settle_after=0.05,
    )
    app = Sanic("test_pay_sandbox_mounted")
    app.config.TOUCHUP = False
    app.blueprint(create_pay_sandbox_blueprint(state, url_prefix="/wechat-sandbox"))
    with ThreadedServer(app) as server:
        yield f"{server.url}/wechat-sandbox", state


async def test_mounted_sandbox_with_known_sub_merchants_and_auto_settled_refunds(
    settings: WechatPaySettings, mounted_sandbox: tuple[str, PaySandboxState]
) -> None:
    base, _ = mounted_sandbox
    mounted = WechatPayClient(dataclasses.replace(settings, api_base_url=base))
    out_trade_no = new_out_no()
    await prepay(mounted, out_trade_no)
    with pytest.raises(WechatPayError) as stranger:
        await mounted.query(sub_mchid="1900000999", out_trade_no=out_trade_no)
    assert stranger.value.code == "ORDER_NOT_EXIST"
    with pytest.raises(WechatPayError) as not_onboarded:
        await mounted.prepay_jsapi(
            sub_mchid="1900000999",
            out_trade_no=new_out_no(),
            description="x",
            amount_fen=1,
            payer_openid=OPENID,
            expire_at=datetime.now(UTC) + timedelta(minutes=5),
        )
    assert (not_onboarded.value.status, not_onboarded.value.code) == (400, "INVALID_REQUEST")

    async with httpx.AsyncClient(base_url=base) as sandbox:
        await sandbox.post("/sandbox/pay/complete", json={"out_trade_no": out_trade_no})
    refund_no = new_out_no("R")
    await mounted.refund(
        sub_mchid=SUB_MCHID,
        out_trade_no=out_trade_no,
        out_refund_no=refund_no,
        refund_fen=1000,
        total_fen=1000,
        reason="取消",
    )

    async def settled() -> bool:
        found = await mounted.query_refund(sub_mchid=SUB_MCHID, out_refund_no=refund_no)
        return found.status == "SUCCESS"

    await eventually(settled)  # refund_settle_after: no /sandbox/pay/refunds/settle call
