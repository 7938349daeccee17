"""Organisation and onboarding endpoints: thin wrappers that parse, authorise and serialise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from backend.deps import request_deps
from backend.identity import service as identity_service
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STAFF_ROLES,
    Principal,
    Role,
    authenticated,
)
from backend.infra.exports import MEDIA_TYPES
from backend.infra.http import (
    Id,
    PageQuery,
    RequestModel,
    documented_query,
    json_body,
    newest_first,
    ok,
    page,
    parse_query,
    patch_changes,
    responds,
    responds_file,
)
from backend.infra.idempotency import create_once_if_keyed, respond_once
from backend.org import export, onboarding, service
from backend.org.models import ApplicationStatus, StoreStatus, StoreTier

bp = Blueprint("org", url_prefix="/api/v1")

PHONE = r"^1\d{10}$"
LICENCE = r"^[0-9A-Z]{15,18}$"
TierName = Literal["A", "B", "C", "D"]
assert set(TierName.__args__) == {t.value for t in StoreTier}  # type: ignore[attr-defined]
StatusName = Literal["active", "suspended", "closed"]
assert set(StatusName.__args__) == {s.value for s in StoreStatus}  # type: ignore[attr-defined]


class RegionBody(RequestModel):
    name: str = Field(min_length=1, max_length=64)


class DistributorBody(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    contact_name: str = Field(default="", max_length=32, description="联系人")
    contact_phone: str = Field(default="", max_length=20)
    wechat_sub_mchid: str | None = Field(default=None, pattern=r"^\d{8,12}$")
    region_ids: list[Id] = Field(default_factory=list, max_length=200)


class DistributorPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    contact_name: str | None = Field(default=None, max_length=32)
    contact_phone: str | None = Field(default=None, max_length=20)
    wechat_sub_mchid: str | None = Field(default=None, pattern=r"^\d{8,12}$")
    is_active: bool | None = None
    region_ids: list[Id] | None = Field(default=None, max_length=200)


class SalespersonBody(RequestModel):
    name: str = Field(min_length=1, max_length=32)
    phone: str = Field(pattern=PHONE)
    distributor_id: Id | None = None


class SalespersonQuery(RequestModel):
    # Not paged (a brand has hundreds of salespeople, and pickers need them all): paging
    # parameters a list sends anyway are ignored.
    model_config = ConfigDict(extra="ignore")

    distributor_id: Id | None = None
    active: bool | None = Field(default=None, description="true 只看在职，false 只看已停用")


class SalespersonPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=32)
    phone: str | None = Field(default=None, pattern=PHONE)
    is_active: bool | None = Field(default=None, description="false 停用：保留其门店，不能再分配")


class StoreQuery(PageQuery):
    distributor_id: Id | None = None
    salesperson_id: Id | None = None
    tier: TierName | None = None
    status: StatusName | None = None
    tag: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=64)
    q: str | None = Field(default=None, max_length=64, description="门店名称或电话包含该文字")


class StoreExportQuery(StoreQuery):
    format: Literal["csv", "xlsx"] = "csv"


MAX_BULK_STORES = 500
StoreIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_BULK_STORES)]
Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=r"\S")]


class BulkTagsBody(RequestModel):
    store_ids: StoreIds
    add: list[Tag] = Field(default_factory=list, max_length=20, description="要添加的标签")
    remove: list[Tag] = Field(default_factory=list, max_length=20, description="要移除的标签")


class BulkMoveBody(RequestModel):
    store_ids: StoreIds
    distributor_id: Id | None = Field(
        default=None,
        description="转到该经销商；不传则不换经销商（换经销商且不传业务员时清空业务员）",
    )
    salesperson_id: Id | None = Field(
        default=None, description="转给该业务员（须服务门店最终所属经销商）；传 null 为不指定业务员"
    )


class BulkResult(BaseModel):
    changed: int = Field(description="实际有变化的门店数")
    store_ids: list[int] = Field(description="有变化的门店")


class StorePatch(RequestModel):
    tier: TierName | None = None
    status: StatusName | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    distributor_id: Id | None = None
    salesperson_id: Id | None = None


PASSWORD_LENGTHS = (identity_service.PASSWORD_MIN_LENGTH, identity_service.PASSWORD_MAX_LENGTH)
StaffPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_LENGTHS[0],
        max_length=PASSWORD_LENGTHS[1],
        description="{}–{} 个字符".format(*PASSWORD_LENGTHS),
    ),
]
StaffRoleName = Literal["brand_admin", "brand_ops", "distributor_admin", "distributor_staff"]
assert set(StaffRoleName.__args__) == {r.value for r in STAFF_ROLES}  # type: ignore[attr-defined]


class StaffBody(RequestModel):
    username: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{3,64}$")
    password: StaffPassword
    display_name: str = Field(min_length=1, max_length=64)
    role: StaffRoleName
    distributor_id: Id | None = Field(
        default=None, description="经销商角色必填；经销商管理员开通时可省略（即本经销商）"
    )


class StaffQuery(PageQuery):
    distributor_id: Id | None = None
    role: StaffRoleName | None = None
    active: bool | None = Field(default=None, description="true 只看在用，false 只看已停用")


class PasswordResetBody(RequestModel):
    password: StaffPassword | None = Field(
        default=None, description="新密码；不传则随机生成，只在本次响应中返回"
    )


class BoxCodesBody(RequestModel):
    count: int = Field(
        ge=1,
        description=f"本批数量，1–{onboarding.MAX_BATCH_CODES}",
        json_schema_extra={"maximum": onboarding.MAX_BATCH_CODES},
    )
    distributor_id: Id | None = Field(default=None, description="这批箱子发往的经销商")
    batch: str | None = Field(
        default=None, min_length=1, max_length=32, description="批次名称；不传则按时间命名"
    )

    @field_validator("count")
    @classmethod
    def _within_a_print_run(cls, count: int) -> int:
        if count > onboarding.MAX_BATCH_CODES:
            raise ValueError(f"每批最多生成 {onboarding.MAX_BATCH_CODES} 个开箱码")
        return count


class CodeOut(BaseModel):
    id: int
    kind: str
    token: str
    url: str
    qr_png_url: str
    short_code: str = Field(description="印在二维码下方的短码")
    batch: str | None
    max_uses: int | None
    uses: int


class DistributorRef(BaseModel):
    id: int
    name: str


class BoxBatchOut(BaseModel):
    id: int
    name: str
    distributor: DistributorRef | None
    count: int
    used: int = Field(description="已被扫码提交入驻申请的个数")
    created_at: str


class BoxBatchCreated(BaseModel):
    batch: BoxBatchOut
    items: list[CodeOut]


class SheetCode(CodeOut):
    salesperson_id: int | None = None
    salesperson_name: str | None = None
    distributor_name: str | None = None


class SheetPage(BaseModel):
    items: list[SheetCode]
    next_after: int | None = Field(default=None, description="下一页传 after=此值；无更多为 null")


class BatchQuery(PageQuery):
    before: Id | None = None
    distributor_id: Id | None = None


class SheetQuery(PageQuery):
    limit: int = Field(default=onboarding.MAX_SHEET_CODES, ge=1, le=onboarding.MAX_SHEET_CODES)


class InvitationQuery(PageQuery):
    distributor_id: Id | None = None


class InvitationsBody(RequestModel):
    salesperson_ids: list[Id] = Field(min_length=1, max_length=onboarding.MAX_SHEET_CODES)


class InvitationSheetQuery(RequestModel):
    model_config = ConfigDict(extra="ignore")  # as every query: unknown parameters are ignored

    ids: str = Field(
        max_length=onboarding.MAX_SHEET_CODES * 20,
        pattern=r"^\d{1,18}(,\d{1,18})*$",
        description=f"业务员 id，逗号分隔，最多 {onboarding.MAX_SHEET_CODES} 个",
    )

    def salesperson_ids(self) -> list[int]:
        return [int(each) for each in self.ids.split(",")]

    @field_validator("ids")
    @classmethod
    def _one_sheet(cls, ids: str) -> str:
        if ids.count(",") >= onboarding.MAX_SHEET_CODES:
            raise ValueError(f"一次最多打印 {onboarding.MAX_SHEET_CODES} 位业务员的邀请码")
        return ids


class ApplicationBody(RequestModel):
    code: str = Field(min_length=1, max_length=128, description="扫码得到的入驻码")
    store_name: str = Field(min_length=1, max_length=64)
    contact_name: str = Field(min_length=1, max_length=32)
    phone: str = Field(pattern=PHONE)
    business_licence_no: str | None = Field(default=None, pattern=LICENCE)
    address: str = Field(min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    region_id: Id | None = None


class ApplicationQuery(PageQuery):
    status: Literal["pending", "approved", "rejected"] | None = None
    before: Id | None = Field(default=None, description="最新在前；下一页传 before=next_before")


assert {"pending", "approved", "rejected"} == {s.value for s in ApplicationStatus}


class ApproveBody(RequestModel):
    distributor_id: Id
    salesperson_id: Id | None = None
    tier: TierName = "C"


class RejectBody(RequestModel):
    reason: str = Field(min_length=1, max_length=200)


# ---- regions, distributors, salespeople, staff ------------------------------------------------

IDEMPOTENCY_KEY = openapi.parameter("Idempotency-Key", str, location="header", required=False)


async def _created(
    request: Request,
    principal: Principal,
    scope: str,
    create: Callable[[], Awaitable[dict[str, Any]]],
) -> HTTPResponse:
    """201 with what `create` made; with an Idempotency-Key, a retry of the same request is
    answered the first answer instead of creating again (or a 409 for the name taken)."""
    now = request_deps(request).clock.now()
    return await create_once_if_keyed(
        request, scope=scope, user_id=principal.user_id, now=now, create=create
    )


@bp.get("/regions")
@openapi.summary("区域列表")
@authenticated(*BRAND_ROLES)
async def list_regions(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.list_regions(principal)})


@bp.post("/regions")
@openapi.summary("新建区域")
@IDEMPOTENCY_KEY
@authenticated(Role.BRAND_ADMIN)
@json_body(RegionBody)
async def create_region(request: Request, principal: Principal, body: RegionBody) -> HTTPResponse:
    return await _created(
        request, principal, "org.region", lambda: service.create_region(principal, body.name)
    )


@bp.patch("/regions/<region_id:int>")
@openapi.summary("重命名区域")
@authenticated(Role.BRAND_ADMIN)
@json_body(RegionBody)
async def rename_region(
    request: Request, principal: Principal, region_id: int, body: RegionBody
) -> HTTPResponse:
    return ok(await service.rename_region(principal, region_id, body.name))


@bp.get("/distributors")
@openapi.summary("经销商列表（经销商员工只看到自己）")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_distributors(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.list_distributors(principal)})


@bp.post("/distributors")
@openapi.summary("新建经销商（含微信支付子商户号与服务区域）")
@IDEMPOTENCY_KEY
@authenticated(Role.BRAND_ADMIN)
@json_body(DistributorBody)
async def create_distributor(
    request: Request, principal: Principal, body: DistributorBody
) -> HTTPResponse:
    return await _created(
        request,
        principal,
        "org.distributor",
        lambda: service.create_distributor(principal, **body.model_dump()),
    )


@bp.get("/distributors/<distributor_id:int>")
@openapi.summary("经销商详情")
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def get_distributor(
    request: Request, principal: Principal, distributor_id: int
) -> HTTPResponse:
    return ok(await service.get_distributor(principal, distributor_id))


@bp.patch("/distributors/<distributor_id:int>")
@openapi.summary("修改经销商")
@authenticated(Role.BRAND_ADMIN)
@json_body(DistributorPatch)
async def update_distributor(
    request: Request, principal: Principal, distributor_id: int, body: DistributorPatch
) -> HTTPResponse:
    changes = patch_changes(body, nullable=frozenset({"wechat_sub_mchid"}))
    return ok(await service.update_distributor(principal, distributor_id, changes))


@bp.get("/salespeople")
@openapi.summary("业务员列表（含各自服务的门店数；可按经销商、在职状态筛选）")
@documented_query(SalespersonQuery)
@authenticated(*BRAND_ROLES, *DISTRIBUTOR_ROLES)
async def list_salespeople(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, SalespersonQuery)
    return ok({"items": await service.list_salespeople(principal, **query.model_dump())})


@bp.patch("/salespeople/<salesperson_id:int>")
@openapi.summary("修改业务员姓名、手机号，或停用/启用（停用后保留门店，但不能再分配门店）")
@authenticated(Role.BRAND_ADMIN, Role.DISTRIBUTOR_ADMIN)
@json_body(SalespersonPatch)
async def update_salesperson(
    request: Request, principal: Principal, salesperson_id: int, body: SalespersonPatch
) -> HTTPResponse:
    changes = patch_changes(body)
    return ok(await service.update_salesperson(principal, salesperson_id, changes))


@bp.post("/salespeople")
@openapi.summary("登记业务员（业务员用该手机号绑定小程序后即获得业务员身份）")
@IDEMPOTENCY_KEY
@authenticated(Role.BRAND_ADMIN, Role.DISTRIBUTOR_ADMIN)
@json_body(SalespersonBody)
async def create_salesperson(
    request: Request, principal: Principal, body: SalespersonBody
) -> HTTPResponse:
    return await _created(
        request,
        principal,
        "org.salesperson",
        lambda: service.create_salesperson(principal, **body.model_dump()),
    )


@bp.post("/staff")
@openapi.summary("开通后台员工账号（品牌管理员：品牌或经销商员工；经销商管理员：本经销商员工）")
@IDEMPOTENCY_KEY
@authenticated(Role.BRAND_ADMIN, Role.DISTRIBUTOR_ADMIN)
@json_body(StaffBody)
async def create_staff(request: Request, principal: Principal, body: StaffBody) -> HTTPResponse:
    fields = {**body.model_dump(), "role": Role(body.role)}
    return await _created(
        request, principal, "org.staff", lambda: service.create_staff_account(principal, **fields)
    )


@bp.get("/staff")
@openapi.summary("员工账号列表（品牌看全品牌，经销商管理员看本经销商；按 id 翻页）")
@documented_query(StaffQuery)
@authenticated(*BRAND_ROLES, Role.DISTRIBUTOR_ADMIN)
async def list_staff(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, StaffQuery)
    limit = query.bounded_limit()
    items = await service.list_staff(
        principal,
        distributor_id=query.distributor_id,
        role=query.role,
        active=query.active,
        after=query.after,
        limit=limit,
    )
    return ok(page(items, limit))


@bp.post("/staff/<user_id:int>/<action:deactivate|activate>")
@openapi.summary("停用（不能再登录，已登录的立即下线）或重新启用员工账号")
@openapi.description(
    "不能停用自己，也不能停用品牌唯一在用的管理员（409）。其他品牌或经销商的账号 404。"
)
@authenticated(Role.BRAND_ADMIN, Role.DISTRIBUTOR_ADMIN)
async def set_staff_active(
    request: Request, principal: Principal, user_id: int, action: str
) -> HTTPResponse:
    deps = request_deps(request)
    changed = await service.set_staff_active(
        deps,
        principal,
        user_id,
        active=action == "activate",
        cache=request.app.ctx.revocations,
    )
    return ok(changed)


@bp.post("/staff/<user_id:int>/password")
@openapi.summary("重置员工密码：设为给定的新密码，或随机生成（只返回这一次）；其登录全部下线")
@authenticated(Role.BRAND_ADMIN, Role.DISTRIBUTOR_ADMIN)
@json_body(PasswordResetBody, required=False)
async def reset_staff_password(
    request: Request, principal: Principal, user_id: int, body: PasswordResetBody
) -> HTTPResponse:
    deps = request_deps(request)
    reset = await service.reset_staff_password(
        deps, principal, user_id, body.password, cache=request.app.ctx.revocations
    )
    return ok(reset)


# ---- stores ---------------------------------------------------------------------------------


async def _with_orders(principal: Principal, stores: list[dict[str, Any]]) -> None:
    """Adds each store's order count and last order (cancelled ones left out) in place."""
    summaries = await service.store_order_summaries(principal, [s["id"] for s in stores])
    for store in stores:
        summary = summaries.get(store["id"], {})
        store["order_count"] = summary.get("order_count", 0)
        store["last_order"] = summary.get("last_order")


