"""The brand's onboarding desk (拓店): print runs of box codes, its salespeople's invitation
codes, both as printable QR sheets, and the review queue with suspected duplicates."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend.deps import Deps
from backend.identity.access import Principal
from backend.kernel.errors import NotFound
from backend.org import codes
from backend.org.models import (
    ApplicationStatus,
    CodeKind,
    Distributor,
    OnboardingBatch,
    OnboardingCode,
    Salesperson,
    Store,
    StoreApplication,
)
from backend.org.service import (
    SalespersonNotFound,
    _brand_application,
    _brand_distributor,
    application_view,
    code_view,
    ensure_invitation_code,
    names,
)

CHINA = ZoneInfo("Asia/Shanghai")

# One print run is at most this many codes: a sheet of them still opens in a few seconds.
MAX_BATCH_CODES = 1000
# A printed sheet (or one request for it) holds at most this many codes.
MAX_SHEET_CODES = 200


class BatchNotFound(NotFound):
    code = "onboarding.batch_not_found"
    message = "找不到该批开箱码"


# ---- box-code print runs ------------------------------------------------------------------


def batch_view(batch: OnboardingBatch, used: int, distributor_name: str | None) -> dict[str, Any]:
    distributor_id = batch.distributor_id  # type: ignore[attr-defined]
    return {
        "id": batch.id,
        "name": batch.name,
        "distributor": None
        if distributor_id is None
        else {"id": distributor_id, "name": distributor_name or ""},
        "count": batch.count,
        "used": used,
        "created_at": batch.created_at.isoformat(),
    }


async def _batch_views(brand_id: int, batches: list[OnboardingBatch]) -> list[dict[str, Any]]:
    """The batches with how many of their codes were scanned into an application, counted in
    one grouped query over the (print_batch_id, id) index."""
    used_rows = (
        await OnboardingCode.filter(print_batch_id__in=[b.id for b in batches], uses__gt=0)
        .group_by("print_batch_id")
        .annotate(used=Count("id"))
        .values_list("print_batch_id", "used")
    )
    used = {int(batch_id): int(count) for batch_id, count in used_rows}
    distributors = await names(
        brand_id,
        "distributor",
        [b.distributor_id for b in batches if b.distributor_id is not None],  # type: ignore[attr-defined]
    )
    return [
        batch_view(b, used.get(b.id, 0), distributors.get(b.distributor_id))  # type: ignore[attr-defined]
        for b in batches
    ]


async def create_box_batch(
    deps: Deps,
    principal: Principal,
    *,
    count: int,
    distributor_id: int | None,
    name: str | None,
) -> dict[str, Any]:
    """A print run of `count` single-use box codes (for one distributor's boxes, or any),
    made in one transaction: the batch and every code, or nothing."""
    assert principal.brand_id is not None
    if distributor_id is not None:
        await _brand_distributor(principal.brand_id, distributor_id)
    now = deps.clock.now()
    label = name or f"开箱码 {now.astimezone(CHINA):%Y-%m-%d %H:%M}"
    async with in_transaction():
        batch = await OnboardingBatch.create(
            brand_id=principal.brand_id,
            name=label,
            distributor_id=distributor_id,
            count=count,
            created_by_id=principal.user_id,
        )
        await OnboardingCode.bulk_create(
            [
                OnboardingCode(
                    brand_id=principal.brand_id,
                    kind=CodeKind.BOX.value,
                    public_id=codes.new_public_id(),
                    distributor_id=distributor_id,
                    batch=label,
                    print_batch_id=batch.id,
                    max_uses=1,
                )
                for _ in range(count)
            ]
        )
    stored = await OnboardingCode.filter(print_batch_id=batch.id).order_by("id")
    [view] = await _batch_views(principal.brand_id, [batch])
    return {"batch": view, "items": [code_view(deps, code) for code in stored]}


async def list_box_batches(
    principal: Principal, *, distributor_id: int | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The brand's print runs, newest first (limit + 1 rows, keyset `before`)."""
    assert principal.brand_id is not None
    query = OnboardingBatch.filter(brand_id=principal.brand_id)
    if distributor_id is not None:
        query = query.filter(distributor_id=distributor_id)
    if before is not None:
        query = query.filter(id__lt=before)
    batches = await query.order_by("-id").limit(limit + 1)
    return await _batch_views(principal.brand_id, batches)


async def _brand_batch(principal: Principal, batch_id: int) -> OnboardingBatch:
    batch = await OnboardingBatch.get_or_none(id=batch_id, brand_id=principal.brand_id)
    if batch is None:
        raise BatchNotFound()
    return batch


async def get_box_batch(principal: Principal, batch_id: int) -> dict[str, Any]:
    assert principal.brand_id is not None
    [view] = await _batch_views(principal.brand_id, [await _brand_batch(principal, batch_id)])
    return view


async def box_batch_sheet(
    deps: Deps, principal: Principal, batch_id: int, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """A batch's codes by id (limit + 1 rows), for its printed sheet (the console draws each
    QR from its URL: a few hundred codes drawn on the server would hold a worker for seconds)."""
    batch = await _brand_batch(principal, batch_id)
    query = OnboardingCode.filter(print_batch_id=batch.id)
    if after is not None:
        query = query.filter(id__gt=after)
    found = await query.order_by("id").limit(limit + 1)
    return [code_view(deps, code) for code in found]


# ---- salespeople's invitation codes ----------------------------------------------------------


def invitation_key(salesperson_id: int) -> str:
    return f"{CodeKind.SALESPERSON_INVITE.value}:{salesperson_id}"


async def list_invitations(
    deps: Deps,
    principal: Principal,
    *,
    distributor_id: int | None,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The brand's active salespeople by id (limit + 1 rows), each with its invitation code
    (None until one is made) and how many applications came through it."""
    assert principal.brand_id is not None
    query = Salesperson.filter(brand_id=principal.brand_id, is_active=True)
    if distributor_id is not None:
        query = query.filter(distributor_id=distributor_id)
    if after is not None:
        query = query.filter(id__gt=after)
    people = await query.order_by("id").limit(limit + 1)
    found = await OnboardingCode.filter(
        inviter_key__in=[invitation_key(p.id) for p in people]
    ).all()
    by_person = {code.inviter_salesperson_id: code for code in found}  # type: ignore[attr-defined]
    applied_rows = (
        await StoreApplication.filter(code_id__in=[c.id for c in found])
        .group_by("code_id")
        .annotate(applied=Count("id"))
        .values_list("code_id", "applied")
    )
    applied = {int(code_id): int(count) for code_id, count in applied_rows}
    distributors = await names(
        principal.brand_id,
        "distributor",
        [p.distributor_id for p in people if p.distributor_id is not None],  # type: ignore[attr-defined]
    )
    rows = []
    for person in people:
        code = by_person.get(person.id)
        rows.append(
            {
                "id": person.id,
                "name": person.name,
                "phone": person.phone,
                "distributor_id": person.distributor_id,  # type: ignore[attr-defined]
                "distributor_name": distributors.get(person.distributor_id, ""),  # type: ignore[attr-defined]
                "code": None if code is None else code_view(deps, code),
                "applications": applied.get(code.id, 0) if code else 0,
            }
        )
    return rows


async def _brand_salespeople(brand_id: int, salesperson_ids: Iterable[int]) -> list[Salesperson]:
    wanted = sorted(set(salesperson_ids))
    people = await Salesperson.filter(brand_id=brand_id, id__in=wanted, is_active=True).order_by(
        "id"
    )
    if len(people) != len(wanted):
        raise SalespersonNotFound()
    return people


async def create_invitations(
    deps: Deps, principal: Principal, salesperson_ids: list[int]
) -> list[dict[str, Any]]:
    """Makes the invitation codes the chosen salespeople do not have yet (all of them are the
    brand's active salespeople, or nothing is made); answers every chosen one's code."""
    assert principal.brand_id is not None
    people = await _brand_salespeople(principal.brand_id, salesperson_ids)
    made = [
        await ensure_invitation_code(
            principal.brand_id, CodeKind.SALESPERSON_INVITE, salesperson_id=person.id, store_id=None
        )
        for person in people
    ]
    return [
        {**code_view(deps, code), "salesperson_id": person.id, "salesperson_name": person.name}
        for person, code in zip(people, made, strict=True)
    ]


async def invitation_sheet(
    deps: Deps, principal: Principal, salesperson_ids: list[int]
) -> list[dict[str, Any]]:
    """The chosen salespeople's invitation codes, each named by its salesperson and
    distributor, for their printed sheet; a salesperson without a code yet is left out."""
    assert principal.brand_id is not None
    people = await _brand_salespeople(principal.brand_id, salesperson_ids)
    found = await OnboardingCode.filter(inviter_key__in=[invitation_key(p.id) for p in people])
    by_person = {code.inviter_salesperson_id: code for code in found}  # type: ignore[attr-defined]
    distributors = await names(
        principal.brand_id,
        "distributor",
        [p.distributor_id for p in people if p.distributor_id is not None],  # type: ignore[attr-defined]
    )
    items = [
        {
            **code_view(deps, by_person[person.id]),
            "salesperson_id": person.id,
            "salesperson_name": person.name,
            "distributor_name": distributors.get(person.distributor_id, ""),  # type: ignore[attr-defined]
        }
        for person in people
        if person.id in by_person
    ]
    return items


# ---- the review queue and suspected duplicates -----------------------------------------------

_SPACES = re.compile(r"\s+")


def _same_text(a: str | None, b: str | None) -> bool:
    """Equal once spaces are ignored ("文一西路 100号" is "文一西路100号"); empty is never equal."""
    left, right = _SPACES.sub("", a or ""), _SPACES.sub("", b or "")
    return bool(left) and left == right


def duplicate_reasons(application: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Why `other` (a store or another application, both as {name, phone, licence, address})
    looks like the same shop: the same phone, the same business licence, or the same name at
    the same address."""
    reasons = []
    if application["phone"] == other["phone"]:
        reasons.append("phone")
    if application["licence"] and application["licence"] == other["licence"]:
        reasons.append("business_licence_no")
    if _same_text(application["name"], other["name"]) and _same_text(
        application["address"], other["address"]
    ):
        reasons.append("name_address")
    return reasons


def _shop(name: str, phone: str, licence: str | None, address: str) -> dict[str, Any]:
    return {"name": name, "phone": phone, "licence": licence, "address": address}


def _application_shop(a: StoreApplication) -> dict[str, Any]:
    return _shop(a.store_name, a.phone, a.business_licence_no, a.address)


async def suspected_duplicates(
    brand_id: int, applications: list[StoreApplication]
) -> dict[int, list[tuple[str, Any, list[str]]]]:
    """For each application, the brand's stores and other pending applications that look like
    the same shop, as (kind, row, reasons). Two indexed queries for any number of
    applications (phone, licence and name are indexed with the brand); the store an approved
    application became is not its own duplicate."""
    if not applications:
        return {}
    phones = {a.phone for a in applications}
    licences = {a.business_licence_no for a in applications if a.business_licence_no}
    shop_names = {a.store_name for a in applications}
    stores = await Store.filter(
        Q(phone__in=phones) | Q(business_licence_no__in=licences) | Q(name__in=shop_names),
        brand_id=brand_id,
    ).order_by("id")
    pending = await StoreApplication.filter(
        Q(phone__in=phones) | Q(business_licence_no__in=licences) | Q(store_name__in=shop_names),
        brand_id=brand_id,
        status=ApplicationStatus.PENDING.value,
    ).order_by("id")
    found: dict[int, list[tuple[str, Any, list[str]]]] = defaultdict(list)
    for application in applications:
        shop = _application_shop(application)
        for store in stores:
            if store.id == application.store_id:  # type: ignore[attr-defined]
                continue
            other = _shop(store.name, store.phone, store.business_licence_no, store.address)
            if reasons := duplicate_reasons(shop, other):
                found[application.id].append(("store", store, reasons))
        for candidate in pending:
            if candidate.id == application.id:
                continue
            if reasons := duplicate_reasons(shop, _application_shop(candidate)):
                found[application.id].append(("application", candidate, reasons))
    return found


async def _source(brand_id: int, applications: list[StoreApplication]) -> dict[int, dict[str, Any]]:
    """How each application came: the code's kind and short code, and who invited."""
    code_kinds: dict[int, str] = dict(
        await OnboardingCode.filter(id__in=[a.code_id for a in applications]).values_list(  # type: ignore[attr-defined]
            "id", "kind"
        )
    )
    salespeople: dict[int, str] = dict(
        await Salesperson.filter(
            brand_id=brand_id,
            id__in=[
                a.inviter_salesperson_id  # type: ignore[attr-defined]
                for a in applications
                if a.inviter_salesperson_id is not None  # type: ignore[attr-defined]
            ],
        ).values_list("id", "name")
    )
    stores = await names(
        brand_id,
        "store",
        [a.inviter_store_id for a in applications if a.inviter_store_id is not None],  # type: ignore[attr-defined]
    )
    sources = {}
    for a in applications:
        salesperson_id = a.inviter_salesperson_id  # type: ignore[attr-defined]
        store_id = a.inviter_store_id  # type: ignore[attr-defined]
        inviter = None
        if salesperson_id is not None:
            inviter = {
                "kind": "salesperson",
                "id": salesperson_id,
                "name": salespeople.get(salesperson_id, ""),
            }
        elif store_id is not None:
            inviter = {"kind": "store", "id": store_id, "name": stores.get(store_id, "")}
        sources[a.id] = {
            "kind": code_kinds.get(a.code_id, CodeKind.BOX.value),  # type: ignore[attr-defined]
            "short_code": codes.short_code(a.code_id),  # type: ignore[attr-defined]
            "inviter": inviter,
        }
    return sources


def _duplicate_summary(kind: str, row: Any, reasons: list[str]) -> dict[str, Any]:
    return {"kind": kind, "id": row.id, "reasons": reasons}


async def review_rows(brand_id: int, applications: list[StoreApplication]) -> list[dict[str, Any]]:
    """Applications as the review queue lists them: each with how it came, its suggested
    distributor's name and its suspected duplicates."""
    duplicates = await suspected_duplicates(brand_id, applications)
    sources = await _source(brand_id, applications)
    distributors = await names(
        brand_id,
        "distributor",
        [
            a.suggested_distributor_id  # type: ignore[attr-defined]
            for a in applications
            if a.suggested_distributor_id is not None  # type: ignore[attr-defined]
        ],
    )
    return [
        {
            **application_view(a),
            "source": sources[a.id],
            "suggested_distributor_name": distributors.get(a.suggested_distributor_id),  # type: ignore[attr-defined]
            "duplicates": [_duplicate_summary(*d) for d in duplicates.get(a.id, [])],
        }
        for a in applications
    ]


async def review_queue(
    principal: Principal, *, status: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The brand's applications newest first (limit + 1 rows, keyset `before`)."""
    assert principal.brand_id is not None
    query = StoreApplication.filter(brand_id=principal.brand_id)
    if status:
        query = query.filter(status=status)
    if before is not None:
        query = query.filter(id__lt=before)
    applications = await query.order_by("-id").limit(limit + 1)
    return await review_rows(principal.brand_id, applications)


async def _compared(brand_id: int, kind: str, row: Any, reasons: list[str]) -> dict[str, Any]:
    """A suspected duplicate with the fields the review page sets beside the application's."""
    if kind == "store":
        fields = {
            "store_name": row.name,
            "contact_name": row.contact_name,
            "phone": row.phone,
            "business_licence_no": row.business_licence_no,
            "address": row.address,
            "status": row.status,
            "distributor_id": row.distributor_id,
            "salesperson_id": row.salesperson_id,
        }
    else:
        fields = {
            "store_name": row.store_name,
            "contact_name": row.contact_name,
            "phone": row.phone,
            "business_licence_no": row.business_licence_no,
            "address": row.address,
            "status": row.status,
            "distributor_id": row.suggested_distributor_id,
            "salesperson_id": row.inviter_salesperson_id,
        }
    return {
        **_duplicate_summary(kind, row, reasons),
        **fields,
        "created_at": row.created_at.isoformat(),
    }


async def review_detail(principal: Principal, application_id: int) -> dict[str, Any]:
    """One application for its reviewer: the queue's row, and each suspected duplicate with
    the fields to compare side by side."""
    assert principal.brand_id is not None
    application = await _brand_application(principal, application_id)
    [row] = await review_rows(principal.brand_id, [application])
    duplicates = (await suspected_duplicates(principal.brand_id, [application])).get(
        application.id, []
    )
    compared = [await _compared(principal.brand_id, *d) for d in duplicates]
    people = dict(
        await Salesperson.filter(
            brand_id=principal.brand_id,
            id__in=[c["salesperson_id"] for c in compared if c["salesperson_id"]],
        ).values_list("id", "name")
    )
    distributors = await names(
        principal.brand_id,
        "distributor",
        [c["distributor_id"] for c in compared if c["distributor_id"]],
    )
    for each in compared:
        each["distributor_name"] = distributors.get(each["distributor_id"])
        each["salesperson_name"] = people.get(each["salesperson_id"])
    suggested = await _suggested_assignment(principal.brand_id, application)
    return {**row, "duplicates": compared, "suggested": suggested}


async def _suggested_assignment(brand_id: int, application: StoreApplication) -> dict[str, Any]:
    """Whom the store most likely belongs to: the distributor the box code was made for, or
    the inviting salesperson and their distributor."""
    distributor_id = application.suggested_distributor_id  # type: ignore[attr-defined]
    salesperson_id = application.inviter_salesperson_id  # type: ignore[attr-defined]
    if salesperson_id is not None:
        person = await Salesperson.get_or_none(id=salesperson_id, brand_id=brand_id)
        if person is None or not person.is_active:
            salesperson_id = None
        elif distributor_id is None:
            distributor_id = person.distributor_id  # type: ignore[attr-defined]
    if distributor_id is not None and not await Distributor.exists(
        id=distributor_id, brand_id=brand_id, is_active=True
    ):
        distributor_id = None
    return {"distributor_id": distributor_id, "salesperson_id": salesperson_id}
