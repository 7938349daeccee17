"""A local stand-in for WeChat's servers, speaking the same wire protocol.

The real wechatpy client talks to it over HTTP, so our request, error and retry code runs in
tests and in the demo exactly as in production. Part 1: access token, code2session and the
phone-number API, with WeChat's error codes for invalid, used and expired codes; the
content-security check; subscribe messages (订阅消息), checked against registered templates
and the user's one-time grants, and kept in `SandboxState.sent_messages`.

Besides WeChat's own endpoints it has `/sandbox/...` endpoints that play the phone's part:
they hand out the one-time codes that `wx.login` and the getPhoneNumber button would, and
the grants a user gives by accepting `wx.requestSubscribeMessage`.
"""

from __future__ import annotations

import hashlib
import json as jsonlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from backend.infra.logging import logging_config

# WeChat's own error codes and messages.
INVALID_CREDENTIAL = (40001, "invalid credential, access_token is invalid or not latest")
INVALID_OPENID = (40003, "invalid openid")
INVALID_APPID = (40013, "invalid appid")
INVALID_CODE = (40029, "invalid code")
INVALID_TEMPLATE_ID = (40037, "invalid template_id")
INVALID_APPSECRET = (40125, "invalid appsecret")
CODE_BEEN_USED = (40163, "code been used")
MISSING_CODE = (41008, "missing code")
USER_REFUSED = (43101, "user refuse to accept the msg")
INVALID_ARGS = (47001, "data format error")
INVALID_TEMPLATE_DATA = (47003, "argument invalid!")

CODE_TTL_SECONDS = 300  # wx.login codes are valid for five minutes
ACCESS_TOKEN_TTL_SECONDS = 7200

# The subscribe-message templates the platform uses, as a mini-program's account would have
# them added (template id -> its keywords in order). The platform's settings default to
# these ids, so the embedded default and the tests send to templates the sandbox knows.
COMPLAINT_UPDATE_TEMPLATE_ID = "b2bcSandboxComplaintProgress01"
LIVE_REMINDER_TEMPLATE_ID = "b2bcSandboxLiveReminder01"
DISPLAY_REMINDER_TEMPLATE_ID = "b2bcSandboxDisplayReminder01"
REORDER_REMINDER_TEMPLATE_ID = "b2bcSandboxReorderReminder01"
DEFAULT_SUBSCRIBE_TEMPLATES: dict[str, tuple[str, ...]] = {
    # 投诉编号, 处理状态, 说明, 时间
    COMPLAINT_UPDATE_TEMPLATE_ID: ("character_string1", "phrase2", "thing3", "time4"),
    # 直播主题, 开播时间, 主办方
    LIVE_REMINDER_TEMPLATE_ID: ("thing1", "time2", "thing3"),
    # 活动名称, 截止时间, 温馨提示
    DISPLAY_REMINDER_TEMPLATE_ID: ("thing1", "time2", "thing3"),
    # 商品名称, 上次订货时间, 温馨提示
    REORDER_REMINDER_TEMPLATE_ID: ("thing1", "time2", "thing3"),
}
_TIME = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}:\d{2}(:\d{2})?"
)

# A phone number as WeChat gives it: ASCII digits only (str.isdigit would take full-width ones).
ASCII_DIGITS = re.compile(r"[0-9]+")


def _chinese(value: str) -> bool:
    return all("\u4e00" <= char <= "\u9fff" for char in value)


# What WeChat accepts in a keyword's value, by the keyword's kind (its name without the
# number): the length and character rules of the subscribe-message documentation.
KEYWORD_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: len(v) <= 5 and _chinese(v),
    "character_string": lambda v: len(v) <= 32 and v.isascii() and v.isprintable(),
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"-?\d+(\.\d+)?", v) is not None,
    "letter": lambda v: len(v) <= 32 and v.isascii() and v.isalpha(),
    "symbol": lambda v: len(v) <= 5,
    "time": lambda v: _TIME.fullmatch(v) is not None,
    "date": lambda v: _TIME.fullmatch(v) is not None,
    "amount": lambda v: len(v) <= 11 and re.fullmatch(r"[¥$]?\d+(\.\d{1,2})?元?", v) is not None,
    "phone_number": lambda v: len(v) <= 17 and re.fullmatch(r"[\d+\- ]+", v) is not None,
    "car_number": lambda v: len(v) <= 8,
    "name": lambda v: len(v) <= (20 if v.isascii() else 10),
}