@bp.get("/stores")
@openapi.summary("门店列表（按身份自动限定范围，按 id 翻页；含订单数与最近一笔订单，不计已取消）")
@documented_query(StoreQuery)
@authenticated()
async def list_stores(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, StoreQuery)
    limit = query.bounded_limit()
    filters = query.model_dump(exclude={"after", "limit"})
    items = await service.list_stores(principal, after=query.after, limit=limit, **filters)
    listed = page(items, limit)
    await _with_orders(principal, listed["items"])
    return ok(listed)


@bp.get("/stores/tags")
@openapi.summary("可见门店上用到的全部标签（标签筛选的选项）")
@authenticated()
async def list_store_tags(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.store_tags_in_use(principal)})


@bp.get("/stores/export")
@openapi.summary("导出门店（CSV 或 XLSX；筛选条件与门店列表相同）")
@responds_file(*MEDIA_TYPES.values(), description="门店表格（CSV 或 XLSX）")
@documented_query(StoreExportQuery)
@authenticated(*BRAND_ROLES)
async def export_stores(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, StoreExportQuery)
    filters = query.model_dump(exclude={"after", "limit", "format"})
    rows = await export.store_rows(principal, filters)
    body = await export.to_xlsx(rows) if query.format == "xlsx" else export.to_csv(rows)
    today = export.china_day(request_deps(request).clock.now())
    headers = {
        "Content-Disposition": f'attachment; filename="stores-{today}.{query.format}"',
        "Cache-Control": "no-store",
    }
    return raw(body, content_type=MEDIA_TYPES[query.format], headers=headers)


