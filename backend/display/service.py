"""Display programs: the brand writes, publishes and ends them; stores of their audience read
and sign them; a signing keeps the terms it signed and is shown as a document.

A program's terms stand once a store has signed: after that only the budget, the number of
stores and the sign-up deadline may move (never below what is already spent, signed or
past). Places are taken by one guarded update in the signing's transaction, so a program
never has more signings than `max_stores`, however many stores sign at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.catalog import service as catalog_service
from backend.coupons import service as coupons_service
from backend.display import terms
from backend.display.errors import Invalid, ProgramNotFound
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
    ProgramStatus,
    SigningStatus,
    SubmissionStatus,
)
from backend.display.views import iso, photo_view, reward_view, submission_view
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, STORE_ROLES, Principal
from backend.infra import sql
from backend.kernel.errors import Conflict, Forbidden, NotFound
from backend.kernel.money import yuan
from backend.org import service as org_service

# ---- errors ------------------------------------------------------------------------------------


class SigningNotFound(NotFound):
    code = "display.signing_not_found"
    message = "找不到该签约"


class ProgramInvalid(Invalid):
    message = "陈列活动的内容有误"


class TermsSigned(Conflict):
    code = "display.terms_signed"
    message = "已有门店签约，活动条款不能再修改"


class ProgramEnded(Conflict):
    code = "display.ended"
    message = "活动已结束，不能再修改"


class NotDraft(Conflict):
    code = "display.not_draft"
    message = "活动已发布，不能重复发布"


class NotPublished(Conflict):
    code = "display.not_published"
    message = "活动未发布或已结束"


class AlreadySigned(Conflict):
    code = "display.already_signed"
    message = "本店已签约该活动"


class Full(Conflict):
    code = "display.full"
    message = "活动名额已满"


class AgreementChanged(Conflict):
    code = "display.agreement_changed"
    message = "协议内容已更新，请重新阅读后再签约"


class NotOpen(Conflict):
    code = "display.not_open"
    message = "活动不在报名时间内"


class NotEligible(Forbidden):
    """403, not 404: the store may see the program (its page says 不符合条件), only not sign."""

    code = "display.not_eligible"
    message = "本店不在该活动的参与范围内"


# ---- what a program says -------------------------------------------------------------------------

BODY_FIELDS = (
    "name",
    "standard",
    "sample_photos",
    "sku_ids",
    "audience",
    "signup_from",
    "signup_until",
    "first_check_at",
    "check_count",
    "check_interval_days",
    "check_window_days",
    "photos_required",
    "distance_limit_m",
    "check_reward",
    "completion_reward",
    "budget_fen",
    "max_stores",
    "salesperson_reviews_first",
)
UrlOf = Callable[[str], str]


def _fields(program: DisplayProgram, agreement_text: str) -> dict[str, Any]:
    """The program as a body would say it: what edits are compared with."""
    fields = {key: getattr(program, key) for key in BODY_FIELDS}
    fields["agreement_text"] = agreement_text
    return fields


def _last_close(program: DisplayProgram) -> datetime:
    return terms.program_schedule(_fields(program, ""))[-1][2]


def phase_of(program: DisplayProgram, now: datetime) -> str:
    return terms.phase(
        program.status, program.signup_from, program.signup_until, _last_close(program), now
    )


def _actions(program: DisplayProgram) -> list[str]:
    if program.status == ProgramStatus.DRAFT:
        return ["edit", "publish"]
    if program.status == ProgramStatus.PUBLISHED:
        return ["edit", "end"]
    return []


def _sku_list(sku_ids: Iterable[int], found: dict[int, catalog_service.SkuSummary]) -> list[Any]:
    return [
        {"id": sku_id, "name": f"{found[sku_id].product_name} {found[sku_id].sku_name}".strip()}
        for sku_id in sku_ids
        if sku_id in found
    ]


async def _skus(brand_id: int, sku_ids: Sequence[int]) -> list[dict[str, Any]]:
    return _sku_list(sku_ids, await catalog_service.sku_summaries(brand_id, sku_ids))


def _checks_view(
    program: DisplayProgram, rows: Sequence[DisplayCheck] | None
) -> list[dict[str, Any]]:
    """The schedule: its rows once published, computed (ids null) for a draft."""
    if rows is None:
        return [
            {"id": None, "seq": seq, "opens_at": iso(opens), "closes_at": iso(closes)}
            for seq, opens, closes in terms.program_schedule(_fields(program, ""))
        ]
    return [
        {
            "id": row.id,
            "seq": row.seq,
            "opens_at": iso(row.opens_at),
            "closes_at": iso(row.closes_at),
        }
        for row in rows
    ]


def program_view(
    program: DisplayProgram,
    *,
    skus: list[dict[str, Any]],
    now: datetime,
    agreement_text: str | None = None,
    checks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """ProgramView; lists leave out the agreement text and the checks."""
    view: dict[str, Any] = {"id": program.id, "status": program.status}
    view.update({key: getattr(program, key) for key in BODY_FIELDS})
    for key in ("signup_from", "signup_until", "first_check_at"):
        view[key] = iso(view[key])
    for key in terms.REWARD_FIELDS:
        view[key] = terms.reward_out(view[key])
    view.update(
        phase=phase_of(program, now),
        spent_fen=program.spent_fen,
        signed_count=program.signed_count,
        agreement_version=program.agreement_version,
        skus=skus,
        editable="all" if program.signed_count == 0 else "limited",
        actions=_actions(program),
        created_at=iso(program.created_at),
        updated_at=iso(program.updated_at),
        published_at=iso(program.published_at),
    )
    if agreement_text is not None:
        view["agreement_text"] = agreement_text
    if checks is not None:
        view["checks"] = checks
    return view


async def _agreement_text(program: DisplayProgram) -> str:
    agreement = await DisplayAgreement.get(program_id=program.id, version=program.agreement_version)
    return agreement.text


async def _check_rows(program: DisplayProgram) -> list[DisplayCheck] | None:
    if program.status == ProgramStatus.DRAFT:
        return None
    return await DisplayCheck.filter(program_id=program.id).order_by("seq")


async def _full_view(program: DisplayProgram, now: datetime) -> dict[str, Any]:
    return program_view(
        program,
        skus=await _skus(program.brand_id, program.sku_ids),  # type: ignore[attr-defined]
        now=now,
        agreement_text=await _agreement_text(program),
        checks=_checks_view(program, await _check_rows(program)),
    )


# ---- who sees what -------------------------------------------------------------------------------


def _brand_of(principal: Principal) -> int:
    if principal.brand_id is None:  # every role the routes admit carries its brand
        raise ProgramNotFound()
    return principal.brand_id


def _distributor_admitted(principal: Principal, program: DisplayProgram) -> bool:
    """Distributor staff read the programs that are out (published or ended) and whose
    audience names their distributor or names none."""
    named = program.audience.get("distributor_ids") or []
    return program.status != ProgramStatus.DRAFT and (
        not named or principal.distributor_id in named
    )


async def _readable(principal: Principal, program_id: int) -> DisplayProgram:
    program = await DisplayProgram.get_or_none(id=program_id, brand_id=_brand_of(principal))
    if program is None:
        raise ProgramNotFound()
    if principal.role in DISTRIBUTOR_ROLES and not _distributor_admitted(principal, program):
        raise ProgramNotFound()
    if principal.role not in BRAND_ROLES | DISTRIBUTOR_ROLES:
        raise ProgramNotFound()
    return program


async def _owned(principal: Principal, program_id: int, *, lock: bool = False) -> DisplayProgram:
    """The brand's own program, for writing (locked for the transaction when `lock`)."""
    programs = DisplayProgram.filter(id=program_id, brand_id=_brand_of(principal))
    program = await (programs.select_for_update() if lock else programs).first()
    if program is None or principal.role not in BRAND_ROLES:
        raise ProgramNotFound()
    return program


