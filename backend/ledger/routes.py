"""Stores' balances and statements: a store sees its own, brand staff every store's."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse
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
    Day,
    Id,
    PageQuery,
    RequestModel,
    attachment,
    documented_query,
    json_body,
    newest_first,
    ok,
    page,
    parse_query,
    responds_file,
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


class PeriodQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")

    created_from: Day | None = Field(default=None, description="起始日（含，北京时间）")
    created_to: Day | None = Field(default=None, description="截止日（含，北京时间）")

    @model_validator(mode="after")
    def _from_before_to(self) -> Self:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise ValueError("起始日不能晚于截止日")
        return self

    def period(self) -> service.Period:
        return service.china_days(self.created_from, self.created_to)


class StatementQuery(PageQuery, PeriodQuery):
    order: Literal["desc", "asc"] | None = Field(
        default=None,
        description="desc：最新在前（默认，用 before 翻页）；asc：最早在前（用 after 翻页）",
    )
    before: Id | None = None

    @model_validator(mode="after")
    def _paging_matches_the_order(self) -> StatementQuery:
        # `after` alone keeps its old meaning: oldest first, from that entry on.
        if self.order is None:
            self.order = "asc" if self.after is not None else "desc"
        if self.order == "desc" and self.after is not None:
            raise ValueError("最新在前（order=desc）请用 before 翻页")
        if self.order == "asc" and self.before is not None:
            raise ValueError("最早在前（order=asc）请用 after 翻页")
        return self


@bp.get("/accounts/<account_id:int>/entries")
@openapi.summary("账户流水（每笔的原因与变动后余额；默认最新在前，用 before 翻页）")
@documented_query(StatementQuery)
@authenticated(*STORE_ROLES, *BRAND_ROLES)
async def statement(request: Request, principal: Principal, account_id: int) -> HTTPResponse:
    query = parse_query(request, StatementQuery)
    limit = query.bounded_limit()
    newest = query.order == "desc"
    found = await service.statement(
        principal,
        account_id,
        newest_first=newest,
        after=query.after,
        before=query.before,
        period=query.period(),
        limit=limit,
    )
    entries = found["entries"]
    if newest:
        listed = {**newest_first(entries, limit), "next_after": None}
    else:
        listed = {**page(entries, limit), "next_before": None}
    return ok({"account": found["account"], "order": query.order, **listed})


@bp.get("/accounts/<account_id:int>/entries.csv")
@openapi.summary("导出账户流水（CSV，含每笔变动后余额）")
@documented_query(PeriodQuery)
@responds_file("text/csv", description="账户流水 CSV")
@authenticated(*STORE_ROLES, *BRAND_ROLES)
async def export_statement(request: Request, principal: Principal, account_id: int) -> HTTPResponse:
    period = parse_query(request, PeriodQuery).period()
    return _csv_file(*await service.statement_csv(principal, account_id, period))


def _csv_file(name: str, content: bytes) -> HTTPResponse:
    return attachment(content, name, "text/csv; charset=utf-8")


class IncentivesBody(RequestModel):
    first_order_cashback_fen: int = Field(default=0, ge=0, le=MAX_REWARD_FEN)
    first_order_min_fen: int = Field(default=0, ge=0, le=10**12, description="首单返现的最低实付")
    invitation_reward_fen: int = Field(default=0, ge=0, le=MAX_REWARD_FEN)
    salesperson_first_order_points: int = Field(default=0, ge=0, le=1_000_000)


class PartyQuery(PageQuery):
    party: Literal["salesperson", "distributor"] = "salesperson"
    party_id: Id | None = Field(default=None, description="品牌查看某一业务员或经销商的账户")


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
    party = PartyKind(query.party)
    return ok({"items": await service.party_accounts(principal, party, query.party_id)})


class PartyStatementQuery(PageQuery, PeriodQuery):
    before: Id | None = Field(default=None, description="翻页：传上一页的 next_before")


@bp.get("/party-accounts/<account_id:int>/entries")
@openapi.summary("业务员或经销商账户流水（最新在前，用 before 翻页；可按日期筛选）")
@documented_query(PartyStatementQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, Role.SALESPERSON)
async def party_statement(request: Request, principal: Principal, account_id: int) -> HTTPResponse:
    query = parse_query(request, PartyStatementQuery)
    limit = query.bounded_limit()
    found = await service.party_statement(
        principal, account_id, before=query.before, period=query.period(), limit=limit
    )
    return ok({"account": found["account"], **newest_first(found["entries"], limit)})


@bp.get("/party-accounts/<account_id:int>/entries.csv")
@openapi.summary("导出业务员或经销商账户流水（CSV，含每笔变动后余额；可按日期筛选）")
@documented_query(PeriodQuery)
@responds_file("text/csv", description="账户流水 CSV")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES, Role.SALESPERSON)
async def export_party_statement(
    request: Request, principal: Principal, account_id: int
) -> HTTPResponse:
    period = parse_query(request, PeriodQuery).period()
    return _csv_file(*await service.party_statement_csv(principal, account_id, period))
