"""A local stand-in for WeChat's servers, speaking the same wire protocol.

The real wechatpy client talks to it over HTTP, so our request, error and retry code runs in
tests and in the demo exactly as in production. Part 1: access token, code2session and the
phone-number API, with WeChat's error codes for invalid, used and expired codes.

Besides WeChat's own endpoints it has `/sandbox/...` endpoints that play the phone's part:
they hand out the one-time codes that `wx.login` and the getPhoneNumber button would.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from backend.infra.logging import logging_config

# WeChat's own error codes and messages.
INVALID_CREDENTIAL = (40001, "invalid credential, access_token is invalid or not latest")
INVALID_APPID = (40013, "invalid appid")
INVALID_CODE = (40029, "invalid code")
INVALID_APPSECRET = (40125, "invalid appsecret")
CODE_BEEN_USED = (40163, "code been used")
MISSING_CODE = (41008, "missing code")
INVALID_ARGS = (47001, "data format error")

CODE_TTL_SECONDS = 300  # wx.login codes are valid for five minutes
ACCESS_TOKEN_TTL_SECONDS = 7200


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
    clock: object = time.time

    def now(self) -> float:
        return float(self.clock())  # type: ignore[operator]


def openid_for(appid: str, persona: str) -> str:
    """Stable per app and person, as WeChat's openids are."""
    return "o" + hashlib.sha256(f"{appid}:{persona}".encode()).hexdigest()[:27]


def unionid_for(persona: str) -> str:
    return "u" + hashlib.sha256(f"union:{persona}".encode()).hexdigest()[:27]


def _error(pair: tuple[int, str]) -> HTTPResponse:
    # WeChat answers errors with HTTP 200 and an errcode in the body.
    return json({"errcode": pair[0], "errmsg": pair[1]})


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
                "openid": openid_for(appid, issued.value),
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

    # The phone's side: what wx.login and the getPhoneNumber button would hand the mini-program.
    @bp.post("/sandbox/login-code")
    async def issue_login_code(request: Request) -> HTTPResponse:
        body = request.json or {}
        appid, persona = str(body.get("appid", "")), str(body.get("persona", ""))
        if appid not in state.apps or not persona:
            return json({"error": "appid and persona are required"}, status=400)
        code = secrets.token_urlsafe(24)
        state.login_codes[code] = _IssuedCode(appid, persona, state.now())
        return json({"code": code, "openid": openid_for(appid, persona)})

    @bp.post("/sandbox/phone-code")
    async def issue_phone_code(request: Request) -> HTTPResponse:
        body = request.json or {}
        appid, phone = str(body.get("appid", "")), str(body.get("phone", ""))
        if appid not in state.apps or not phone.isdigit():
            return json({"error": "appid and a numeric phone are required"}, status=400)
        code = secrets.token_urlsafe(24)
        state.phone_codes[code] = _IssuedCode(appid, phone, state.now())
        return json({"code": code})

    return bp


def create_sandbox_app(state: SandboxState, name: str = "wechat_sandbox") -> Sanic:
    """The sandbox as a server of its own (tests run it on a loopback port)."""
    app = Sanic(name, log_config=logging_config())
    # TouchUp rewrites Sanic's HTTP module once per process: leave that to the API app that
    # shares the process in tests.
    app.config.TOUCHUP = False
    app.blueprint(create_sandbox_blueprint(state))
    return app
