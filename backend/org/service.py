"""Brands' organisation (regions, distributors, salespeople, stores) and store onboarding."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from backend.deps import Deps
from backend.identity import service as identity_service
from backend.identity.access import (
    BRAND_ROLES,
    DISTRIBUTOR_ROLES,
    STORE_ROLES,
    Principal,
    Role,
    Tenancy,
    may_see,
    scoped,
)
from backend.infra import events, sql
from backend.kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.kernel.events import StoreTagsChanged
from backend.kernel.ports import Port
from backend.notifications import service as notifications_service
from backend.org import codes
from backend.org.schemas import MAX_AUDIENCE_IDS, AudienceBody

__all__ = ["MAX_AUDIENCE_IDS", "AudienceBody"]  # shared request shapes, for other domains
from backend.org.models import (
    ApplicationStatus,
    Brand,
    CodeKind,
    Distributor,
    DistributorServiceArea,
    OnboardingCode,
    Region,
    Salesperson,
    Store,
    StoreApplication,
    StoreStatus,
    StoreTag,
)

STORE_TENANCY = Tenancy(distributor="distributor_id", salesperson="salesperson_id", store="id")
DISTRIBUTOR_TENANCY = Tenancy(distributor="id")
SALESPERSON_TENANCY = Tenancy(distributor="distributor_id", salesperson="id")
REGION_TENANCY = Tenancy(distributor=None)
APPLICATION_TENANCY = Tenancy()
# A salesperson sees the applications that came in through their own invitation.
INVITED_APPLICATION_TENANCY = Tenancy(salesperson="inviter_salesperson_id")


class RegionNotFound(NotFound):
    code = "org.region_not_found"
    message = "找不到该区域"


class DistributorNotFound(NotFound):
    code = "org.distributor_not_found"
    message = "找不到该经销商"


class SalespersonNotFound(NotFound):
    code = "org.salesperson_not_found"
    message = "找不到该业务员"


class StoreNotFound(NotFound):
    code = "org.store_not_found"
    message = "找不到该门店"


class NameTaken(Conflict):
    code = "org.name_taken"
    message = "名称已存在"


class PhoneTaken(Conflict):
    code = "org.phone_taken"
    message = "该手机号已登记"


class SalespersonOutsideDistributor(InvalidInput):
    code = "org.salesperson_not_in_distributor"
    message = "该业务员不属于所选经销商"


class StoresNotFound(NotFound):
    code = "org.stores_not_found"
    message = "所选门店中有不存在或无权操作的门店，请刷新后重试"


class NothingToMove(InvalidInput):
    code = "org.nothing_to_move"
    message = "请选择要转移到的经销商或业务员"


class CodeInvalid(NotFound):
    code = "onboarding.code_invalid"
    message = "二维码无效，请确认后重新扫码"


class CodeExhausted(Conflict):
    code = "onboarding.code_used"
    message = "该二维码已被使用"


class ApplicationPending(Conflict):
    code = "onboarding.application_pending"
    message = "您已提交过入驻申请，请等待审核"


class ApplicationNotFound(NotFound):
    code = "onboarding.application_not_found"
    message = "找不到该入驻申请"


class ApplicationReviewed(Conflict):
    code = "onboarding.application_reviewed"
    message = "该申请已审核，不能重复处理"


class StoreNotActive(Conflict):
    code = "org.store_not_active"
    message = "门店已停用，暂不能下单"


class InviterRequired(Forbidden):
    code = "onboarding.inviter_required"
    message = "只有业务员或门店可以生成邀请码"


# ---- views ---------------------------------------------------------------------------------


def region_view(region: Region) -> dict[str, Any]:
    return {"id": region.id, "name": region.name}


def distributor_view(
    distributor: Distributor, region_ids: list[int], counts: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "id": distributor.id,
        "name": distributor.name,
        "contact_name": distributor.contact_name,
        "contact_phone": distributor.contact_phone,
        "wechat_sub_mchid": distributor.wechat_sub_mchid,
        "is_active": distributor.is_active,
        "region_ids": region_ids,
        "store_count": (counts or {}).get("stores", 0),
        "salesperson_count": (counts or {}).get("salespeople", 0),
    }


def salesperson_view(person: Salesperson, store_count: int = 0) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "phone": person.phone,
        "distributor_id": person.distributor_id,  # type: ignore[attr-defined]
        "has_account": person.user_id is not None,  # type: ignore[attr-defined]
        "is_active": person.is_active,
        "store_count": store_count,
    }


def _location(latitude: float | None, longitude: float | None) -> dict[str, float] | None:
    if latitude is None or longitude is None:
        return None
    return {"latitude": latitude, "longitude": longitude}


def store_view(store: Store, tags: list[str]) -> dict[str, Any]:
    return {
        "id": store.id,
        "name": store.name,
        "contact_name": store.contact_name,
        "phone": store.phone,
        "business_licence_no": store.business_licence_no,
        "address": store.address,
        "location": _location(store.latitude, store.longitude),
        "region_id": store.region_id,  # type: ignore[attr-defined]
        "distributor_id": store.distributor_id,  # type: ignore[attr-defined]
        "salesperson_id": store.salesperson_id,  # type: ignore[attr-defined]
        "owner_user_id": store.owner_id,  # type: ignore[attr-defined]
        "tier": store.tier,
        "tags": tags,
        "status": store.status,
        "invited_by_store_id": store.invited_by_store_id,  # type: ignore[attr-defined]
        "invited_by_salesperson_id": store.invited_by_salesperson_id,  # type: ignore[attr-defined]
        "created_at": store.created_at.isoformat(),
    }


def application_view(application: StoreApplication) -> dict[str, Any]:
    return {
        "id": application.id,
        "status": application.status,
        "store_name": application.store_name,
        "contact_name": application.contact_name,
        "phone": application.phone,
        "business_licence_no": application.business_licence_no,
        "address": application.address,
        "location": _location(application.latitude, application.longitude),
        "region_id": application.region_id,  # type: ignore[attr-defined]
        "inviter_salesperson_id": application.inviter_salesperson_id,  # type: ignore[attr-defined]
        "inviter_store_id": application.inviter_store_id,  # type: ignore[attr-defined]
        "suggested_distributor_id": application.suggested_distributor_id,  # type: ignore[attr-defined]
        "duplicate_flags": application.duplicate_flags,
        "reject_reason": application.reject_reason,
        "store_id": application.store_id,  # type: ignore[attr-defined]
        "created_at": application.created_at.isoformat(),
        "reviewed_at": application.reviewed_at.isoformat() if application.reviewed_at else None,
    }


async def _tags_by_store(store_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {store_id: [] for store_id in store_ids}
    rows = (
        await StoreTag.filter(store_id__in=store_ids).order_by("tag").values_list("store_id", "tag")
    )
    for store_id, tag in rows:
        tags[store_id].append(tag)
    return tags


async def _regions_by_distributor(distributor_ids: list[int]) -> dict[int, list[int]]:
    regions: dict[int, list[int]] = {distributor_id: [] for distributor_id in distributor_ids}
    rows = await DistributorServiceArea.filter(distributor_id__in=distributor_ids).values_list(
        "distributor_id", "region_id"
    )
    for distributor_id, region_id in rows:
        regions[distributor_id].append(region_id)
    return regions


async def _store_counts(brand_id: int | None, by: str, ids: list[int]) -> dict[int, int]:
    """How many of the brand's stores each of `ids` (distributors or salespeople) has, in one
    grouped query; `by` is the store's column ("distributor_id" or "salesperson_id")."""
    if not ids:
        return {}
    rows = (
        await Store.filter(brand_id=brand_id, **{f"{by}__in": ids})
        .group_by(by)
        .annotate(stores=Count("id"))
        .values_list(by, "stores")
    )
    return {int(owner): int(stores) for owner, stores in rows}