@dataclass
class _IssuedCode:
    appid: str
    value: str  # the persona (login codes) or the phone number (phone codes)
    issued_at: float
    used: bool = False


@dataclass
class SandboxState:
    apps: dict[str, str] = field(default_factory=dict)  # appid -> secret
    login_codes: dict[str, _IssuedCode] = field(default_factory=dict)
    phone_codes: dict[str, _IssuedCode] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> appid
    # Text that msg_sec_check flags: words judged risky, and words sent to review.
    risky_words: tuple[str, ...] = ("赌博", "毒品", "枪支")
    review_words: tuple[str, ...] = ("加微信", "返现群")
    # The openids code2session has handed each app (openid -> appid): only these can be sent
    # subscribe messages.
    openids: dict[str, str] = field(default_factory=dict)
    # Subscribe-message templates the apps may send (template id -> keyword names).
    subscribe_templates: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_SUBSCRIBE_TEMPLATES)
    )
    # Messages each user allowed by accepting wx.requestSubscribeMessage, one per accept:
    # (appid, openid, template id) -> how many are left. Sending one spends one.
    subscribe_grants: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # Every subscribe message sent, as WeChat received it (appid, touser, template_id, page,
    # data as keyword -> value, miniprogram_state, lang, sent_at), for tests to read.
    sent_messages: list[dict[str, object]] = field(default_factory=list)
    clock: object = time.time

    def now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def issue_openid(self, appid: str, persona: str) -> str:
        """The person's openid in the app, remembered as handed to it."""
        openid = openid_for(appid, persona)
        self.openids[openid] = appid
        return openid


def openid_for(appid: str, persona: str) -> str:
    """Stable per app and person, as WeChat's openids are."""
    return "o" + hashlib.sha256(f"{appid}:{persona}".encode()).hexdigest()[:27]


def unionid_for(persona: str) -> str:
    return "u" + hashlib.sha256(f"union:{persona}".encode()).hexdigest()[:27]


def _error(pair: tuple[int, str]) -> HTTPResponse:
    # WeChat answers errors with HTTP 200 and an errcode in the body.
    return json({"errcode": pair[0], "errmsg": pair[1]})


def control_error(status: int, code: str, message: str, details: object = None) -> HTTPResponse:
    """An error from one of the sandbox's own `/sandbox/...` endpoints (the phone's and the
    payer's part). Those are ours, not WeChat's, so they answer in the platform's error shape,
    which the README's examples and the mini-program's helpers read; WeChat's own endpoints
    keep WeChat's errcode/errmsg (or WeChat Pay's code/message) wire format."""
    return json({"error": {"code": code, "message": message, "details": details}}, status=status)