@bp.post("/stores/bulk/tags")
@openapi.summary("批量打标签：给所选门店添加或移除标签（全部成功或全部不变）")
@responds(BulkResult)
@authenticated(*BRAND_ROLES)
@json_body(BulkTagsBody)
async def tag_stores(request: Request, principal: Principal, body: BulkTagsBody) -> HTTPResponse:
    tagged = await service.tag_stores(
        request_deps(request), principal, body.store_ids, add=body.add, remove=body.remove
    )
    return ok(tagged)


@bp.post("/stores/bulk/move")
@openapi.summary("批量转移门店到其他经销商和/或业务员（全部成功或全部不变）")
@openapi.description("业务员不属于门店最终所属经销商时 422（org.salesperson_not_in_distributor）。")
@responds(BulkResult)
@authenticated(*BRAND_ROLES)
@json_body(BulkMoveBody)
async def move_stores(request: Request, principal: Principal, body: BulkMoveBody) -> HTTPResponse:
    target = body.model_dump(include={"distributor_id", "salesperson_id"} & body.model_fields_set)
    return ok(await service.move_stores(principal, body.store_ids, **target))


@bp.get("/stores/<store_id:int>")
@openapi.summary("门店详情（含订单数与最近一笔订单）")
@authenticated()
async def get_store(request: Request, principal: Principal, store_id: int) -> HTTPResponse:
    store = await service.get_store(principal, store_id)
    await _with_orders(principal, [store])
    return ok(store)