async def _distributor_counts(
    brand_id: int | None, distributor_ids: list[int]
) -> dict[int, dict[str, int]]:
    stores = await _store_counts(brand_id, "distributor_id", distributor_ids)
    people = (
        await Salesperson.filter(brand_id=brand_id, distributor_id__in=distributor_ids)
        .group_by("distributor_id")
        .annotate(people=Count("id"))
        .values_list("distributor_id", "people")
    )
    salespeople = {int(owner): int(count) for owner, count in people}
    return {
        d: {"stores": stores.get(d, 0), "salespeople": salespeople.get(d, 0)}
        for d in distributor_ids
    }


# ---- brands and regions ---------------------------------------------------------------------


async def create_brand(name: str) -> Brand:
    try:
        return await Brand.create(name=name)
    except IntegrityError as exc:
        raise NameTaken() from exc


async def list_regions(principal: Principal) -> list[dict[str, Any]]:
    regions = await scoped(principal, Region.all(), REGION_TENANCY).order_by("id")
    return [region_view(region) for region in regions]


async def create_region(principal: Principal, name: str) -> dict[str, Any]:
    try:
        region = await Region.create(brand_id=principal.brand_id, name=name)
    except IntegrityError as exc:
        raise NameTaken() from exc
    return region_view(region)


async def rename_region(principal: Principal, region_id: int, name: str) -> dict[str, Any]:
    region = await Region.get_or_none(id=region_id, brand_id=principal.brand_id)
    if region is None:
        raise RegionNotFound()
    try:
        await Region.filter(id=region.id).update(name=name)
    except IntegrityError as exc:
        raise NameTaken() from exc
    region.name = name
    return region_view(region)


async def _brand_regions(brand_id: int | None, region_ids: list[int]) -> list[int]:
    unique = sorted(set(region_ids))
    found = await Region.filter(brand_id=brand_id, id__in=unique).count()
    if found != len(unique):
        raise RegionNotFound()
    return unique


# ---- distributors ---------------------------------------------------------------------------


async def list_distributors(principal: Principal) -> list[dict[str, Any]]:
    distributors = await scoped(principal, Distributor.all(), DISTRIBUTOR_TENANCY).order_by("id")
    ids = [d.id for d in distributors]
    regions = await _regions_by_distributor(ids)
    counts = await _distributor_counts(principal.brand_id, ids)
    return [distributor_view(d, regions[d.id], counts[d.id]) for d in distributors]


async def get_distributor(principal: Principal, distributor_id: int) -> dict[str, Any]:
    distributor = await scoped(
        principal, Distributor.filter(id=distributor_id), DISTRIBUTOR_TENANCY
    ).first()
    if distributor is None:
        raise DistributorNotFound()
    regions = await _regions_by_distributor([distributor.id])
    counts = await _distributor_counts(principal.brand_id, [distributor.id])
    return distributor_view(distributor, regions[distributor.id], counts[distributor.id])


async def create_distributor(
    principal: Principal,
    *,
    name: str,
    contact_phone: str,
    wechat_sub_mchid: str | None,
    region_ids: list[int],
    contact_name: str = "",
) -> dict[str, Any]:
    regions = await _brand_regions(principal.brand_id, region_ids)
    try:
        async with in_transaction():
            distributor = await Distributor.create(
                brand_id=principal.brand_id,
                name=name,
                contact_name=contact_name,
                contact_phone=contact_phone,
                wechat_sub_mchid=wechat_sub_mchid,
            )
            await DistributorServiceArea.bulk_create(
                [DistributorServiceArea(distributor=distributor, region_id=r) for r in regions]
            )
    except IntegrityError as exc:
        raise NameTaken() from exc
    return distributor_view(distributor, regions)


