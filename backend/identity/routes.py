"""Sign-in, token refresh, identity switching and the caller's profile."""

from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity import service
from backend.identity.access import authenticated
from backend.identity.responses import Identity, Tokens
from backend.identity.tokens import Principal
from backend.infra.http import Id, RequestModel, json_body, ok, responds

bp = Blueprint("identity", url_prefix="/api/v1")


class WechatLoginBody(RequestModel):
    code: str = Field(min_length=1, max_length=128, description="wx.login() 返回的 code")


class PhoneBody(RequestModel):
    code: str = Field(min_length=1, max_length=128, description="getPhoneNumber 返回的 code")


class StaffLoginBody(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class RefreshBody(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=128)


class SwitchBody(RequestModel):
    membership_id: Id


@bp.post("/auth/wechat/login")
@openapi.summary("小程序登录：用 wx.login 的 code 换取令牌")
@responds(Tokens)
@json_body(WechatLoginBody)
async def wechat_login(request: Request, body: WechatLoginBody) -> HTTPResponse:
    pair = await service.login_with_wechat(request_deps(request), body.code)
    return ok(pair.as_dict())


@bp.post("/auth/wechat/phone")
@openapi.summary("绑定手机号（getPhoneNumber 的 code）；只有一个身份时随即切换到它")
@openapi.description(
    "手机号已绑定其他微信时 409 auth.phone_taken，不做任何改动。绑定后用户恰有一个身份且当前"
    "不在其中时，随即切换（switched: true，并带新的令牌，与 /auth/switch 相同）；有多个身份且"
    "当前未选择时 needs_switch: true，memberships 列出可选身份。"
)
@authenticated()
@json_body(PhoneBody)
async def bind_phone(request: Request, principal: Principal, body: PhoneBody) -> HTTPResponse:
    deps = request_deps(request)
    phone = await service.bind_phone(deps, principal, body.code)
    # A salesperson registered by the brand under this phone becomes this user.
    await service.PHONE_PROVEN()(principal.user_id, phone)
    return ok(await service.identity_after_phone(deps, principal, phone))


@bp.post("/auth/staff/login")
@openapi.summary("后台员工登录（用户名和密码）")
@responds(Tokens)
@json_body(StaffLoginBody)
async def staff_login(request: Request, body: StaffLoginBody) -> HTTPResponse:
    pair = await service.login_staff(
        request_deps(request), body.username, body.password, request.remote_addr or request.ip
    )
    return ok(pair.as_dict())


@bp.post("/auth/refresh")
@openapi.summary("用刷新令牌换一对新令牌（旧刷新令牌随即作废）")
@responds(Tokens)
@json_body(RefreshBody)
async def refresh(request: Request, body: RefreshBody) -> HTTPResponse:
    pair = await service.refresh(request_deps(request), body.refresh_token)
    return ok(pair.as_dict())


@bp.post("/auth/logout")
@openapi.summary("退出登录：本次登录的所有令牌立即失效")
@authenticated()
async def logout(request: Request, principal: Principal) -> HTTPResponse:
    await service.revoke_session(
        request_deps(request),
        principal.session_id,
        reason="logout",
        cache=request.app.ctx.revocations,
    )
    return ok({"ok": True})


@bp.post("/auth/switch")
@openapi.summary("切换身份（例如在多个门店之间切换）")
@responds(Tokens)
@authenticated()
@json_body(SwitchBody)
async def switch(request: Request, principal: Principal, body: SwitchBody) -> HTTPResponse:
    pair = await service.switch_membership(request_deps(request), principal, body.membership_id)
    return ok(pair.as_dict())


@bp.get("/auth/session")
@openapi.summary("当前令牌代表的身份（不查数据库）")
@responds(Identity)
@authenticated()
async def current_session(request: Request, principal: Principal) -> HTTPResponse:
    return ok(service.principal_view(principal))


@bp.get("/me")
@openapi.summary("当前用户资料与全部身份")
@authenticated()
async def me(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await service.describe_user(principal, request.app.ctx.profiles))