# ---- brand: writing programs ------------------------------------------------------------------


def _refuse_problems(found: list[dict[str, str]]) -> None:
    if found:
        raise ProgramInvalid(found[0]["message"], details=found)


async def _reference_problems(
    brand_id: int, fields: dict[str, Any], changed: Iterable[str]
) -> list[dict[str, str]]:
    """Every id among the `changed` fields that is not the brand's own (SKUs, distributors,
    regions) or not an active exchange voucher of it."""
    changed = set(changed)
    found: list[dict[str, str]] = []
    if "sku_ids" in changed:
        known = await catalog_service.sku_summaries(brand_id, fields["sku_ids"])
        if missing := [sku_id for sku_id in fields["sku_ids"] if sku_id not in known]:
            found.append(terms.problem("sku_ids", f"商品不存在: {missing}"))
    if "audience" in changed:
        for kind, label in (("distributor", "经销商"), ("region", "区域")):
            wanted = set(fields["audience"][f"{kind}_ids"])
            missing = sorted(wanted - await org_service.known_ids(brand_id, kind, wanted))
            if missing:
                found.append(terms.problem(f"audience.{kind}_ids", f"{label}不存在: {missing}"))
    for field in terms.REWARD_FIELDS:
        spec = fields[field]
        if field in changed and spec and spec["kind"] == terms.VOUCHER and spec["template_id"]:
            usable = await coupons_service.exchange_template_ids(brand_id, [spec["template_id"]])
            if not usable:
                found.append(
                    terms.problem(f"{field}.template_id", "兑换券不存在、已停止发放或不是兑换券")
                )
    return found