async def update_distributor(
    principal: Principal, distributor_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    distributor = await Distributor.get_or_none(id=distributor_id, brand_id=principal.brand_id)
    if distributor is None:
        raise DistributorNotFound()
    region_ids = changes.pop("region_ids", None)
    regions = (
        await _brand_regions(principal.brand_id, region_ids) if region_ids is not None else None
    )
    try:
        async with sql.atomic():  # its after-commit announcement waits for the commit
            if changes:
                await Distributor.filter(id=distributor.id).update(**changes)
            if "name" in changes:  # every role in it shows its name (GET /me)
                await identity_service.profiles_changed(None)
            if regions is not None:
                await DistributorServiceArea.filter(distributor_id=distributor.id).delete()
                await DistributorServiceArea.bulk_create(
                    [
                        DistributorServiceArea(distributor_id=distributor.id, region_id=r)
                        for r in regions
                    ]
                )
    except IntegrityError as exc:
        raise NameTaken() from exc
    return await get_distributor(principal, distributor.id)


async def _brand_distributor(brand_id: int | None, distributor_id: int) -> Distributor:
    distributor = await Distributor.get_or_none(
        id=distributor_id, brand_id=brand_id, is_active=True
    )
    if distributor is None:
        raise DistributorNotFound()
    return distributor


# ---- salespeople ----------------------------------------------------------------------------


async def list_salespeople(
    principal: Principal, *, distributor_id: int | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """The salespeople the caller sees (optionally one distributor's, active or not), each
    with how many stores they serve."""
    query = scoped(principal, Salesperson.all(), SALESPERSON_TENANCY)
    if distributor_id is not None:
        query = query.filter(distributor_id=distributor_id)
    if active is not None:
        query = query.filter(is_active=active)
    people = await query.order_by("id")
    counts = await _store_counts(principal.brand_id, "salesperson_id", [p.id for p in people])
    return [salesperson_view(p, counts.get(p.id, 0)) for p in people]


async def update_salesperson(
    principal: Principal, salesperson_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Rename, change the phone, deactivate or reactivate. A deactivated salesperson keeps the
    stores (move them on the stores page) but loses the salesperson role in the mini-program
    and can no longer be given stores."""
    person = await scoped(
        principal, Salesperson.filter(id=salesperson_id), SALESPERSON_TENANCY
    ).first()
    if person is None:
        raise SalespersonNotFound()
    try:
        async with sql.atomic():  # its after-commit announcements wait for the commit
            if changes:
                await Salesperson.filter(id=person.id).update(**changes)
            if "name" in changes:  # the salesperson's role shows the name (GET /me)
                await identity_service.profiles_changed(None)
            if "is_active" in changes:
                await identity_service.set_salesperson_access(person.id, changes["is_active"])
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    await person.refresh_from_db()
    counts = await _store_counts(principal.brand_id, "salesperson_id", [person.id])
    return salesperson_view(person, counts.get(person.id, 0))


async def create_salesperson(
    principal: Principal, *, name: str, phone: str, distributor_id: int | None
) -> dict[str, Any]:
    if principal.role not in BRAND_ROLES:
        # Distributor staff may only add salespeople to their own distributor.
        distributor_id = principal.distributor_id
    if distributor_id is not None:
        await _brand_distributor(principal.brand_id, distributor_id)
    try:
        person = await Salesperson.create(
            brand_id=principal.brand_id, distributor_id=distributor_id, name=name, phone=phone
        )
    except IntegrityError as exc:
        raise PhoneTaken() from exc
    return salesperson_view(person)


async def claim_salesperson_profiles(user_id: int, phone: str) -> None:
    """Link salespeople registered under `phone` to the user who just proved that phone."""
    for person in await Salesperson.filter(phone=phone, user_id=None, is_active=True):
        claimed = await Salesperson.filter(id=person.id, user_id=None).update(user_id=user_id)
        if claimed:
            await identity_service.grant_membership(
                user_id,
                Role.SALESPERSON,
                person.brand_id,  # type: ignore[attr-defined]
                distributor_id=person.distributor_id,  # type: ignore[attr-defined]
                salesperson_id=person.id,
            )


async def _brand_salesperson(
    brand_id: int | None, salesperson_id: int, distributor_id: int
) -> Salesperson:
    return await _salesperson_serving(brand_id, salesperson_id, {distributor_id})


async def _salesperson_serving(
    brand_id: int | None, salesperson_id: int, distributor_ids: set[int]
) -> Salesperson:
    """The brand's active salesperson, if they may serve stores of every one of
    `distributor_ids` (a salesperson of no distributor serves any)."""
    person = await Salesperson.get_or_none(id=salesperson_id, brand_id=brand_id, is_active=True)
    if person is None:
        raise SalespersonNotFound()
    own = person.distributor_id  # type: ignore[attr-defined]
    if own is not None and distributor_ids - {own}:
        raise SalespersonOutsideDistributor()
    return person


# ---- stores ---------------------------------------------------------------------------------


class StoreOrders(Protocol):
    async def store_order_summaries(
        self, principal: Principal, store_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]: ...


# Orders are ordering's, and ordering depends on org: app.py plugs ordering's service in.
ORDERS: Port[StoreOrders] = Port("org.service.ORDERS")


async def store_order_summaries(
    principal: Principal, store_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Each store's order count and last order (cancelled ones left out), as the caller may
    see them: what the store list and its export show beside each store."""
    return await ORDERS().store_order_summaries(principal, store_ids)


async def list_stores(
    principal: Principal,
    *,
    after: int | None,
    limit: int,
    distributor_id: int | None = None,
    salesperson_id: int | None = None,
    tier: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    name: str | None = None,
    q: str | None = None,
) -> list[dict[str, Any]]:
    """By id (limit + 1 rows); `q` finds a name or a phone number containing it."""
    query = scoped(principal, Store.all(), STORE_TENANCY)
    if q:
        query = query.filter(Q(name__icontains=q) | Q(phone__contains=q))
    filters: dict[str, Any] = {
        "distributor_id": distributor_id,
        "salesperson_id": salesperson_id,
        "tier": tier,
        "status": status,
        "id__gt": after,
        "name__icontains": name,
    }
    query = query.filter(**{key: value for key, value in filters.items() if value is not None})
    if tag:
        query = query.filter(tags__tag=tag)  # (store, tag) is unique, so the join adds no rows
    stores = await query.order_by("id").limit(limit + 1)
    tags = await _tags_by_store([s.id for s in stores])
    return [store_view(s, tags[s.id]) for s in stores]


async def store_tags_in_use(principal: Principal) -> list[str]:
    """Every tag on the stores the caller sees, once each, in order: the tag filter's choices."""
    visible = scoped(principal, Store.all(), STORE_TENANCY).values_list("id", flat=True)
    tags = (
        await StoreTag.filter(store_id__in=Subquery(visible))
        .distinct()
        .values_list("tag", flat=True)
    )
    return sorted({str(tag) for tag in tags})


async def _visible_store(principal: Principal, store_id: int) -> Store:
    store = await scoped(principal, Store.filter(id=store_id), STORE_TENANCY).first()
    if store is None:
        raise StoreNotFound()
    return store


async def get_store(principal: Principal, store_id: int) -> dict[str, Any]:
    store = await _visible_store(principal, store_id)
    tags = await _tags_by_store([store.id])
    return store_view(store, tags[store.id])


async def update_store(
    deps: Deps, principal: Principal, store_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    store = await _visible_store(principal, store_id)
    tags = changes.pop("tags", None)
    placement = {k: changes.pop(k) for k in ("distributor_id", "salesperson_id") if k in changes}
    moves = await _placements(principal, [store], **placement) if placement else {}
    async with sql.atomic():  # its after-commit announcements wait for the commit
        if changes:
            await Store.filter(id=store.id).update(**changes)
        if "name" in changes:  # its owners' and clerks' roles show the name (GET /me)
            await identity_service.profiles_changed(None)
        await _apply_placements(moves)
        # The form sends the tags it shows: only a real change is written and announced.
        if tags is not None and set(tags) != set((await _tags_by_store([store.id]))[store.id]):
            await StoreTag.filter(store_id=store.id).delete()
            await StoreTag.bulk_create(
                [StoreTag(store_id=store.id, tag=t) for t in sorted(set(tags))]
            )
            await _tags_changed(deps, principal.brand_id, [store.id])
    return await get_store(principal, store.id)


async def _tags_changed(deps: Deps, brand_id: int | None, store_ids: Iterable[int]) -> None:
    """Inside the tag change's transaction: tell whoever files figures under the stores'
    tags (analytics) that these stores' tags are not what they were."""
    changed = tuple(sorted(set(store_ids)))
    if brand_id is not None and changed:
        await events.record(deps, StoreTagsChanged(brand_id, changed, deps.clock.now()))


_UNCHANGED: Any = object()  # a salesperson left out of a move, as opposed to None (no one)


async def _placements(
    principal: Principal,
    stores: list[Store],
    distributor_id: int | None = None,
    salesperson_id: int | None = _UNCHANGED,
) -> dict[tuple[int, int | None], list[int]]:
    """Where each store goes, checked before anything is written: {(distributor, salesperson):
    store ids}, only the stores that change. A salesperson must serve the distributor each
    store ends up with; a store changing distributor without a salesperson named loses its
    salesperson (who served the old distributor)."""
    if distributor_id is not None:
        await _brand_distributor(principal.brand_id, distributor_id)
    ends_with = {
        store.id: distributor_id or store.distributor_id  # type: ignore[attr-defined]
        for store in stores
    }
    if salesperson_id not in (None, _UNCHANGED):
        await _salesperson_serving(principal.brand_id, salesperson_id, set(ends_with.values()))
    moves: dict[tuple[int, int | None], list[int]] = {}
    for store in stores:
        current = (store.distributor_id, store.salesperson_id)  # type: ignore[attr-defined]
        target_distributor = ends_with[store.id]
        if salesperson_id is not _UNCHANGED:
            target_salesperson = salesperson_id
        elif target_distributor != current[0]:
            target_salesperson = None
        else:
            target_salesperson = current[1]
        target = (target_distributor, target_salesperson)
        if target != current:
            moves.setdefault(target, []).append(store.id)
    return moves


async def _apply_placements(moves: dict[tuple[int, int | None], list[int]]) -> None:
    """Inside the caller's transaction: the stores' new distributor and salesperson, and their
    owners' and clerks' roles, which name the distributor they buy from."""
    for (distributor_id, salesperson_id), store_ids in moves.items():
        await Store.filter(id__in=store_ids).update(
            distributor_id=distributor_id, salesperson_id=salesperson_id
        )
        await identity_service.move_store_memberships(store_ids, distributor_id)


async def _visible_stores(principal: Principal, store_ids: list[int]) -> list[Store]:
    """All of `store_ids`, or StoresNotFound when any is missing or not the caller's."""
    wanted = sorted(set(store_ids))
    stores = await scoped(principal, Store.filter(id__in=wanted), STORE_TENANCY).order_by("id")
    if len(stores) != len(wanted):
        raise StoresNotFound()
    return stores


async def move_stores(
    principal: Principal,
    store_ids: list[int],
    *,
    distributor_id: int | None = None,
    salesperson_id: int | None = _UNCHANGED,
) -> dict[str, Any]:
    """Move stores to another distributor and/or salesperson (None: to no salesperson), all or
    nothing. Answers how many stores actually changed."""
    if distributor_id is None and salesperson_id is _UNCHANGED:
        raise NothingToMove()
    stores = await _visible_stores(principal, store_ids)
    moves = await _placements(principal, stores, distributor_id, salesperson_id)
    async with sql.atomic():  # its after-commit announcements wait for the commit
        await _apply_placements(moves)
    changed = sorted(store_id for ids in moves.values() for store_id in ids)
    return {"changed": len(changed), "store_ids": changed}


async def tag_stores(
    deps: Deps, principal: Principal, store_ids: list[int], *, add: list[str], remove: list[str]
) -> dict[str, Any]:
    """Add and remove tags on many stores at once, all or nothing. Answers how many stores
    actually changed (a tag a store already has, or lacks, changes nothing)."""
    adding, removing = set(add), set(remove)
    if not adding and not removing:
        raise InvalidInput(
            "请填写要添加或移除的标签",
            details=[{"field": "add", "type": "missing", "message": "添加与移除不能都为空"}],
        )
    if adding & removing:
        raise InvalidInput(
            "同一个标签不能既添加又移除",
            details=[{"field": "remove", "type": "overlap", "message": "与添加的标签重复"}],
        )
    stores = await _visible_stores(principal, store_ids)
    ids = [store.id for store in stores]
    existing = set(
        await StoreTag.filter(store_id__in=ids, tag__in=sorted(adding | removing)).values_list(
            "store_id", "tag"
        )
    )
    new_rows = [(s, t) for s in ids for t in sorted(adding) if (s, t) not in existing]
    gone = [(s, t) for s, t in existing if t in removing]
    async with in_transaction():
        # ignore_conflicts: a tag another admin added meanwhile is simply there already.
        await StoreTag.bulk_create(
            [StoreTag(store_id=s, tag=t) for s, t in new_rows], ignore_conflicts=True
        )
        if gone:
            await StoreTag.filter(store_id__in=ids, tag__in=sorted(removing)).delete()
        changed = sorted({s for s, _ in new_rows} | {s for s, _ in gone})
        await _tags_changed(deps, principal.brand_id, changed)
    return {"changed": len(changed), "store_ids": changed}


async def store_batches(
    principal: Principal, filters: dict[str, Any], batch: int = 500
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every store the caller sees matching `filters`, by id, one list per query: what an
    export reads without holding the whole list at once."""
    after: int | None = None
    while True:
        found = await list_stores(principal, after=after, limit=batch, **filters)
        rows = found[:batch]
        if rows:
            yield rows
        if len(found) <= batch:
            return
        after = rows[-1]["id"]


@dataclass(frozen=True)
class StoreContext:
    """What ordering needs to know about the store an order is for."""

    id: int
    brand_id: int
    distributor_id: int
    salesperson_id: int | None
    tier: str
    name: str
    region_id: int | None = None
    # In order: what promotion and coupon audiences that name tags look at.
    tags: tuple[str, ...] = ()


async def store_for_ordering(principal: Principal, store_id: int | None) -> StoreContext:
    """The store the caller orders for: their own, or (a salesperson) one they serve."""
    if principal.role in STORE_ROLES:
        store_id = principal.store_id
    if store_id is None:
        raise StoreNotFound()
    # Every quote, cart view and order starts here: fixed SQL (infra/sql.py), then the same
    # tenancy rule scoped() applies. The store's tags come in the same statement (a row per
    # tag, one row with a NULL tag when it has none), rather than a query of their own for
    # the promotions whose audience names tags.
    rows = await sql.fetch(
        "SELECT s.id, s.brand_id, s.distributor_id, s.salesperson_id, s.tier, s.name, s.status,"
        " s.region_id, t.tag FROM stores s LEFT JOIN store_tags t ON t.store_id = s.id"
        " WHERE s.id = $1 ORDER BY t.tag",
        store_id,
    )
    row = rows[0] if rows else None
    if row is None or not may_see(principal, row, STORE_TENANCY):
        raise StoreNotFound()
    if row["status"] != "active":
        raise StoreNotActive()
    return StoreContext(
        id=row["id"],
        brand_id=row["brand_id"],
        distributor_id=row["distributor_id"],
        salesperson_id=row["salesperson_id"],
        tier=row["tier"],
        name=row["name"],
        region_id=row["region_id"],
        tags=tuple(tagged["tag"] for tagged in rows if tagged["tag"] is not None),
    )


# ---- onboarding codes -----------------------------------------------------------------------


def code_view(deps: Deps, code: OnboardingCode) -> dict[str, Any]:
    token = codes.sign(code.public_id, deps.settings.code_signing_secret)
    return {
        "id": code.id,
        "kind": code.kind,
        "token": token,
        "url": codes.join_url(deps.settings.public_base_url, token),
        "qr_png_url": f"{deps.settings.public_base_url}/api/v1/onboarding/codes/{token}/qr.png",
        "short_code": codes.short_code(code.id),
        "batch": code.batch,
        "max_uses": code.max_uses,
        "uses": code.uses,
    }


async def invitation_code(deps: Deps, principal: Principal) -> dict[str, Any]:
    """The caller's own invitation: one per salesperson or store, made on first request."""
    if principal.role == Role.SALESPERSON and principal.salesperson_id is not None:
        kind, salesperson_id, store_id = CodeKind.SALESPERSON_INVITE, principal.salesperson_id, None
    elif principal.role in STORE_ROLES and principal.store_id is not None:
        kind, salesperson_id, store_id = CodeKind.STORE_INVITE, None, principal.store_id
    else:
        raise InviterRequired()
    assert principal.brand_id is not None
    code = await ensure_invitation_code(
        principal.brand_id, kind, salesperson_id=salesperson_id, store_id=store_id
    )
    return code_view(deps, code)


async def ensure_invitation_code(
    brand_id: int, kind: CodeKind, *, salesperson_id: int | None, store_id: int | None
) -> OnboardingCode:
    """A salesperson's or store's one invitation code, made on first need (the unique inviter
    key keeps it one even when two requests make it at once)."""
    inviter_key = f"{kind.value}:{salesperson_id or store_id}"
    existing = await OnboardingCode.get_or_none(inviter_key=inviter_key)
    if existing is not None:
        return existing
    try:
        return await OnboardingCode.create(
            brand_id=brand_id,
            kind=kind.value,
            public_id=codes.new_public_id(),
            inviter_salesperson_id=salesperson_id,
            inviter_store_id=store_id,
            inviter_key=inviter_key,
        )
    except IntegrityError:
        # A concurrent request made it first; there is exactly one.
        return await OnboardingCode.get(inviter_key=inviter_key)


async def _code_from_token(deps: Deps, token: str) -> OnboardingCode:
    public_id = codes.unsign(token, deps.settings.code_signing_secret)
    code = await OnboardingCode.get_or_none(public_id=public_id) if public_id else None
    if code is None or code.revoked_at is not None:
        raise CodeInvalid()
    return code


async def describe_code(deps: Deps, token: str) -> dict[str, Any]:
    """What a person sees after scanning: whose code it is, prefilled into the application."""
    code = await _code_from_token(deps, token)
    await code.fetch_related("brand", "distributor", "inviter_salesperson", "inviter_store")
    inviter: dict[str, Any] | None = None
    if code.inviter_salesperson is not None:
        inviter = {
            "kind": "salesperson",
            "id": code.inviter_salesperson.id,
            "name": code.inviter_salesperson.name,
        }
    elif code.inviter_store is not None:
        inviter = {"kind": "store", "id": code.inviter_store.id, "name": code.inviter_store.name}
    return {
        "kind": code.kind,
        "brand": {"id": code.brand.id, "name": code.brand.name},
        "distributor": {"id": code.distributor.id, "name": code.distributor.name}
        if code.distributor
        else None,
        "inviter": inviter,
        "usable": code.max_uses is None or code.uses < code.max_uses,
    }


def qr_for_token(deps: Deps, token: str) -> bytes:
    if codes.unsign(token, deps.settings.code_signing_secret) is None:
        raise CodeInvalid()
    return codes.qr_png(codes.join_url(deps.settings.public_base_url, token))


# ---- store applications ---------------------------------------------------------------------


async def _duplicate_flags(
    brand_id: int, phone: str, licence: str | None, exclude_applicant: int
) -> list[dict[str, Any]]:
    match = Q(phone=phone)
    if licence:
        match |= Q(business_licence_no=licence)
    flags: list[dict[str, Any]] = []
    for store in await Store.filter(match, brand_id=brand_id).order_by("id"):
        flags.extend(
            {"field": field, "store_id": store.id}
            for field, value in (
                ("phone", store.phone),
                ("business_licence_no", store.business_licence_no),
            )
            if value and value in (phone, licence)
        )
    others = StoreApplication.filter(
        match, brand_id=brand_id, status=ApplicationStatus.PENDING.value
    )
    for other in await others.exclude(applicant_id=exclude_applicant).order_by("id"):
        flags.extend(
            {"field": field, "application_id": other.id}
            for field, value in (
                ("phone", other.phone),
                ("business_licence_no", other.business_licence_no),
            )
            if value and value in (phone, licence)
        )
    return flags


async def submit_application(
    deps: Deps, principal: Principal, token: str, details: dict[str, Any]
) -> dict[str, Any]:
    code = await _code_from_token(deps, token)
    brand_id: int = code.brand_id  # type: ignore[attr-defined]
    if details.get("region_id") is not None and not await Region.exists(
        id=details["region_id"], brand_id=brand_id
    ):
        raise RegionNotFound()
    flags = await _duplicate_flags(
        brand_id, details["phone"], details.get("business_licence_no"), principal.user_id
    )
    try:
        async with sql.transaction():
            if code.max_uses is not None:
                taken = await OnboardingCode.filter(id=code.id, uses__lt=code.max_uses).update(
                    uses=F("uses") + 1
                )
                if not taken:
                    raise CodeExhausted()
            application = await StoreApplication.create(
                brand_id=brand_id,
                applicant_id=principal.user_id,
                code=code,
                open_key=f"{brand_id}:{principal.user_id}",
                inviter_salesperson_id=code.inviter_salesperson_id,  # type: ignore[attr-defined]
                inviter_store_id=code.inviter_store_id,  # type: ignore[attr-defined]
                suggested_distributor_id=code.distributor_id,  # type: ignore[attr-defined]
                duplicate_flags=flags,
                **details,
            )
            await _tell_reviewers(deps, application)
    except IntegrityError as exc:
        raise ApplicationPending() from exc
    return application_view(application)


async def _tell_reviewers(deps: Deps, application: StoreApplication) -> None:
    """A new application is news for the brand's staff, who review it, and for the
    distributor its code named, whose store it may become (in the application's
    transaction; pushed once it commits)."""
    brand_id: int = application.brand_id  # type: ignore[attr-defined]
    told = await identity_service.brand_staff_user_ids(brand_id)
    if (distributor_id := application.suggested_distributor_id) is not None:  # type: ignore[attr-defined]
        told += await identity_service.distributor_staff_user_ids(brand_id, distributor_id)
    await notifications_service.notify(
        brand_id,
        told,
        kind="application.submitted",
        title=f"新的门店入驻申请：{application.store_name}",
        body=f"{application.contact_name} · {application.address}",
        link=f"application:{application.id}",
        now=deps.clock.now(),
        broadcast=deps.broadcast,
    )


async def my_applications(principal: Principal) -> list[dict[str, Any]]:
    applications = await StoreApplication.filter(applicant_id=principal.user_id).order_by("-id")
    return [application_view(a) for a in applications]


APPLICATION_STATUS_NAMES = {
    ApplicationStatus.PENDING: "待审核",
    ApplicationStatus.APPROVED: "已通过",
    ApplicationStatus.REJECTED: "已拒绝",
}


def invited_application_view(
    application: StoreApplication, own_store_ids: set[int]
) -> dict[str, Any]:
    """An application as the salesperson whose invitation it came through sees it: who
    applied and how the review went, without the reviewer's material (licence, duplicates).
    The store is named only when it was given to this salesperson."""
    status = ApplicationStatus(application.status)
    store_id = application.store_id  # type: ignore[attr-defined]
    return {
        "id": application.id,
        "status": status.value,
        "status_name": APPLICATION_STATUS_NAMES[status],
        "store_name": application.store_name,
        "contact_name": application.contact_name,
        "phone": application.phone,
        "address": application.address,
        "reject_reason": application.reject_reason,
        "store_id": store_id if store_id in own_store_ids else None,
        "created_at": application.created_at.isoformat(),
        "reviewed_at": application.reviewed_at.isoformat() if application.reviewed_at else None,
    }


async def invited_applications(
    principal: Principal, *, status: str | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The applications that came in through the calling salesperson's invitation, newest
    first (limit + 1 rows, keyset `before`); nobody else's, and nothing for other roles."""
    query = scoped(principal, StoreApplication.all(), INVITED_APPLICATION_TENANCY)
    if status:
        query = query.filter(status=status)
    if before:
        query = query.filter(id__lt=before)
    applications = await query.order_by("-id").limit(limit + 1)
    store_ids = [a.store_id for a in applications if a.store_id is not None]  # type: ignore[attr-defined]
    own: set[int] = set()
    if store_ids:
        found = await scoped(principal, Store.filter(id__in=store_ids), STORE_TENANCY).values_list(
            "id", flat=True
        )
        own = {int(store_id) for store_id in found}  # type: ignore[call-overload]
    return [invited_application_view(a, own) for a in applications]


async def list_applications(
    principal: Principal, *, status: str | None, after: int | None, limit: int
) -> list[dict[str, Any]]:
    query = scoped(principal, StoreApplication.all(), APPLICATION_TENANCY)
    if status:
        query = query.filter(status=status)
    if after:
        query = query.filter(id__gt=after)
    return [application_view(a) for a in await query.order_by("id").limit(limit + 1)]


async def _brand_application(principal: Principal, application_id: int) -> StoreApplication:
    application = await scoped(
        principal, StoreApplication.filter(id=application_id), APPLICATION_TENANCY
    ).first()
    if application is None:
        raise ApplicationNotFound()
    return application


async def get_application(principal: Principal, application_id: int) -> dict[str, Any]:
    return application_view(await _brand_application(principal, application_id))


async def approve_application(
    deps: Deps,
    principal: Principal,
    application_id: int,
    *,
    distributor_id: int,
    salesperson_id: int | None,
    tier: str,
) -> dict[str, Any]:
    application = await _brand_application(principal, application_id)
    await _brand_distributor(principal.brand_id, distributor_id)
    if salesperson_id is not None:
        await _brand_salesperson(principal.brand_id, salesperson_id, distributor_id)
    async with sql.atomic():  # its after-commit announcement waits for the commit
        decided = await StoreApplication.filter(
            id=application.id, status=ApplicationStatus.PENDING.value
        ).update(
            status=ApplicationStatus.APPROVED.value,
            open_key=None,
            reviewed_by_id=principal.user_id,
            reviewed_at=deps.clock.now(),
        )
        if not decided:
            raise ApplicationReviewed()
        store = await Store.create(
            brand_id=application.brand_id,  # type: ignore[attr-defined]
            name=application.store_name,
            contact_name=application.contact_name,
            phone=application.phone,
            business_licence_no=application.business_licence_no,
            address=application.address,
            latitude=application.latitude,
            longitude=application.longitude,
            region_id=application.region_id,  # type: ignore[attr-defined]
            owner_id=application.applicant_id,  # type: ignore[attr-defined]
            distributor_id=distributor_id,
            salesperson_id=salesperson_id,
            tier=tier,
            invited_by_store_id=application.inviter_store_id,  # type: ignore[attr-defined]
            invited_by_salesperson_id=application.inviter_salesperson_id,  # type: ignore[attr-defined]
        )
        await StoreApplication.filter(id=application.id).update(store_id=store.id)
        await identity_service.grant_membership(
            application.applicant_id,  # type: ignore[attr-defined]
            Role.STORE_OWNER,
            store.brand_id,  # type: ignore[attr-defined]
            distributor_id=distributor_id,
            store_id=store.id,
        )
    return await get_application(principal, application.id)


async def reject_application(
    deps: Deps, principal: Principal, application_id: int, *, reason: str
) -> dict[str, Any]:
    application = await _brand_application(principal, application_id)
    async with in_transaction():
        decided = await StoreApplication.filter(
            id=application.id, status=ApplicationStatus.PENDING.value
        ).update(
            status=ApplicationStatus.REJECTED.value,
            open_key=None,
            reject_reason=reason,
            reviewed_by_id=principal.user_id,
            reviewed_at=deps.clock.now(),
        )
        if not decided:
            raise ApplicationReviewed()
        # A rejected applicant may fix the details and apply again with the same box code.
        await OnboardingCode.filter(id=application.code_id, max_uses__not_isnull=True).update(  # type: ignore[attr-defined]
            uses=F("uses") - 1
        )
    return await get_application(principal, application.id)


# ---- staff accounts -------------------------------------------------------------------------

STAFF_ROLES_GRANTABLE = {
    Role.BRAND_ADMIN,
    Role.BRAND_OPS,
    Role.DISTRIBUTOR_ADMIN,
    Role.DISTRIBUTOR_STAFF,
}


class StaffRoleNotAllowed(Forbidden):
    code = "staff.role_not_allowed"
    message = "经销商管理员只能开通本经销商的员工账号"


async def create_staff_account(
    principal: Principal,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    distributor_id: int | None,
) -> dict[str, Any]:
    """A brand admin opens a console account for brand or distributor staff; a distributor
    admin for its own distributor's staff (the distributor may be left out: its own)."""
    if principal.role == Role.DISTRIBUTOR_ADMIN.value:
        if role not in DISTRIBUTOR_ROLES:
            raise StaffRoleNotAllowed()
        if distributor_id is not None and distributor_id != principal.distributor_id:
            raise DistributorNotFound()
        distributor_id = principal.distributor_id
    needs_distributor = role in DISTRIBUTOR_ROLES
    if needs_distributor != (distributor_id is not None):
        raise InvalidInput(
            "经销商角色必须指定经销商，品牌角色不能指定经销商",
            details=[{"field": "distributor_id", "type": "role_mismatch", "message": "与角色不符"}],
        )
    if distributor_id is not None:
        await _brand_distributor(principal.brand_id, distributor_id)
    assert principal.brand_id is not None
    async with sql.atomic():  # its after-commit announcement waits for the commit
        user = await identity_service.create_staff_user(username, password, display_name)
        membership = await identity_service.grant_membership(
            user.id, role, principal.brand_id, distributor_id=distributor_id
        )
    return {
        "user_id": user.id,
        "username": username,
        "display_name": display_name,
        "membership_id": membership.id,
        "role": role.value,
        "distributor_id": distributor_id,
    }


async def _with_distributor_names(
    principal: Principal, accounts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    assert principal.brand_id is not None
    named = await names(
        principal.brand_id,
        "distributor",
        [a["distributor_id"] for a in accounts if a["distributor_id"]],
    )
    return [{**a, "distributor_name": named.get(a["distributor_id"], "")} for a in accounts]


async def list_staff(principal: Principal, **filters: Any) -> list[dict[str, Any]]:
    """The console accounts the caller manages (identity's staff_accounts), with the names of
    their distributors."""
    return await _with_distributor_names(
        principal, await identity_service.staff_accounts(principal, **filters)
    )


async def set_staff_active(
    deps: Deps, principal: Principal, user_id: int, *, active: bool, cache: Any = None
) -> dict[str, Any]:
    """Deactivate or reactivate a staff account (`cache`: the process's revocation cache).
    The brand's row is locked first, so two admins deactivating each other at once cannot
    leave the brand without one."""
    async with sql.transaction():
        await sql.execute("UPDATE brands SET name = name WHERE id = $1", principal.brand_id)
        account = await identity_service.set_staff_active(
            deps, principal, user_id, active=active, cache=cache
        )
    [named] = await _with_distributor_names(principal, [account])
    return named


async def reset_staff_password(
    deps: Deps, principal: Principal, user_id: int, password: str | None, *, cache: Any = None
) -> dict[str, Any]:
    return await identity_service.reset_staff_password(
        deps, principal, user_id, password, cache=cache
    )


async def distributor_sub_mchid(distributor_id: int) -> str | None:
    """The WeChat Pay sub-merchant that a distributor's stores pay into, if it has one."""
    distributor = await Distributor.get(id=distributor_id)
    return distributor.wechat_sub_mchid


# ---- for promotions -------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreProfile:
    """What promotion audiences look at: distributor, region, tier and tags."""

    id: int
    distributor_id: int
    region_id: int | None
    tier: str
    tags: tuple[str, ...]


async def store_tags(store_id: int) -> tuple[str, ...]:
    """The store's tags in order: fixed SQL (infra/sql.py), as quotes under promotions with
    tag audiences ask it."""
    rows = await sql.fetch("SELECT tag FROM store_tags WHERE store_id = $1 ORDER BY tag", store_id)
    return tuple(row["tag"] for row in rows)


async def store_profile(principal: Principal, store_id: int) -> StoreProfile:
    """A store the caller may see, as a promotion audience sees it (404 otherwise)."""
    store = await _visible_store(principal, store_id)
    tags = await _tags_by_store([store.id])
    return StoreProfile(
        id=store.id,
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        region_id=store.region_id,  # type: ignore[attr-defined]
        tier=store.tier,
        tags=tuple(tags[store.id]),
    )


async def names(brand_id: int, kind: str, ids: Iterable[int]) -> dict[int, str]:
    """The names of the brand's stores, distributors, salespeople or regions among `ids`, for
    lists that show them."""
    model = {
        "distributor": Distributor,
        "store": Store,
        "salesperson": Salesperson,
        "region": Region,
    }[kind]
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await model.filter(brand_id=brand_id, id__in=wanted).values_list("id", "name")
    return {int(object_id): str(name) for object_id, name in rows}


async def brand_name(brand_id: int) -> str:
    """How the brand is named on documents it is a party to (a signed display agreement)."""
    brand = await Brand.get(id=brand_id)
    return brand.name


async def known_ids(brand_id: int, kind: str, ids: Iterable[int]) -> set[int]:
    """Which of `ids` are the brand's objects of `kind` (distributor, region)."""
    model = {"distributor": Distributor, "region": Region}[kind]
    found = await model.filter(brand_id=brand_id, id__in=list(ids)).values_list("id", flat=True)
    return {int(object_id) for object_id in found}  # type: ignore[call-overload]


async def distributor_store_tags(brand_id: int, distributor_id: int) -> list[dict[str, Any]]:
    """The tags on a distributor's active stores, each with how many stores carry it: what a
    live session may invite by."""
    rows = (
        await StoreTag.filter(
            store__brand_id=brand_id,
            store__distributor_id=distributor_id,
            store__status=StoreStatus.ACTIVE.value,
        )
        .group_by("tag")
        .annotate(stores=Count("id"))
        .order_by("tag")
        .values_list("tag", "stores")
    )
    return [{"tag": tag, "stores": int(stores)} for tag, stores in rows]


async def active_store_ids(
    brand_id: int,
    *,
    distributor_ids: Sequence[int] = (),
    region_ids: Sequence[int] = (),
    tiers: Sequence[str] = (),
    tags: Sequence[str] = (),
    store_ids: Sequence[int] = (),
) -> list[int]:
    """The brand's active stores in an audience (each non-empty dimension must match, as a
    promotion's audience does), by id: whom a coupon batch goes to (which may name stores)."""
    stores = Store.filter(brand_id=brand_id, status=StoreStatus.ACTIVE.value)
    if store_ids:
        stores = stores.filter(id__in=list(store_ids))
    if distributor_ids:
        stores = stores.filter(distributor_id__in=list(distributor_ids))
    if region_ids:
        stores = stores.filter(region_id__in=list(region_ids))
    if tiers:
        stores = stores.filter(tier__in=list(tiers))
    if tags:
        tagged = StoreTag.filter(tag__in=list(tags)).values_list("store_id", flat=True)
        stores = stores.filter(id__in=Subquery(tagged))
    ids = await stores.order_by("id").values_list("id", flat=True)
    return [int(store_id) for store_id in ids]  # type: ignore[call-overload]


@dataclass(frozen=True)
class FirstPaid:
    """Whether a paid order was its store's first (and first self) paid order, and who is owed
    a first-order reward: the store that invited it, the salesperson who onboarded it."""

    first: bool
    first_self: bool
    invited_by_store_id: int | None
    onboarded_by_salesperson_id: int | None


async def lock_store(store_id: int) -> None:
    """Hold the store's row until the caller's transaction ends, so that what other domains
    count per store (coupons claimed, promotion uses) is counted by one transaction at a time.
    A no-op UPDATE locks on PostgreSQL; SQLite has one writer anyway."""
    await sql.execute("UPDATE stores SET id = id WHERE id = $1", store_id)


def first_orders_paid_sql(store_id: str, channel: str, self_channel: str) -> str:
    """An SQL condition, true when the store has had its first paid order and, for an order
    of the self channel, its first paid self order: no first-order reward is due, so a
    payment may skip mark_first_paid. `store_id`, `channel`: SQL expressions of the order's
    store and channel; `self_channel`: the self channel's value (a constant, quoted here)."""
    return (
        "EXISTS (SELECT 1 FROM stores s WHERE s.id = "  # noqa: S608 (the caller's expressions)
        f"{store_id} AND s.first_paid_order_id IS NOT NULL"
        f" AND ({channel} <> '{self_channel}' OR s.first_self_paid_order_id IS NOT NULL))"
    )


async def mark_first_paid(store_id: int, order_id: int, *, self_order: bool) -> FirstPaid:
    """In the payment's transaction: record the order as the store's first paid (and first
    paid self) order if there was none. Guarded updates, so of two orders paid at once only
    one is first."""
    first = await sql.fetch_one(
        "UPDATE stores SET first_paid_order_id = $1 WHERE id = $2"
        " AND first_paid_order_id IS NULL"
        " RETURNING invited_by_store_id, invited_by_salesperson_id",
        order_id,
        store_id,
    )
    first_self = None
    if self_order:
        first_self = await sql.fetch_one(
            "UPDATE stores SET first_self_paid_order_id = $1 WHERE id = $2"
            " AND first_self_paid_order_id IS NULL RETURNING invited_by_salesperson_id",
            order_id,
            store_id,
        )
    return FirstPaid(
        first=first is not None,
        first_self=first_self is not None,
        invited_by_store_id=None if first is None else first["invited_by_store_id"],
        onboarded_by_salesperson_id=None
        if first_self is None
        else first_self["invited_by_salesperson_id"],
    )


async def service_area(distributor_id: int, region_id: int) -> tuple[int, bool]:
    """How many regions a distributor serves (0: no service area set) and whether `region_id`
    is one of them: one indexed read, on product codes' scan path (diversion checks)."""
    row = await sql.fetch_one(
        "SELECT COUNT(*) AS regions,"
        " COALESCE(SUM(CASE WHEN region_id = $2 THEN 1 ELSE 0 END), 0) AS covers"
        " FROM distributor_service_areas WHERE distributor_id = $1",
        distributor_id,
        region_id,
    )
    if row is None:
        return 0, False
    return int(row["regions"]), int(row["covers"]) > 0


async def store_distributor_id(store_id: int) -> int:
    """The distributor serving a store (for other domains routing work to it)."""
    store = await Store.get(id=store_id)
    return int(store.distributor_id)  # type: ignore[attr-defined]


async def order_contact(store_id: int, salesperson_id: int | None) -> dict[str, Any]:
    """Whom an order goes to and who serves the store, as the order's page shows them: the
    store's name, contact, phone and delivery address, and the order's salesperson (None
    when it had none), in one query."""
    row = await sql.fetch_one(
        "SELECT s.name, s.contact_name, s.phone, s.address,"
        " p.id AS salesperson_id, p.name AS salesperson_name, p.phone AS salesperson_phone"
        " FROM stores s LEFT JOIN salespeople p ON p.id = $2 WHERE s.id = $1",
        store_id,
        salesperson_id,
    )
    if row is None:
        return {"store": None, "salesperson": None}
    salesperson = (
        None
        if row["salesperson_id"] is None
        else {
            "id": int(row["salesperson_id"]),
            "name": row["salesperson_name"],
            "phone": row["salesperson_phone"],
        }
    )
    store = {
        "id": store_id,
        "name": row["name"],
        "contact_name": row["contact_name"],
        "phone": row["phone"],
        "address": row["address"],
    }
    return {"store": store, "salesperson": salesperson}


async def add_store_contacts(views: list[dict[str, Any]]) -> None:
    """Puts beside each view's `store_id` the store's name, contact, phone and address, as
    `store`, in one query for the page: for the brand's lists of things sent to stores. The
    caller has scoped the views to its tenant."""
    if not views:
        return
    wanted = list({view["store_id"] for view in views})
    rows = await Store.filter(id__in=wanted).values(
        "id", "name", "contact_name", "phone", "address"
    )
    stores = {int(row["id"]): row for row in rows}
    for view in views:
        view["store"] = stores.get(view["store_id"])


async def store_cards(brand_id: int, store_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The brand's stores among `store_ids` as a display review shows them beside a photo:
    name, address, location, and who serves them (distributor, salesperson), in one query."""
    wanted = list(set(store_ids))
    if not wanted:
        return {}
    rows = await Store.filter(brand_id=brand_id, id__in=wanted).values(
        "id", "name", "address", "latitude", "longitude", "distributor_id", "salesperson_id"
    )
    return {int(row["id"]): dict(row) for row in rows}


async def salesperson_store_ids(brand_id: int, salesperson_id: int) -> list[int]:
    """The stores a salesperson serves now (stores.salesperson_id), by id."""
    ids = await Store.filter(brand_id=brand_id, salesperson_id=salesperson_id).values_list(
        "id", flat=True
    )
    return sorted(int(store_id) for store_id in ids)  # type: ignore[call-overload]


# ---- for imports (backend/imports): the brand's names, and stores written in bulk --------------


async def lock_brand(brand_id: int) -> None:
    """Inside a transaction: wait for the brand's other writers that lock it (imports, staff
    changes) to finish, so what was checked stays true until this one commits. A no-op
    UPDATE locks the row on both databases (SQLite's FOR UPDATE is silently ignored)."""
    await sql.execute("UPDATE brands SET name = name WHERE id = $1", brand_id)


async def region_ids_by_name(brand_id: int) -> dict[str, int]:
    rows = await Region.filter(brand_id=brand_id).values_list("name", "id")
    return {str(name): int(region_id) for name, region_id in rows}


async def distributor_ids_by_name(brand_id: int) -> dict[str, int]:
    """The brand's active distributors: the ones a store may be given to."""
    rows = await Distributor.filter(brand_id=brand_id, is_active=True).values_list("name", "id")
    return {str(name): int(distributor_id) for name, distributor_id in rows}


async def active_salespeople(brand_id: int) -> list[dict[str, Any]]:
    """id, name, phone and distributor_id of the brand's active salespeople."""
    return list(
        await Salesperson.filter(brand_id=brand_id, is_active=True)
        .order_by("id")
        .values("id", "name", "phone", "distributor_id")
    )


async def store_phones(brand_id: int) -> set[str]:
    """Every phone number the brand's stores are registered under."""
    phones = await Store.filter(brand_id=brand_id).values_list("phone", flat=True)
    return {str(phone) for phone in phones}


async def create_stores(brand_id: int, stores: Sequence[dict[str, Any]]) -> int:
    """Write checked stores in bulk, inside the caller's transaction: each dict has name,
    contact_name, phone (not yet used by the brand's stores), address, region_id,
    distributor_id, salesperson_id, tier and tags. One multi-row INSERT per batch, not one
    per store; tags follow by phone."""
    if not stores:
        return 0
    newest = (
        await Store.filter(brand_id=brand_id).order_by("-id").limit(1).values_list("id", flat=True)
    )
    last_id = int(newest[0]) if newest else 0  # type: ignore[call-overload]
    await Store.bulk_create(
        [
            Store(
                brand_id=brand_id,
                **{key: value for key, value in store.items() if key != "tags"},
                status=StoreStatus.ACTIVE.value,
            )
            for store in stores
        ],
        batch_size=1000,
    )
    # New stores have no orders yet: their tags change no figure, so no StoreTagsChanged.
    tagged = {store["phone"]: store["tags"] for store in stores if store["tags"]}
    if tagged:
        created = await Store.filter(brand_id=brand_id, id__gt=last_id).values_list("id", "phone")
        await StoreTag.bulk_create(
            [
                StoreTag(store_id=store_id, tag=tag)
                for store_id, phone in created
                for tag in tagged.get(str(phone), ())
            ],
            batch_size=1000,
        )
    return len(stores)


# ---- product codes (一物一码) -----------------------------------------------------------------


async def box_join_token(deps: Deps, brand_id: int, distributor_id: int | None) -> str:
    """The join token for someone with no store who scanned a product box code: one
    reusable onboarding code per distributor the box was shipped to (the brand's own when
    the box was not shipped yet), made on first need; its application suggests that
    distributor. `miniprogram/pages/join` takes it as any onboarding token."""
    inviter_key = f"product_box:{brand_id}:{distributor_id or 0}"
    code = await OnboardingCode.get_or_none(inviter_key=inviter_key)
    if code is None:
        try:
            code = await OnboardingCode.create(
                brand_id=brand_id,
                kind=CodeKind.BOX.value,
                public_id=codes.new_public_id(),
                distributor_id=distributor_id,
                inviter_key=inviter_key,
            )
        except IntegrityError:
            code = await OnboardingCode.get(inviter_key=inviter_key)  # made at the same time
    return codes.sign(code.public_id, deps.settings.code_signing_secret)


async def stores_brief(brand_id: int, store_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The brand's stores among `store_ids`: {id, name, distributor_id, region_id, tier}, by
    id."""
    wanted = sorted(set(store_ids))
    if not wanted:
        return {}
    rows = await Store.filter(brand_id=brand_id, id__in=wanted).values(
        "id", "name", "distributor_id", "region_id", "tier"
    )
    return {int(row["id"]): dict(row) for row in rows}


def store_of_distributor_sql(store_id: str, distributor_id: str) -> str:
    """An SQL condition, true when the store `store_id` (an SQL expression) belongs to the
    distributor `distributor_id` (an SQL expression, typically a placeholder): for other
    domains' lists of per-store rows that a distributor filters or sees."""
    return (
        f"EXISTS (SELECT 1 FROM stores st WHERE st.id = {store_id}"  # noqa: S608 (the caller's)
        f" AND st.distributor_id = {distributor_id})"
    )


async def active_distributor_name(brand_id: int, distributor_id: int) -> str | None:
    """The name of the brand's distributor if it is active (goods may be shipped to it)."""
    found = await Distributor.filter(
        id=distributor_id, brand_id=brand_id, is_active=True
    ).values_list("name", flat=True)
    return str(found[0]) if found else None


async def distributor_in_brand(brand_id: int, distributor_id: int) -> bool:
    """Whether the distributor is the brand's (active or not: its past figures stay)."""
    return await Distributor.filter(id=distributor_id, brand_id=brand_id).exists()


def analytics_store_dims_sql() -> str:
    """A derived table of every store's (store_id, distributor_id, region_id, tier), as
    they are now: the analytics rebuild joins it to the orders, a distributor's lists to
    their rows."""
    return "SELECT id AS store_id, distributor_id, region_id, tier FROM stores"


def analytics_store_tags_sql() -> str:
    """A derived table of every store's (store_id, tag), a row per tag as the stores carry
    them now (a store without tags has none): the analytics store sets file each store's
    orders under its current tags."""
    return "SELECT store_id, tag FROM store_tags"


async def analytics_sales_store_count(brand_id: int, distributor_id: int | None) -> int:
    """How many stores the brand (or one of its distributors) has, whatever their status."""
    stores = Store.filter(brand_id=brand_id)
    if distributor_id is not None:
        stores = stores.filter(distributor_id=distributor_id)
    return await stores.count()


# ---- for analytics (store list, store profile, RFM tags) ------------------------------------


async def analytics_brand_ids() -> list[int]:
    """Every brand, by id: whom a brand-wide periodic job goes through."""
    ids = await Brand.all().order_by("id").values_list("id", flat=True)
    return [int(brand_id) for brand_id in ids]  # type: ignore[call-overload]


async def analytics_store_ids(brand_id: int) -> list[int]:
    """Every store of the brand (any status), by id."""
    ids = await Store.filter(brand_id=brand_id).order_by("id").values_list("id", flat=True)
    return [int(store_id) for store_id in ids]  # type: ignore[call-overload]


async def analytics_prefixed_tags(brand_id: int, prefix: str) -> dict[int, list[str]]:
    """The brand's stores' tags that start with `prefix` (tags a job owns, like RFM·…)."""
    rows = await StoreTag.filter(store__brand_id=brand_id, tag__startswith=prefix).values_list(
        "store_id", "tag"
    )
    tags: dict[int, list[str]] = {}
    for store_id, tag in rows:
        tags.setdefault(int(store_id), []).append(str(tag))
    return tags


async def analytics_retag(
    deps: Deps, brand_id: int, add: Sequence[tuple[int, str]], remove: Sequence[tuple[int, str]]
) -> None:
    """Add and remove (store, tag) pairs on the brand's stores in one transaction; pairs of
    another brand's stores are left alone. Other tags stay as they are."""
    store_ids = {store_id for store_id, _ in [*add, *remove]}
    if not store_ids:
        return
    ours = set(
        await Store.filter(brand_id=brand_id, id__in=sorted(store_ids)).values_list("id", flat=True)
    )
    gone: dict[str, list[int]] = {}
    for store_id, tag in remove:
        if store_id in ours:
            gone.setdefault(tag, []).append(store_id)
    async with in_transaction():
        for tag, ids in gone.items():  # one statement per tag: a handful of segments
            await StoreTag.filter(tag=tag, store_id__in=ids).delete()
        # ignore_conflicts: a tag an admin added by hand meanwhile is simply there already.
        await StoreTag.bulk_create(
            [StoreTag(store_id=store_id, tag=tag) for store_id, tag in add if store_id in ours],
            ignore_conflicts=True,
        )
        await _tags_changed(deps, brand_id, (s for s in store_ids if s in ours))