@bp.patch("/stores/<store_id:int>")
@openapi.summary("修改门店分层、标签、状态、归属")
@authenticated(*BRAND_ROLES)
@json_body(StorePatch)
async def update_store(
    request: Request, principal: Principal, store_id: int, body: StorePatch
) -> HTTPResponse:
    changes = patch_changes(body, nullable=frozenset({"salesperson_id"}))
    return ok(await service.update_store(request_deps(request), principal, store_id, changes))


# ---- onboarding -----------------------------------------------------------------------------


@bp.post("/onboarding/box-codes")
@openapi.summary("批量生成开箱码（一个批次，可指定发往的经销商）")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@responds(BoxBatchCreated, 201, "新批次及其全部开箱码（同一 Idempotency-Key 重放时原样返回）")
@authenticated(*BRAND_ROLES)
@json_body(BoxCodesBody)
async def create_box_codes(
    request: Request, principal: Principal, body: BoxCodesBody
) -> HTTPResponse:
    def create() -> Awaitable[dict[str, Any]]:
        return onboarding.create_box_batch(
            request_deps(request),
            principal,
            count=body.count,
            distributor_id=body.distributor_id,
            name=body.batch,
        )

    return await _created(request, principal, "onboarding.box_batch", create)


@bp.get("/onboarding/box-code-batches")
@openapi.summary("开箱码批次（最新在前，用 before 翻页；含已使用个数）")
@documented_query(BatchQuery)
@authenticated(*BRAND_ROLES)
async def list_box_batches(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, BatchQuery)
    limit = query.bounded_limit()
    items = await onboarding.list_box_batches(
        principal, distributor_id=query.distributor_id, before=query.before, limit=limit
    )
    return ok(newest_first(items, limit))