async def _check_program(brand_id: int, fields: dict[str, Any], changed: Iterable[str]) -> None:
    found = terms.program_problems(fields)
    if not found:
        found = await _reference_problems(brand_id, fields, changed)
    _refuse_problems(found)


async def create_program(
    principal: Principal, fields: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """A draft; `fields` is a whole ProgramBody (types checked), times in UTC."""
    brand_id = _brand_of(principal)
    await _check_program(brand_id, fields, fields.keys())
    columns = {key: fields[key] for key in BODY_FIELDS}
    async with in_transaction():
        program = await DisplayProgram.create(
            brand_id=brand_id,
            created_by_id=principal.user_id,
            created_at=now,
            updated_at=now,
            agreement_version=1,
            **columns,
        )
        await DisplayAgreement.create(
            program=program, version=1, text=fields["agreement_text"], created_at=now
        )
    return await _full_view(program, now)


async def list_programs(
    principal: Principal,
    *,
    status: str | None,
    text: str | None,
    before: int | None,
    limit: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The brand's programs newest first (distributor staff: those out to them)."""
    brand_id = _brand_of(principal)
    programs = DisplayProgram.filter(brand_id=brand_id)
    if principal.role in DISTRIBUTOR_ROLES:
        programs = programs.exclude(status=ProgramStatus.DRAFT.value)
    if status is not None:
        programs = programs.filter(status=status)
    if text:
        programs = programs.filter(name__icontains=text)
    if before is not None:
        programs = programs.filter(id__lt=before)
    found: list[DisplayProgram] = []
    # Audiences are JSON, so distributor staff's are filtered here; keep reading until a
    # page is full so a page is never short while more remain.
    while len(found) < limit:
        batch = await programs.order_by("-id").limit(limit)
        if not batch:
            break
        found.extend(
            program
            for program in batch
            if principal.role not in DISTRIBUTOR_ROLES or _distributor_admitted(principal, program)
        )
        programs = programs.filter(id__lt=batch[-1].id)
    found = found[:limit]
    names = await catalog_service.sku_summaries(
        brand_id, {sku_id for program in found for sku_id in program.sku_ids}
    )
    return [
        _as_seen_by(
            principal, program_view(program, skus=_sku_list(program.sku_ids, names), now=now)
        )
        for program in found
    ]


def _as_seen_by(principal: Principal, view: dict[str, Any]) -> dict[str, Any]:
    """Distributor staff read programs; only brand staff act on them."""
    if principal.role not in BRAND_ROLES:
        view["actions"] = []
    return view


async def get_program(principal: Principal, program_id: int, *, now: datetime) -> dict[str, Any]:
    return _as_seen_by(principal, await _full_view(await _readable(principal, program_id), now))


def _refuse_limited(program: DisplayProgram, differing: dict[str, Any], now: datetime) -> None:
    """Once a store has signed, only the budget, the number of stores and the sign-up
    deadline move, and none below what already happened."""
    if set(differing) - terms.LIMITED_FIELDS:
        raise TermsSigned()
    if differing.get("budget_fen", program.budget_fen) < program.spent_fen:
        raise TermsSigned(f"预算不能低于已发放的 ¥{yuan(program.spent_fen)}")
    if differing.get("max_stores", program.max_stores) < program.signed_count:
        raise TermsSigned(f"门店名额不能少于已签约的 {program.signed_count} 家")
    if "signup_until" in differing and differing["signup_until"] < now:
        raise TermsSigned("报名截止时间不能早于现在")


async def _write_checks(program: DisplayProgram) -> None:
    await DisplayCheck.filter(program_id=program.id).delete()
    await DisplayCheck.bulk_create(
        [
            DisplayCheck(program_id=program.id, seq=seq, opens_at=opens, closes_at=closes)
            for seq, opens, closes in terms.program_schedule(_fields(program, ""))
        ]
    )


async def update_program(
    principal: Principal, program_id: int, changes: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """Change a program by the rules of the spec: a draft or a published program nobody
    signed changes freely (a published one's new agreement text is a new version, its
    checks are written again); a signed one only in its budget, places and deadline.
    A refused change writes nothing."""
    async with in_transaction():
        # Locked: a signing's guarded update waits, so what is checked here stays true.
        program = await _owned(principal, program_id, lock=True)
        if program.status == ProgramStatus.ENDED:
            raise ProgramEnded()
        text = await _agreement_text(program)
        current = _fields(program, text)
        differing = {key: value for key, value in changes.items() if current[key] != value}
        if program.signed_count > 0:
            _refuse_limited(program, differing, now)
        merged = {**current, **differing}
        await _check_program(_brand_of(principal), merged, differing)
        if not differing:
            return await _full_view(program, now)
        for key in set(differing) & set(BODY_FIELDS):
            setattr(program, key, differing[key])
        if "agreement_text" in differing:
            if program.status == ProgramStatus.DRAFT:
                await DisplayAgreement.filter(program_id=program.id, version=1).update(
                    text=differing["agreement_text"]
                )
            else:
                program.agreement_version += 1
                await DisplayAgreement.create(
                    program=program,
                    version=program.agreement_version,
                    text=differing["agreement_text"],
                    created_at=now,
                )
        program.updated_at = now
        await program.save()
        if program.status == ProgramStatus.PUBLISHED and set(differing) & set(
            terms.SCHEDULE_FIELDS
        ):
            await _write_checks(program)
    return await _full_view(program, now)


async def publish_program(
    principal: Principal, program_id: int, *, now: datetime
) -> dict[str, Any]:
    """Out to its audience, with its checks written (seq 1..N). Its voucher rewards are
    checked again: a template may have ended since the draft was written."""
    async with in_transaction():
        program = await _owned(principal, program_id, lock=True)
        if program.status != ProgramStatus.DRAFT:
            raise NotDraft()
        fields = _fields(program, "")
        found = terms.program_problems(fields)
        if program.signup_until <= now:
            found.append(terms.problem("signup_until", "报名截止时间已过，请修改后再发布"))
        brand_id: int = program.brand_id  # type: ignore[attr-defined]
        found = found or await _reference_problems(brand_id, fields, terms.REWARD_FIELDS)
        _refuse_problems(found)
        program.status = ProgramStatus.PUBLISHED.value
        program.published_at = program.updated_at = now
        await program.save()
        await _write_checks(program)
    return await _full_view(program, now)


async def end_program(principal: Principal, program_id: int, *, now: datetime) -> dict[str, Any]:
    """No more signing and no more checks due; its active signings end with it."""
    async with in_transaction():
        program = await _owned(principal, program_id, lock=True)
        if program.status != ProgramStatus.PUBLISHED:
            raise NotPublished()
        program.status = ProgramStatus.ENDED.value
        program.updated_at = program.ended_at = now
        await program.save()
        await DisplaySigning.filter(program_id=program.id, status=SigningStatus.ACTIVE).update(
            status=SigningStatus.ENDED.value
        )
    return await _full_view(program, now)


# ---- brand and distributors: who signed ---------------------------------------------------------


async def list_signings(
    principal: Principal,
    program_id: int,
    *,
    distributor_id: int | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The program's signings newest first; distributor staff see their own stores' only."""
    program = await _readable(principal, program_id)
    signings = DisplaySigning.filter(program_id=program.id)
    if principal.role in DISTRIBUTOR_ROLES:
        distributor_id = principal.distributor_id
    if distributor_id is not None:
        signings = signings.filter(distributor_id=distributor_id)
    if status is not None:
        signings = signings.filter(status=status)
    if before is not None:
        signings = signings.filter(id__lt=before)
    found = await signings.order_by("-id").limit(limit)
    brand_id = program.brand_id  # type: ignore[attr-defined]
    store_ids = [s.store_id for s in found]  # type: ignore[attr-defined]
    stores = await org_service.names(brand_id, "store", store_ids)
    distributors = await org_service.names(
        brand_id, "distributor", [s.distributor_id for s in found]
    )
    regions = await org_service.names(
        brand_id, "region", [s.region_id for s in found if s.region_id is not None]
    )

    def named(names: dict[int, str], object_id: int | None) -> dict[str, Any] | None:
        return None if object_id is None else {"id": object_id, "name": names.get(object_id, "")}

    return [
        {
            "id": signing.id,
            "store": named(stores, signing.store_id),  # type: ignore[attr-defined]
            "distributor": named(distributors, signing.distributor_id),
            "region": named(regions, signing.region_id),
            "signer_name": signing.signer_name,
            "signed_at": iso(signing.signed_at),
            "status": signing.status,
            "passed_checks": signing.passed_checks,
            "check_count": len(signing.terms["checks"]),
            "agreement_version": signing.terms["agreement_version"],
        }
        for signing in found
    ]


async def signing_document(principal: Principal, signing_id: int) -> dict[str, Any]:
    """The signed agreement as a document: for the brand's staff, the staff of the
    distributor the store had when it signed, and the store's own users; 404 for anyone
    else."""
    signing = await DisplaySigning.get_or_none(id=signing_id, brand_id=_brand_of(principal))
    if signing is None:
        raise SigningNotFound()
    store_id: int = signing.store_id  # type: ignore[attr-defined]
    role = principal.role
    if not (
        role in BRAND_ROLES
        or (role in DISTRIBUTOR_ROLES and principal.distributor_id == signing.distributor_id)
        or (role in STORE_ROLES and principal.store_id == store_id)
    ):
        raise SigningNotFound()
    agreement = await DisplayAgreement.get(id=signing.agreement_id)  # type: ignore[attr-defined]
    program = await DisplayProgram.get(id=signing.program_id)  # type: ignore[attr-defined]
    brand = await org_service.brand_name(program.brand_id)  # type: ignore[attr-defined]
    contact = (await org_service.order_contact(store_id, None))["store"]
    return {
        "id": signing.id,
        "program": {"id": program.id, "name": signing.terms["name"]},
        "brand": {"id": program.brand_id, "name": brand},  # type: ignore[attr-defined]
        "store": {
            "id": contact["id"],
            "name": contact["name"],
            "address": contact["address"],
            "contact_name": contact["contact_name"],
        },
        "signer_name": signing.signer_name,
        "signer_phone": signing.signer_phone,
        "signed_by_user_id": signing.signed_by_id,  # type: ignore[attr-defined]
        "signed_at": iso(signing.signed_at),
        "agreement_version": agreement.version,
        "agreement_text": agreement.text,
        "terms": signing.terms,
    }


# ---- stores: reading and signing ----------------------------------------------------------------


async def _store(principal: Principal) -> tuple[org_service.StoreContext, tuple[str, ...]]:
    store = await org_service.store_for_ordering(principal, None)
    return store, await org_service.store_tags(store.id)


def _store_program_view(
    program: DisplayProgram,
    *,
    skus: list[dict[str, Any]],
    agreement_text: str,
    state: str,
    signing_id: int | None,
) -> dict[str, Any]:
    return {
        "id": program.id,
        "name": program.name,
        "standard": program.standard,
        "sample_photos": program.sample_photos,
        "skus": skus,
        "signup_until": iso(program.signup_until),
        "checks": [
            {"seq": seq, "opens_at": iso(opens), "closes_at": iso(closes)}
            for seq, opens, closes in terms.program_schedule(_fields(program, ""))
        ],
        "photos_required": program.photos_required,
        "check_reward": terms.reward_out(program.check_reward),
        "completion_reward": terms.reward_out(program.completion_reward),
        "agreement_version": program.agreement_version,
        "agreement_text": agreement_text,
        "places_left": max(0, program.max_stores - program.signed_count),
        "state": state,
        "signing_id": signing_id,
    }


def _store_state(
    program: DisplayProgram, admitted: bool, signing_id: int | None, now: datetime
) -> str:
    if signing_id is not None:
        return "signed"
    if not admitted:
        return "not_eligible"
    if program.status != ProgramStatus.PUBLISHED or not (
        program.signup_from <= now < program.signup_until
    ):
        return "closed"
    if program.signed_count >= program.max_stores:
        return "full"
    return "open"


async def open_programs(principal: Principal, *, now: datetime) -> list[dict[str, Any]]:
    """What this store may sign now: published, in its audience, inside the sign-up window,
    with a place left, not yet signed by it."""
    store, tags = await _store(principal)
    signed = await DisplaySigning.filter(store_id=store.id).values_list("program_id", flat=True)
    programs = (
        await DisplayProgram.filter(
            brand_id=store.brand_id,
            status=ProgramStatus.PUBLISHED.value,
            signup_from__lte=now,
            signup_until__gt=now,
        )
        .exclude(id__in=list(signed) or [0])
        .order_by("signup_until", "id")
    )
    open_ = [
        program
        for program in programs
        if program.signed_count < program.max_stores
        and coupons_service.admits(program.audience, store, tags)
    ]
    names = await catalog_service.sku_summaries(
        store.brand_id, {sku_id for program in open_ for sku_id in program.sku_ids}
    )
    texts = {
        (int(program_id), int(version)): str(text)
        for program_id, version, text in await DisplayAgreement.filter(
            program_id__in=[program.id for program in open_] or [0]
        ).values_list("program_id", "version", "text")
    }
    return [
        _store_program_view(
            program,
            skus=_sku_list(program.sku_ids, names),
            agreement_text=texts.get((program.id, program.agreement_version), ""),
            state="open",
            signing_id=None,
        )
        for program in open_
    ]


async def store_program(principal: Principal, program_id: int, *, now: datetime) -> dict[str, Any]:
    """One program as the store sees it, with what it may do (open, full, closed, signed,
    not_eligible); 404 for a draft or another brand's program."""
    store, tags = await _store(principal)
    program = await DisplayProgram.get_or_none(id=program_id, brand_id=store.brand_id)
    if program is None or program.status == ProgramStatus.DRAFT:
        raise ProgramNotFound()
    signing = await DisplaySigning.get_or_none(program_id=program.id, store_id=store.id)
    signing_id = None if signing is None else signing.id
    admitted = coupons_service.admits(program.audience, store, tags)
    return _store_program_view(
        program,
        skus=await _skus(store.brand_id, program.sku_ids),
        agreement_text=await _agreement_text(program),
        state=_store_state(program, admitted, signing_id, now),
        signing_id=signing_id,
    )


async def _take_place(program_id: int) -> bool:
    """One place, if one is left: the guarded update that makes sign-up close atomically."""
    taken = await sql.execute(
        "UPDATE display_programs SET signed_count = signed_count + 1"
        " WHERE id = $1 AND signed_count < max_stores AND status = $2",
        program_id,
        ProgramStatus.PUBLISHED.value,
    )
    return taken == 1


def _refuse_unsignable(program: DisplayProgram, agreement_version: int, now: datetime) -> None:
    if program.status != ProgramStatus.PUBLISHED or not (
        program.signup_from <= now < program.signup_until
    ):
        raise NotOpen()
    if program.agreement_version != agreement_version:
        raise AgreementChanged()


async def sign(
    principal: Principal,
    program_id: int,
    *,
    signer_name: str,
    agreement_version: int,
    now: datetime,
) -> dict[str, Any]:
    """The store owner signs: in the audience, inside the window, the version read is the
    current one, a place is left, not signed before. The place and the signing are one
    transaction; everything is checked again under the program's row lock the update takes,
    so an edit or an end at the same moment cannot slip between."""
    store, tags = await _store(principal)
    program = await DisplayProgram.get_or_none(id=program_id, brand_id=store.brand_id)
    if program is None or program.status == ProgramStatus.DRAFT:
        raise ProgramNotFound()
    if not coupons_service.admits(program.audience, store, tags):
        raise NotEligible()
    if await DisplaySigning.exists(program_id=program.id, store_id=store.id):
        raise AlreadySigned()
    _refuse_unsignable(program, agreement_version, now)
    contact = (await org_service.order_contact(store.id, None))["store"]
    try:
        async with in_transaction():
            if not await _take_place(program.id):
                program = await DisplayProgram.get(id=program.id)
                raise NotOpen() if program.status != ProgramStatus.PUBLISHED else Full()
            program = await DisplayProgram.get(id=program.id)
            _refuse_unsignable(program, agreement_version, now)
            agreement = await DisplayAgreement.get(
                program_id=program.id, version=program.agreement_version
            )
            checks = [
                (row.seq, row.opens_at, row.closes_at) for row in await _check_rows(program) or []
            ]
            snapshot = terms.terms_snapshot(
                _fields(program, agreement.text),
                skus=await _skus(store.brand_id, program.sku_ids),
                checks=checks,
                agreement_version=agreement.version,
            )
            signing = await DisplaySigning.create(
                brand_id=store.brand_id,
                program_id=program.id,
                store_id=store.id,
                agreement_id=agreement.id,
                signed_by_id=principal.user_id,
                signer_name=signer_name,
                signer_phone=contact["phone"] if contact else "",
                distributor_id=store.distributor_id,
                region_id=store.region_id,
                terms=snapshot,
                status=SigningStatus.ACTIVE.value,
                signed_at=now,
            )
    except IntegrityError as exc:  # the same store signing twice at once: one stands
        raise AlreadySigned() from exc
    [view] = await _signing_views([signing], {program.id: program}, url_of=None, now=now)
    return view


# ---- stores: their signings and checks ----------------------------------------------------------


def check_state(
    check: DisplayCheck,
    latest: DisplaySubmission | None,
    *,
    running: bool,
    now: datetime,
) -> str:
    """upcoming, open (may submit), review, passed or missed; `running`: the program is not
    ended and the signing is active."""
    if latest is not None and latest.status in (SubmissionStatus.PASSED, SubmissionStatus.REVIEW):
        return str(latest.status)
    if running and now < check.opens_at:
        return "upcoming"
    if running and now < check.closes_at:
        return "open"
    return "missed"


REWARD_TOTALS = {terms.POINTS: "points", terms.CASH: "cash_fen", terms.VOUCHER: "vouchers"}


async def _signing_views(
    signings: Sequence[DisplaySigning],
    programs: dict[int, DisplayProgram],
    *,
    url_of: UrlOf | None,
    now: datetime,
    detail: bool = False,
    store_at: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:
    """SigningViews (SigningDetails when `detail`) for a page of one store's signings, in a
    fixed number of queries: the checks, submissions, rewards and latest attempts' photos."""
    ids = [signing.id for signing in signings] or [0]
    checks: dict[int, list[DisplayCheck]] = defaultdict(list)
    for row in await DisplayCheck.filter(program_id__in=list(programs)).order_by("seq"):
        checks[row.program_id].append(row)  # type: ignore[attr-defined]
    latest: dict[tuple[int, int], DisplaySubmission] = {}
    attempts: dict[tuple[int, int], int] = defaultdict(int)
    for sub in await DisplaySubmission.filter(signing_id__in=ids).order_by("attempt", "id"):
        key = (sub.signing_id, sub.display_check_id)  # type: ignore[attr-defined]
        latest[key] = sub
        attempts[key] += 1
    rewards: dict[int, list[DisplayReward]] = defaultdict(list)
    for reward in await DisplayReward.filter(signing_id__in=ids).order_by("id"):
        rewards[reward.signing_id].append(reward)  # type: ignore[attr-defined]
    photos: dict[int, list[DisplayPhoto]] = defaultdict(list)
    if url_of is not None and latest:
        for photo in await DisplayPhoto.filter(
            submission_id__in=[sub.id for sub in latest.values()]
        ).order_by("id"):
            photos[photo.submission_id].append(photo)  # type: ignore[attr-defined]

    def store_check(signing: DisplaySigning, check: DisplayCheck, running: bool) -> dict[str, Any]:
        key = (signing.id, check.id)
        sub = latest.get(key)
        state = check_state(check, sub, running=running, now=now)
        paid = next(
            (r for r in rewards[signing.id] if sub is not None and r.check_seq == check.seq), None
        )
        return {
            "id": check.id,
            "seq": check.seq,
            "opens_at": iso(check.opens_at),
            "closes_at": iso(check.closes_at),
            "state": state,
            "can_submit": state == "open",
            "attempts": attempts[key],
            "submission": None
            if sub is None or url_of is None
            else submission_view(
                sub,
                check_seq=check.seq,
                photos=[photo_view(p, url_of(p.key), store_at) for p in photos[sub.id]],
                reward=paid if sub.status == SubmissionStatus.PASSED else None,
            ),
        }

    views = []
    for signing in signings:
        program = programs[signing.program_id]  # type: ignore[attr-defined]
        running = program.status != ProgramStatus.ENDED and signing.status == SigningStatus.ACTIVE
        store_checks = [store_check(signing, c, running) for c in checks[program.id]]
        totals = {"points": 0, "cash_fen": 0, "vouchers": 0}
        for reward in rewards[signing.id]:
            totals[REWARD_TOTALS[reward.kind]] += int(reward.amount)
        upcoming = [c for c in store_checks if c["state"] in ("open", "upcoming")]
        view: dict[str, Any] = {
            "id": signing.id,
            "program": {
                "id": program.id,
                "name": program.name,
                "status": program.status,
                "phase": phase_of(program, now),
            },
            "status": signing.status,
            "signed_at": iso(signing.signed_at),
            "passed_checks": signing.passed_checks,
            "check_count": len(signing.terms["checks"]),
            "next_check": upcoming[0] if upcoming else None,
            "reward_totals": totals,
        }
        if detail:
            view.update(
                terms=signing.terms,
                checks=store_checks,
                rewards=[reward_view(r) for r in rewards[signing.id]],
            )
        views.append(view)
    return views


def _own_store(principal: Principal) -> int:
    if principal.role not in STORE_ROLES or principal.store_id is None:
        raise SigningNotFound()
    return principal.store_id


async def _programs_of(signings: Sequence[DisplaySigning]) -> dict[int, DisplayProgram]:
    wanted = list({signing.program_id for signing in signings}) or [0]  # type: ignore[attr-defined]
    return {program.id: program for program in await DisplayProgram.filter(id__in=wanted)}


async def _location(principal: Principal, store_id: int) -> tuple[float, float] | None:
    """The store's (latitude, longitude): its photos show how far from it they were taken,
    here as on every other view of a submission."""
    location = (await org_service.get_store(principal, store_id))["location"]
    return None if location is None else (location["latitude"], location["longitude"])


async def mine(principal: Principal, *, url_of: UrlOf, now: datetime) -> list[dict[str, Any]]:
    """The store's signings, newest first."""
    store_id = _own_store(principal)
    signings = await DisplaySigning.filter(
        store_id=store_id, brand_id=_brand_of(principal)
    ).order_by("-id")
    return await _signing_views(
        signings,
        await _programs_of(signings),
        url_of=url_of,
        now=now,
        store_at=await _location(principal, store_id),
    )


async def mine_detail(
    principal: Principal, signing_id: int, *, url_of: UrlOf, now: datetime
) -> dict[str, Any]:
    """One of the store's signings with its terms, every check and its rewards."""
    signing = await DisplaySigning.get_or_none(
        id=signing_id, store_id=_own_store(principal), brand_id=_brand_of(principal)
    )
    if signing is None:
        raise SigningNotFound()
    [view] = await _signing_views(
        [signing],
        await _programs_of([signing]),
        url_of=url_of,
        now=now,
        detail=True,
        store_at=await _location(principal, signing.store_id),  # type: ignore[attr-defined]
    )
    return view


# ---- for analytics (store profile) ----------------------------------------------------------


async def analytics_store_display(store_id: int) -> dict[str, int]:
    """A store's display programs: signed, and its checks' submissions by outcome."""
    signed = await DisplaySigning.filter(store_id=store_id).count()
    statuses = await DisplaySubmission.filter(store_id=store_id).values_list("status", flat=True)
    return {
        "signed": signed,
        "submissions": len(statuses),
        "passed": sum(1 for s in statuses if s == SubmissionStatus.PASSED.value),
        "review": sum(1 for s in statuses if s == SubmissionStatus.REVIEW.value),
    }
