"""Stores' balances and statements: a store sees its own, brand staff every store's."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic_ext import openapi

from backend.identity.access import BRAND_ROLES, STORE_ROLES, Principal, authenticated
from backend.infra.http import Id, PageQuery, documented_query, ok, page, parse_query
from backend.ledger import service

bp = Blueprint("ledger", url_prefix="/api/v1/ledger")


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