@bp.get("/onboarding/box-code-batches/<batch_id:int>")
@openapi.summary("开箱码批次详情")
@responds(BoxBatchOut)
@authenticated(*BRAND_ROLES)
async def get_box_batch(request: Request, principal: Principal, batch_id: int) -> HTTPResponse:
    return ok(await onboarding.get_box_batch(principal, batch_id))


@bp.get("/onboarding/box-code-batches/<batch_id:int>/sheet")
@openapi.summary("打印用：批次的开箱码（二维码由页面按 url 绘制），按 id 翻页，每页最多 200 个")
@documented_query(SheetQuery)
@responds(SheetPage)
@authenticated(*BRAND_ROLES)
async def box_batch_sheet(request: Request, principal: Principal, batch_id: int) -> HTTPResponse:
    query = parse_query(request, SheetQuery)
    items = await onboarding.box_batch_sheet(
        request_deps(request), principal, batch_id, after=query.after, limit=query.limit
    )
    return ok(page(items, query.limit))


@bp.get("/onboarding/invitations")
@openapi.summary("业务员的拓店邀请码（按业务员 id 翻页；未生成的 code 为 null）")
@documented_query(InvitationQuery)
@authenticated(*BRAND_ROLES)
async def list_invitations(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, InvitationQuery)
    limit = query.bounded_limit()
    items = await onboarding.list_invitations(
        request_deps(request),
        principal,
        distributor_id=query.distributor_id,
        after=query.after,
        limit=limit,
    )
    return ok(page(items, limit))