def control_body(request: Request) -> dict[str, object] | None:
    """The JSON object a `/sandbox/...` endpoint was sent; None when the body is not one."""
    if not request.body:
        return {}
    try:
        body = jsonlib.loads(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def bad_control_body() -> HTTPResponse:
    return control_error(400, "sandbox.bad_request", "请求体须为JSON对象")


def _redeem(
    codes: dict[str, _IssuedCode], code: str, appid: str, now: float
) -> _IssuedCode | tuple[int, str]:
    issued = codes.get(code)
    if issued is None or issued.appid != appid or now - issued.issued_at > CODE_TTL_SECONDS:
        return INVALID_CODE
    if issued.used:
        return CODE_BEEN_USED
    issued.used = True
    return issued


def _verdict(state: SandboxState, content: str) -> tuple[str, int]:
    """msg_sec_check's suggestion and label for a text, by the sandbox's word lists."""
    if any(word in content for word in state.risky_words):
        return "risky", 20006  # 违法犯罪
    if any(word in content for word in state.review_words):
        return "review", 21000  # 其他
    return "pass", 100


def _template_problem(keywords: tuple[str, ...], data: object) -> str | None:
    """Why `data` does not fill the template (WeChat's 47003), or None: exactly the
    template's keywords, each {"value": text} within its kind's rules."""
    if not isinstance(data, dict) or set(data) != set(keywords):
        return "data keywords do not match the template"
    for keyword in keywords:
        entry = data[keyword]
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value:
            return f"data.{keyword}.value is empty"
        rule = KEYWORD_RULES.get(keyword.rstrip("0123456789"))
        if rule is None or not rule(value):
            return f"data.{keyword}.value invalid"
    return None


def _send_refusal(state: SandboxState, appid: str, body: object) -> tuple[int, str] | None:
    """WeChat's refusal of a subscribe message, in the order it checks, or None."""
    if not isinstance(body, dict):
        return INVALID_ARGS
    openid, template_id = body.get("touser"), body.get("template_id")
    if not isinstance(openid, str) or state.openids.get(openid) != appid:
        return INVALID_OPENID
    if not isinstance(template_id, str) or template_id not in state.subscribe_templates:
        return INVALID_TEMPLATE_ID
    problem = _template_problem(state.subscribe_templates[template_id], body.get("data"))
    if problem:
        return (INVALID_TEMPLATE_DATA[0], f"{INVALID_TEMPLATE_DATA[1]} {problem}")
    if state.subscribe_grants.get((appid, openid, template_id), 0) <= 0:
        return USER_REFUSED
    return None


def _add_subscribe_messages(
    bp: Blueprint, state: SandboxState, token_app: Callable[[Request], str | None]
) -> None:
    """subscribeMessage.send, and the phone's side of it: the user accepting
    wx.requestSubscribeMessage."""

    @bp.post("/cgi-bin/message/subscribe/send")
    async def send_subscribe_message(request: Request) -> HTTPResponse:
        appid = token_app(request)
        if appid is None:
            return _error(INVALID_CREDENTIAL)
        body = request.json or {} if request.body else {}
        refusal = _send_refusal(state, appid, body)
        if refusal:
            return _error(refusal)
        openid, template_id = body["touser"], body["template_id"]
        state.subscribe_grants[(appid, openid, template_id)] -= 1  # one accept, one message
        state.sent_messages.append(
            {
                "appid": appid,
                "touser": openid,
                "template_id": template_id,
                "page": body.get("page"),
                "data": {key: entry["value"] for key, entry in body["data"].items()},
                "miniprogram_state": body.get("miniprogram_state", "formal"),
                "lang": body.get("lang", "zh_CN"),
                "sent_at": state.now(),
            }
        )
        return json({"errcode": 0, "errmsg": "ok", "msgid": secrets.randbits(63)})

    @bp.post("/sandbox/subscribe-grant")
    async def grant_subscriptions(request: Request) -> HTTPResponse:
        """The user accepting wx.requestSubscribeMessage for these templates: one message of
        each allowed. Answers as the mini-program's success callback would."""
        body = control_body(request)
        if body is None:
            return bad_control_body()
        appid = str(body.get("appid", ""))
        persona, openid = body.get("persona"), body.get("openid")
        template_ids = body.get("template_ids")
        if persona:
            openid = openid_for(appid, str(persona))
        if appid not in state.apps or not isinstance(openid, str) or not openid:
            return control_error(
                400, "sandbox.identity_required", "须提供已登记的 appid，以及 persona 或 openid"
            )
        if (
            not isinstance(template_ids, list)
            or not 1 <= len(template_ids) <= 3
            or not all(isinstance(t, str) for t in template_ids)
        ):
            return control_error(
                400, "sandbox.bad_template_ids", "template_ids 须为 1 到 3 个模板 id"
            )
        unknown = [t for t in template_ids if t not in state.subscribe_templates]
        if unknown:
            # requestSubscribeMessage fails whole on an id the account has not added (20001).
            return control_error(
                400,
                "sandbox.unknown_template",
                "存在未添加到小程序的订阅消息模板",
                {"template_ids": unknown, "errCode": 20001},
            )
        for template_id in template_ids:
            grant = (appid, openid, template_id)
            state.subscribe_grants[grant] = state.subscribe_grants.get(grant, 0) + 1
        return json(
            {
                "openid": openid,
                "errMsg": "requestSubscribeMessage:ok",
                **{template_id: "accept" for template_id in template_ids},
            }
        )


def _add_phone_side(bp: Blueprint, state: SandboxState) -> None:
    """What wx.login and the getPhoneNumber button would hand the mini-program."""

    def issue(
        request: Request,
        codes: dict[str, _IssuedCode],
        name: str,
        valid: Callable[[str], bool],
        refusal: tuple[str, str],
    ) -> HTTPResponse | tuple[str, str]:
        """A one-time code for `name` (a persona or a phone), or the refusal as an answer."""
        body = control_body(request)
        if body is None:
            return bad_control_body()
        appid, value = str(body.get("appid", "")), str(body.get(name, ""))
        if appid not in state.apps or not valid(value):
            return control_error(400, *refusal)
        code = secrets.token_urlsafe(24)
        codes[code] = _IssuedCode(appid, value, state.now())
        return code, openid_for(appid, value)

    @bp.post("/sandbox/login-code")
    async def issue_login_code(request: Request) -> HTTPResponse:
        issued = issue(
            request,
            state.login_codes,
            "persona",
            bool,
            ("sandbox.identity_required", "须提供已登记的 appid 和 persona"),
        )
        if isinstance(issued, HTTPResponse):
            return issued
        return json({"code": issued[0], "openid": issued[1]})

    @bp.post("/sandbox/phone-code")
    async def issue_phone_code(request: Request) -> HTTPResponse:
        issued = issue(
            request,
            state.phone_codes,
            "phone",
            lambda phone: ASCII_DIGITS.fullmatch(phone) is not None,
            ("sandbox.phone_required", "须提供已登记的 appid 和纯数字手机号"),
        )
        if isinstance(issued, HTTPResponse):
            return issued
        return json({"code": issued[0]})


def create_sandbox_blueprint(state: SandboxState, url_prefix: str = "") -> Blueprint:
    bp = Blueprint(f"wechat_sandbox{abs(hash(url_prefix))}", url_prefix=url_prefix or None)

    def app_ok(appid: str, secret: str) -> tuple[int, str] | None:
        if appid not in state.apps:
            return INVALID_APPID
        if state.apps[appid] != secret:
            return INVALID_APPSECRET
        return None

    def token_app(request: Request) -> str | None:
        token = request.args.get("access_token", "")
        entry = state.access_tokens.get(token)
        if entry is None or entry[1] < state.now():
            return None
        return entry[0]

    @bp.get("/cgi-bin/token")
    async def access_token(request: Request) -> HTTPResponse:
        appid, secret = request.args.get("appid", ""), request.args.get("secret", "")
        problem = app_ok(appid, secret)
        if problem:
            return _error(problem)
        token = secrets.token_urlsafe(32)
        state.access_tokens[token] = (appid, state.now() + ACCESS_TOKEN_TTL_SECONDS)
        return json({"access_token": token, "expires_in": ACCESS_TOKEN_TTL_SECONDS})

    @bp.get("/sns/jscode2session")
    async def code2session(request: Request) -> HTTPResponse:
        appid, secret = request.args.get("appid", ""), request.args.get("secret", "")
        problem = app_ok(appid, secret)
        if problem:
            return _error(problem)
        code = request.args.get("js_code", "")
        if not code:
            return _error(MISSING_CODE)
        issued = _redeem(state.login_codes, code, appid, state.now())
        if isinstance(issued, tuple):
            return _error(issued)
        return json(
            {
                "openid": state.issue_openid(appid, issued.value),
                "session_key": secrets.token_urlsafe(16),
                "unionid": unionid_for(issued.value),
            }
        )

    @bp.post("/wxa/business/getuserphonenumber")
    async def phone_number(request: Request) -> HTTPResponse:
        appid = token_app(request)
        if appid is None:
            return _error(INVALID_CREDENTIAL)
        code = (request.json or {}).get("code", "") if request.body else ""
        if not code:
            return _error(MISSING_CODE)
        issued = _redeem(state.phone_codes, code, appid, state.now())
        if isinstance(issued, tuple):
            return _error(issued)
        return json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": issued.value,
                    "purePhoneNumber": issued.value,
                    "countryCode": "86",
                    "watermark": {"timestamp": int(state.now()), "appid": appid},
                },
            }
        )

    @bp.post("/wxa/msg_sec_check")
    async def text_check(request: Request) -> HTTPResponse:
        appid = token_app(request)
        if appid is None:
            return _error(INVALID_CREDENTIAL)
        body = request.json or {} if request.body else {}
        content, openid = body.get("content"), body.get("openid")
        if body.get("version") != 2 or not isinstance(content, str) or not openid:
            return _error(INVALID_ARGS)
        suggest, label = _verdict(state, content)
        return json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "result": {"suggest": suggest, "label": label},
                "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest}],
                "trace_id": secrets.token_hex(12),
            }
        )

    _add_phone_side(bp, state)
    _add_subscribe_messages(bp, state, token_app)
    return bp


def create_sandbox_app(state: SandboxState, name: str = "wechat_sandbox") -> Sanic:
    """The sandbox as a server of its own (tests run it on a loopback port)."""
    app = Sanic(name, log_config=logging_config())
    # TouchUp rewrites Sanic's HTTP module once per process: leave that to the API app that
    # shares the process in tests.
    app.config.TOUCHUP = False
    app.blueprint(create_sandbox_blueprint(state))
    return app
