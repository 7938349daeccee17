"""Stores' balances and statements: a store sees its own, brand staff every store's."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    ok,
    page,
    parse_query,
)
from backend.ledger import service
from backend.ledger.service import PartyKind

bp = Blueprint("ledger", url_prefix="/api/v1/ledger")
MAX_REWARD_FEN = 100_000_000  # 一百万元


class AccountQuery(PageQuery):
    store_id: Id | None = None


@bp.get("/accounts")
@openapi.summary("门店账户余额（积分、返利余额）")
@documented_query(AccountQuery)
@authenticated(*STORE_ROLES, *BRAND_ROLES)
async def list_accounts(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, AccountQuery)
    return ok({"items": await service.list_accounts(principal, query.store_id)})


@bp.get("/accounts/<account_id:int>/entries")
@openapi.summary("账户流水（每笔的原因与变动后余额，按时间顺序翻页）")
@documented_query(PageQuery)
@authenticated(*STORE_ROLES, *BRAND_ROLES)
async def statement(request: Request, principal: Principal, account_id: int) -> HTTPResponse:
    query = parse_query(request, PageQuery)
    limit = query.bounded_limit()
    found = await service.statement(principal, account_id, after=query.after, limit=limit)
    listed = page(found["entries"], limit)
    return ok({"account": found["account"], **listed})


@bp.get("/accounts/<account_id:int>/entries.csv")
@openapi.summary("导出账户流水（CSV，含每笔变动后余额）")
@authenticated(*STORE_ROLES, *BRAND_ROLES)
async def export_statement(request: Request, principal: Principal, account_id: int) -> HTTPResponse:
    name, content = await service.statement_csv(principal, account_id)
    return raw(
        content,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


class IncentivesBody(RequestModel):
    first_order_cashback_fen: int = Field(default=0, ge=0, le=MAX_REWARD_FEN)
    first_order_min_fen: int = Field(default=0, ge=0, le=10**12, description="首单返现的最低实付")
    invitation_reward_fen: int = Field(default=0, ge=0, le=MAX_REWARD_FEN)
    salesperson_first_order_points: int = Field(default=0, ge=0, le=1_000_000)


class PartyQuery(PageQuery):
    party: Literal["salesperson", "distributor"] = "salesperson"


@bp.get("/incentives")
@openapi.summary("品牌常设奖励：首单返现、邀请有礼、业务员拓店首单积分")
@authenticated(*BRAND_ROLES)
async def get_incentives(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await service.get_incentives(principal))


@bp.put("/incentives")
@openapi.summary("设置品牌常设奖励（对此后支付的首单生效；0 为不设）")
@authenticated(*BRAND_ROLES)
@json_body(IncentivesBody)
async def set_incentives(
    request: Request, principal: Principal, body: IncentivesBody
) -> HTTPResponse:
    now = request_deps(request).clock.now()
    return ok(await service.set_incentives(principal, body.model_dump(), now=now))


@bp.get("/party-accounts")
@openapi.summary("业务员或经销商账户与最近流水：品牌看全部，业务员、经销商看自己的")
@documented_query(PartyQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, Role.SALESPERSON)
async def party_accounts(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, PartyQuery)
    return ok({"items": await service.party_accounts(principal, PartyKind(query.party))})