@bp.post("/onboarding/invitations")
@openapi.summary("为所选业务员生成邀请码（已有的不变，每人一个）")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(InvitationsBody)
async def create_invitations(
    request: Request, principal: Principal, body: InvitationsBody
) -> HTTPResponse:
    def create() -> Awaitable[dict[str, Any]]:
        return _items(
            onboarding.create_invitations(request_deps(request), principal, body.salesperson_ids)
        )

    return await _created(request, principal, "onboarding.invitations", create)


async def _items(found: Awaitable[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"items": await found}


@bp.get("/onboarding/invitations/sheet")
@openapi.summary("打印用：所选业务员的邀请码（含业务员与经销商名称）")
@documented_query(InvitationSheetQuery)
@responds(SheetPage)
@authenticated(*BRAND_ROLES)
async def invitation_sheet(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, InvitationSheetQuery)
    ids = query.salesperson_ids()
    return ok(await _items(onboarding.invitation_sheet(request_deps(request), principal, ids)))


@bp.post("/onboarding/invitation")
@openapi.summary("我的邀请码（业务员或门店）")
@authenticated(Role.SALESPERSON, Role.STORE_OWNER, Role.STORE_CLERK)
async def invitation(request: Request, principal: Principal) -> HTTPResponse:
    return ok(await service.invitation_code(request_deps(request), principal))


@bp.get("/onboarding/codes/<token:str>")
@openapi.summary("扫码后查看入驻码信息")
@authenticated()
async def describe_code(request: Request, principal: Principal, token: str) -> HTTPResponse:
    return ok(await service.describe_code(request_deps(request), token))


@bp.get("/onboarding/codes/<token:str>/qr.png")
@openapi.summary("入驻码二维码图片")
@responds_file("image/png", description="二维码 PNG")
async def code_qr(request: Request, token: str) -> HTTPResponse:
    png = service.qr_for_token(request_deps(request), token)
    return raw(png, content_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@bp.post("/onboarding/applications")
@openapi.summary("提交门店入驻申请")
@authenticated()
@json_body(ApplicationBody)
async def submit_application(
    request: Request, principal: Principal, body: ApplicationBody
) -> HTTPResponse:
    details = body.model_dump(exclude={"code"})
    created = await service.submit_application(request_deps(request), principal, body.code, details)
    return ok(created, status=201)


@bp.get("/onboarding/applications/mine")
@openapi.summary("我的入驻申请及状态")
@authenticated()
async def my_applications(request: Request, principal: Principal) -> HTTPResponse:
    return ok({"items": await service.my_applications(principal)})


class InvitedQuery(PageQuery):
    before: Id | None = None
    status: Literal["pending", "approved", "rejected"] | None = None


@bp.get("/onboarding/applications/invited")
@openapi.summary("业务员：通过我的拓店二维码提交的入驻申请及审核状态（最新在前，用 before 翻页）")
@documented_query(InvitedQuery)
@authenticated(Role.SALESPERSON)
async def invited_applications(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, InvitedQuery)
    limit = query.bounded_limit()
    items = await service.invited_applications(
        principal, status=query.status, before=query.before, limit=limit
    )
    return ok(newest_first(items, limit))


@bp.get("/onboarding/applications")
@openapi.summary("入驻审核队列（最新在前，用 before 翻页；含来源与疑似重复）")
@documented_query(ApplicationQuery)
@authenticated(*BRAND_ROLES)
async def list_applications(request: Request, principal: Principal) -> HTTPResponse:
    query = parse_query(request, ApplicationQuery)
    limit = query.bounded_limit()
    items = await onboarding.review_queue(
        principal, status=query.status, before=query.before, limit=limit
    )
    return ok(newest_first(items, limit))


@bp.get("/onboarding/applications/<application_id:int>")
@openapi.summary("入驻申请详情（含疑似重复的门店与申请，供逐项对比；建议的经销商与业务员）")
@authenticated(*BRAND_ROLES)
async def get_application(
    request: Request, principal: Principal, application_id: int
) -> HTTPResponse:
    return ok(await onboarding.review_detail(principal, application_id))


async def _decided_once(
    request: Request, principal: Principal, decide: Callable[[], Awaitable[Any]]
) -> HTTPResponse:
    """A decision answered once per Idempotency-Key (a retried click replays the answer);
    without a key, a second decision is refused as already reviewed (409)."""
    if request.headers.get("idempotency-key") is None:
        return ok(await decide())

    async def work() -> tuple[int, Any]:
        return 200, await decide()

    now = request_deps(request).clock.now()
    return await respond_once(
        request,
        scope="onboarding.decision",
        owner=f"user:{principal.user_id}",
        now=now,
        work=work,
    )


@bp.post("/onboarding/applications/<application_id:int>/approve")
@openapi.summary("通过入驻申请：指定经销商与业务员，建立门店")
@openapi.description("业务员须属于所选经销商。已审核的申请再次处理为 409。")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(ApproveBody)
async def approve(
    request: Request, principal: Principal, application_id: int, body: ApproveBody
) -> HTTPResponse:
    return await _decided_once(
        request,
        principal,
        lambda: service.approve_application(
            request_deps(request), principal, application_id, **body.model_dump()
        ),
    )


@bp.post("/onboarding/applications/<application_id:int>/reject")
@openapi.summary("驳回入驻申请（须填写原因，申请人可在小程序看到）")
@openapi.parameter("Idempotency-Key", str, location="header", required=False)
@authenticated(*BRAND_ROLES)
@json_body(RejectBody)
async def reject(
    request: Request, principal: Principal, application_id: int, body: RejectBody
) -> HTTPResponse:
    return await _decided_once(
        request,
        principal,
        lambda: service.reject_application(
            request_deps(request), principal, application_id, reason=body.reason
        ),
    )
