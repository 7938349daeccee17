"""Display programs against people who should not, or who send what they should not: another
brand's ids on every endpoint, the wrong role, a salesperson of another store, replayed
requests, a photo used twice or by another store, and malformed, huge, empty or wrongly typed
input. Each is a clear 4xx with a `display.*` (or the API's standard) code, and nothing of it
is written."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image

from backend.coupons.models import Coupon
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayPhoto,
    DisplayPhotoBand,
    DisplayProgram,
    DisplayReward,
    DisplaySigning,
    DisplaySubmission,
)
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.ledger.models import LedgerEntry
from backend.org.models import Region, Salesperson, Store
from tests.factories import (
    PASSWORD,
    Shop,
    Tenant,
    bearer,
    idempotent,
    make_shop,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_display_photos import METRES_PER_DEGREE, STORE_AT, photo
from tests.test_display_programs import AGREEMENT, exchange_template

API = "/api/v1/display"
_keys = iter(range(1, 1_000_000))


@dataclass
class Side:
    """One brand's program with its first check open now, two signed stores (a and b) of
    which a has a submission waiting for review, and a third store that did not sign."""

    shop: Shop
    brand: dict[str, str]
    program: dict[str, Any]
    check_id: int
    store_a: Store
    owner_a: dict[str, Any]
    store_b: Store
    owner_b: dict[str, Any]
    signing_a: int
    signing_b: int
    submission: int
    spare_a: int  # a photo store a uploaded and has not used
    spare_b: int

    @property
    def tenant(self) -> Tenant:
        return self.shop.tenant


def program_body(shop: Shop, now: Any, **overrides: Any) -> dict[str, Any]:
    """Sign-up open now; the first of two checks opened an hour ago."""
    fields = {
        "name": "端架陈列",
        "standard": "端架整层陈列滤芯，价签朝外",
        "sku_ids": [shop.filters],
        "signup_from": (now - timedelta(hours=2)).isoformat(),
        "signup_until": (now + timedelta(days=2)).isoformat(),
        "first_check_at": (now - timedelta(hours=1)).isoformat(),
        "check_count": 2,
        "check_interval_days": 7,
        "check_window_days": 3,
        "photos_required": 2,
        "check_reward": {"kind": "points", "amount": 300},
        "budget_fen": 50_000,
        "max_stores": 10,
        "agreement_text": AGREEMENT,
    }
    fields.update(overrides)
    return fields


async def upload(
    client: httpx.AsyncClient,
    owner: dict[str, Any],
    data: bytes,
    now: Any,
    **form: str,
) -> httpx.Response:
    fields = {
        "taken_at": (now - timedelta(minutes=5)).isoformat(),
        "latitude": str(STORE_AT[0] + 10 / METRES_PER_DEGREE),
        "longitude": str(STORE_AT[1]),
        **form,
    }
    return await client.post(
        f"{API}/photos",
        files={"file": ("shelf.jpg", data, "image/jpeg")},
        data={k: v for k, v in fields.items() if v is not None},
        headers=bearer(owner),
    )


async def photo_ids(client: httpx.AsyncClient, owner: dict[str, Any], now: Any, *seeds: int):
    ids = []
    for seed in seeds:
        response = await upload(client, owner, photo(seed), now)
        assert response.status_code == 201, response.text
        ids.append(int(response.json()["id"]))
    return ids


async def sign(client: httpx.AsyncClient, owner: dict[str, Any], program: dict[str, Any]):
    response = await client.post(
        f"{API}/programs/{program['id']}/sign",
        json={"signer_name": "店主", "agreement_version": 1, "agreed": True},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def submit(
    client: httpx.AsyncClient, owner: dict[str, Any], check_id: int, ids: list[int], **kw: Any
) -> httpx.Response:
    headers = kw.pop("headers", None) or idempotent(owner)
    return await client.post(
        f"{API}/checks/{check_id}/submissions", json={"photo_ids": ids}, headers=headers
    )


async def side(client, sandbox_client, deps, seed: int, **overrides: Any) -> Side:
    shop = await make_shop()
    brand = await staff_headers(client, shop.tenant.admin_username)
    now = deps.clock.now()
    made = await client.post(
        f"{API}/programs",
        json=program_body(shop, now, **overrides),
        headers={**brand, "Idempotency-Key": f"p{next(_keys)}"},
    )
    assert made.status_code == 201, made.text
    published = await client.post(f"{API}/programs/{made.json()['id']}/publish", headers=brand)
    assert published.status_code == 200, published.text
    program = published.json()
    stores, owners, signings = [], [], []
    for _ in range(2):
        store = await make_store(shop.tenant, latitude=STORE_AT[0], longitude=STORE_AT[1])
        owner = await store_owner(client, sandbox_client, store)
        stores.append(store)
        owners.append(owner)
        signings.append(await sign(client, owner, program))
    check_id = program["checks"][0]["id"]
    a1, a2, spare_a = await photo_ids(client, owners[0], now, seed, seed + 1, seed + 2)
    [spare_b] = await photo_ids(client, owners[1], now, seed + 3)
    submitted = await submit(client, owners[0], check_id, [a1, a2])
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["status"] == "review"
    return Side(
        shop,
        brand,
        program,
        check_id,
        stores[0],
        owners[0],
        stores[1],
        owners[1],
        signings[0],
        signings[1],
        int(submitted.json()["id"]),
        spare_a,
        spare_b,
    )


WRITTEN = (
    DisplayProgram,
    DisplayAgreement,
    DisplayCheck,
    DisplaySigning,
    DisplaySubmission,
    DisplayPhoto,
    DisplayPhotoBand,
    DisplayReward,
    Coupon,
    LedgerEntry,
)


async def written() -> dict[str, Any]:
    """How many rows of everything a display request could write, and what the programs'
    and photos' changing columns hold."""
    found: dict[str, Any] = {model.__name__: await model.all().count() for model in WRITTEN}
    found["programs"] = (
        await DisplayProgram.all()
        .order_by("id")
        .values_list(
            "status", "signed_count", "spent_fen", "budget_fen", "name", "agreement_version"
        )
    )
    found["photos"] = await DisplayPhoto.all().order_by("id").values_list("id", "submission_id")
    found["submissions"] = (
        await DisplaySubmission.all()
        .order_by("id")
        .values_list("id", "status", "first_review", "review_reason")
    )
    return found


def idempotent_staff(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": f"k{next(_keys)}"}


def invalid(response: httpx.Response) -> bool:
    """Refused as malformed: the API's request.* (422) or display.invalid (400)."""
    code = response.json()["error"]["code"]
    if response.status_code == 422:
        return bool(code.startswith("request."))
    return (response.status_code, code) == (400, "display.invalid")


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    got = response.json()["error"]["code"]
    assert got == code, (response.request.method, response.request.url, got, response.text)


async def staff_of(client: httpx.AsyncClient, tenant: Tenant, role: Role, **scope: Any):
    username = f"{role.value}_{next(_keys)}_x"
    user = await identity_service.create_staff_user(username, PASSWORD, "员工")
    await identity_service.grant_membership(user.id, role, tenant.brand.id, **scope)
    return user, await staff_headers(client, username)


# ---- another brand's ids ---------------------------------------------------------------------


async def test_another_brands_ids_are_not_found_anywhere(client, sandbox_client, deps) -> None:
    mine = await side(client, sandbox_client, deps, 100)
    theirs = await side(client, sandbox_client, deps, 200)
    before = await written()
    brand, owner = mine.brand, mine.owner_a
    program, check = theirs.program["id"], theirs.check_id
    patch = {"budget_fen": 60_000}
    as_brand = [
        ("GET", f"/programs/{program}", None, "display.program_not_found"),
        ("PATCH", f"/programs/{program}", patch, "display.program_not_found"),
        ("POST", f"/programs/{program}/publish", None, "display.program_not_found"),
        ("POST", f"/programs/{program}/end", None, "display.program_not_found"),
        ("GET", f"/programs/{program}/signings", None, "display.program_not_found"),
        ("GET", f"/programs/{program}/figures", None, "display.program_not_found"),
        ("GET", f"/programs/{program}/export?what=rewards", None, "display.program_not_found"),
        ("GET", f"/signings/{theirs.signing_a}/document", None, "display.signing_not_found"),
        ("GET", f"/submissions/{theirs.submission}", None, "display.submission_not_found"),
        ("GET", f"/reviews/{theirs.submission}", None, "display.submission_not_found"),
        (
            "POST",
            f"/submissions/{theirs.submission}/approve",
            {},
            "display.submission_not_found",
        ),
        (
            "POST",
            f"/submissions/{theirs.submission}/reject",
            {"reason": "照片不清楚"},
            "display.submission_not_found",
        ),
    ]
    as_store = [
        ("GET", f"/store/programs/{program}", None, "display.program_not_found"),
        ("GET", f"/mine/{theirs.signing_a}", None, "display.signing_not_found"),
        ("GET", f"/signings/{theirs.signing_a}/document", None, "display.signing_not_found"),
        ("GET", f"/submissions/{theirs.submission}", None, "display.submission_not_found"),
    ]
    for headers, probes in ((brand, as_brand), (bearer(owner), as_store)):
        for method, path, body, code in probes:
            response = await client.request(method, f"{API}{path}", json=body, headers=headers)
            refused(response, 404, code)
    signed = await client.post(
        f"{API}/programs/{program}/sign",
        json={"signer_name": "店主", "agreement_version": 1, "agreed": True},
        headers=idempotent(owner),
    )
    refused(signed, 404, "display.program_not_found")
    # Their check with our photos; our check with their photo.
    ours = await photo_ids(client, owner, deps.clock.now(), 150)
    before = await written()
    refused(
        await submit(client, owner, check, [mine.spare_a, ours[0]]),
        404,
        "display.check_not_found",
    )
    # Store a's first check is in review: its second check is not open yet, so take store b.
    refused(
        await submit(client, mine.owner_b, mine.check_id, [mine.spare_b, theirs.spare_a]),
        404,
        "display.photo_not_found",
    )
    listed = await client.get(f"{API}/reviews?program_id={program}", headers=brand)
    assert listed.status_code == 200 and listed.json()["items"] == []
    others = await client.get(f"{API}/programs/{program}/signings", headers=theirs.brand)
    assert len(others.json()["items"]) == 2
    # Their SKUs, distributors, regions and vouchers in our program: refused field by field.
    region = await Region.create(brand=theirs.tenant.brand, name="华北")
    template = await exchange_template(client, theirs.shop)
    voucher = {"kind": "voucher", "amount": 1, "template_id": template, "value_fen": 100}
    now = deps.clock.now()
    draft = await client.post(
        f"{API}/programs", json=program_body(mine.shop, now), headers=idempotent_staff(brand)
    )
    assert draft.status_code == 201, draft.text
    before = await written()
    for field, value in (
        ("sku_ids", [theirs.shop.filters]),
        ("audience", {"distributor_ids": [theirs.tenant.distributor.id]}),
        ("audience", {"region_ids": [region.id]}),
        ("check_reward", voucher),
    ):
        made = await client.post(
            f"{API}/programs",
            json=program_body(mine.shop, now, **{field: value}),
            headers=idempotent_staff(brand),
        )
        refused(made, 400, "display.invalid")
        assert made.json()["error"]["details"][0]["field"].startswith(field), made.text
        for target, status, code in (
            (draft.json()["id"], 400, "display.invalid"),
            (mine.program["id"], 409, "display.terms_signed"),  # stores signed it already
        ):
            changed = await client.patch(
                f"{API}/programs/{target}", json={field: value}, headers=brand
            )
            refused(changed, status, code)
    assert await written() == before


# ---- the wrong people -----------------------------------------------------------------------


async def test_only_the_right_role_may_act(client, sandbox_client, deps) -> None:
    s = await side(client, sandbox_client, deps, 300, salesperson_reviews_first=True)
    tenant = s.tenant
    clerk_user, clerk = await staff_of(
        client,
        tenant,
        Role.STORE_CLERK,
        distributor_id=tenant.distributor.id,
        store_id=s.store_a.id,
    )
    _, distributor = await staff_of(
        client, tenant, Role.DISTRIBUTOR_ADMIN, distributor_id=tenant.distributor.id
    )
    # A salesperson serving another store of the same brand and distributor.
    other_person = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李四", phone="13900009999"
    )
    await make_store(tenant, salesperson=other_person)
    sales_user, sales = await staff_of(
        client,
        tenant,
        Role.SALESPERSON,
        distributor_id=tenant.distributor.id,
        salesperson_id=other_person.id,
    )
    await Salesperson.filter(id=other_person.id).update(user_id=sales_user.id)
    unsigned = await make_store(tenant, latitude=STORE_AT[0], longitude=STORE_AT[1])
    stranger = await store_owner(client, sandbox_client, unsigned)
    [stranger_photo] = await photo_ids(client, stranger, deps.clock.now(), 350)
    before = await written()

    program = s.program["id"]
    sign_body = {"signer_name": "店员", "agreement_version": 1, "agreed": True}
    # A clerk may not sign; a store may not write programs or decide.
    response = await client.post(
        f"{API}/programs/{program}/sign", json=sign_body, headers={**clerk, "Idempotency-Key": "c"}
    )
    assert response.status_code == 403
    for headers in (clerk, bearer(s.owner_a)):
        for path in (f"/submissions/{s.submission}/approve", f"/programs/{program}/end"):
            assert (await client.post(f"{API}{path}", json={}, headers=headers)).status_code == 403
    # Distributor staff read, never decide or write.
    assert (
        await client.get(f"{API}/reviews/{s.submission}", headers=distributor)
    ).status_code == 200
    for path, body in (
        (f"/submissions/{s.submission}/approve", {}),
        (f"/submissions/{s.submission}/reject", {"reason": "不合格"}),
        (f"/programs/{program}/end", None),
    ):
        response = await client.post(f"{API}{path}", json=body, headers=distributor)
        assert response.status_code == 403, response.text
    response = await client.patch(
        f"{API}/programs/{program}", json={"name": "x"}, headers=distributor
    )
    assert response.status_code == 403
    # The salesperson of another store sees nothing of this one.
    for action, body in (("approve", {}), ("reject", {"reason": "不合格"})):
        response = await client.post(
            f"{API}/submissions/{s.submission}/{action}", json=body, headers=sales
        )
        refused(response, 404, "display.submission_not_found")
    refused(
        await client.get(f"{API}/submissions/{s.submission}", headers=sales),
        404,
        "display.submission_not_found",
    )
    assert (await client.get(f"{API}/sales/reviews", headers=sales)).json()["items"] == []
    # Brand staff take no photos; a store that did not sign submits nothing; store b sees
    # neither store a's submission nor its signing.
    response = await client.post(
        f"{API}/photos",
        files={"file": ("a.jpg", photo(1), "image/jpeg")},
        data={"taken_at": deps.clock.now().isoformat()},
        headers=s.brand,
    )
    assert response.status_code == 403
    refused(
        await submit(client, stranger, s.check_id, [stranger_photo, s.spare_a]),
        404,
        "display.check_not_found",
    )
    for path, code in (
        (f"/submissions/{s.submission}", "display.submission_not_found"),
        (f"/mine/{s.signing_a}", "display.signing_not_found"),
        (f"/signings/{s.signing_a}/document", "display.signing_not_found"),
    ):
        refused(await client.get(f"{API}{path}", headers=bearer(s.owner_b)), 404, code)
    # The clerk of store a may read its submission and submit for it, not sign.
    assert (await client.get(f"{API}/submissions/{s.submission}", headers=clerk)).status_code == 200
    assert clerk_user.id
    # Staff of the brand's other distributor see none of this distributor's stores.
    _, elsewhere = await staff_of(
        client, tenant, Role.DISTRIBUTOR_ADMIN, distributor_id=tenant.other_distributor.id
    )
    for path, code in (
        (f"/submissions/{s.submission}", "display.submission_not_found"),
        (f"/reviews/{s.submission}", "display.submission_not_found"),
        (f"/signings/{s.signing_a}/document", "display.signing_not_found"),
    ):
        refused(await client.get(f"{API}{path}", headers=elsewhere), 404, code)
    for path in (f"/programs/{program}/signings", "/reviews"):
        response = await client.get(f"{API}{path}", headers=elsewhere)
        assert response.json()["items"] == [], response.text
    figures = await client.get(f"{API}/programs/{program}/figures", headers=elsewhere)
    assert (figures.json()["signed"], figures.json()["review"]) == (0, 0)
    assert await written() == before


# ---- replays and reuse ----------------------------------------------------------------------


async def test_replays_and_reused_photos(client, sandbox_client, deps) -> None:
    s = await side(client, sandbox_client, deps, 400)
    now = deps.clock.now()
    # Signing again: the same key answers the first signing; another key is refused.
    store = await make_store(s.tenant, latitude=STORE_AT[0], longitude=STORE_AT[1])
    owner = await store_owner(client, sandbox_client, store)
    key = idempotent(owner, "sign-once")
    body = {"signer_name": "店主", "agreement_version": 1, "agreed": True}
    first = await client.post(f"{API}/programs/{s.program['id']}/sign", json=body, headers=key)
    assert first.status_code == 201
    before = await written()
    again = await client.post(f"{API}/programs/{s.program['id']}/sign", json=body, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    other = await client.post(
        f"{API}/programs/{s.program['id']}/sign", json={**body, "signer_name": "别人"}, headers=key
    )
    refused(other, 409, "idempotency.key_reused")
    twice = await client.post(
        f"{API}/programs/{s.program['id']}/sign", json=body, headers=idempotent(owner)
    )
    refused(twice, 409, "display.already_signed")
    assert await written() == before

    # Submitting: a replay answers the same submission; a second submit is refused.
    b1, b2 = await photo_ids(client, s.owner_b, now, 410, 411)
    submit_key = idempotent(s.owner_b, "submit-once")
    made = await submit(client, s.owner_b, s.check_id, [b1, b2], headers=submit_key)
    assert made.status_code == 201, made.text
    before = await written()
    replay = await submit(client, s.owner_b, s.check_id, [b1, b2], headers=submit_key)
    assert (replay.status_code, replay.json()["id"]) == (201, made.json()["id"])
    refused(await submit(client, s.owner_b, s.check_id, [b1, b2]), 409, "display.already_submitted")
    assert await written() == before

    # Rejected, store b may try again, but not with a photo it used already.
    rejected = await client.post(
        f"{API}/submissions/{made.json()['id']}/reject",
        json={"reason": "价签没有朝外"},
        headers=s.brand,
    )
    assert rejected.status_code == 200, rejected.text
    [b3] = await photo_ids(client, s.owner_b, now, 412)
    before = await written()
    refused(await submit(client, s.owner_b, s.check_id, [b1, b3]), 404, "display.photo_not_found")
    # ...nor with store a's photo (store a's is unused, but not store b's to send).
    refused(
        await submit(client, s.owner_b, s.check_id, [b3, s.spare_a]),
        404,
        "display.photo_not_found",
    )
    refused(await submit(client, s.owner_b, s.check_id, [b3, b3]), 400, "display.photo_count")
    refused(await submit(client, s.owner_b, s.check_id, [b3]), 400, "display.photo_count")
    assert await written() == before
    again = await submit(client, s.owner_b, s.check_id, [b3, s.spare_b])
    assert (again.status_code, again.json()["attempt"]) == (201, 2)

    # A decision made twice: the second is told; nothing more is paid.
    approved = await client.post(
        f"{API}/submissions/{s.submission}/approve", json={}, headers=s.brand
    )
    assert approved.status_code == 200, approved.text
    before = await written()
    for action, body in (("approve", {}), ("reject", {"reason": "重复审核"})):
        response = await client.post(
            f"{API}/submissions/{s.submission}/{action}", json=body, headers=s.brand
        )
        refused(response, 409, "display.already_reviewed")
    assert await written() == before


# ---- malformed input ---------------------------------------------------------------------------


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 120, 120)).save(buffer, "GIF")
    return buffer.getvalue()


TAKEN_AT_GARBAGE = [
    "",
    "yesterday",
    "2026-13-40T00:00:00+08:00",
    "2026-06-01T10:00:00",  # no offset
    "999999999999999",  # epoch ms far past the year 9999
    "9999-12-31T23:59:59-14:00",  # past the year 9999 in UTC
    "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
    "-1",
    "1e12",
    "\x00",
    "2026-06-01T10:00:00+08:00" * 100,
]


async def test_bad_uploads_are_refused_and_nothing_is_written(client, sandbox_client, deps) -> None:
    s = await side(client, sandbox_client, deps, 500)
    now = deps.clock.now()
    owner = s.owner_a
    before = await written()
    for taken_at in TAKEN_AT_GARBAGE:
        response = await upload(client, owner, photo(501), now, taken_at=taken_at)
        refused(response, 400, "display.invalid")
    for latitude, longitude in (
        ("999", "120"),
        ("30", "-181"),
        ("nan", "120"),
        ("inf", "120"),
        ("北纬30度", "120"),
        ("30", None),
        ("1e400", "120"),
    ):
        response = await upload(
            client, owner, photo(501), now, latitude=latitude, longitude=longitude
        )
        refused(response, 400, "display.invalid")
    for data in (b"", b"not an image at all", b"\xff\xd8\xff\xe0broken jpeg", gif()):
        refused(await upload(client, owner, data, now), 400, "display.not_an_image")
    big = photo(502) + b"\0" * (6 * 1024 * 1024)
    refused(await upload(client, owner, big, now), 413, "display.photo_too_large")
    huge = photo(502) + b"\0" * (13 * 1024 * 1024)  # past what any upload route reads
    refused(await upload(client, owner, huge, now), 413, "http.payload_too_large")
    # No file at all: a form without one, a JSON body, nothing.
    no_file = await client.post(
        f"{API}/photos", data={"taken_at": now.isoformat()}, headers=bearer(owner)
    )
    refused(no_file, 400, "display.not_an_image")
    as_json = await client.post(
        f"{API}/photos", json={"taken_at": now.isoformat()}, headers=bearer(owner)
    )
    assert as_json.status_code == 400, as_json.text
    assert (await client.post(f"{API}/photos", headers=bearer(owner))).status_code == 400
    assert await written() == before


SUBMIT_GARBAGE: list[Any] = [
    {},
    [],
    "x",
    None,
    {"photo_ids": None},
    {"photo_ids": "1,2"},
    {"photo_ids": [0, 1]},
    {"photo_ids": [-1, 2]},
    {"photo_ids": [10**30, 2]},
    {"photo_ids": [1.5, 2]},
    {"photo_ids": list(range(1, 100))},
    {"photo_ids": [1, 2], "extra": 1},
]


async def test_bad_bodies_and_queries_are_refused(client, sandbox_client, deps) -> None:
    s = await side(client, sandbox_client, deps, 600)
    program = s.program["id"]
    before = await written()
    for payload in SUBMIT_GARBAGE:
        response = await client.post(
            f"{API}/checks/{s.check_id}/submissions",
            json=payload,
            headers=idempotent(s.owner_b),
        )
        assert invalid(response), (payload, response.text)
    not_json = await client.post(
        f"{API}/checks/{s.check_id}/submissions",
        content=b"{photo_ids: [1,",
        headers={**idempotent(s.owner_b), "Content-Type": "application/json"},
    )
    assert invalid(not_json), not_json.text
    no_key = await client.post(
        f"{API}/checks/{s.check_id}/submissions",
        json={"photo_ids": [s.spare_b, s.spare_b]},
        headers=bearer(s.owner_b),
    )
    refused(no_key, 422, "idempotency.key_required")
    huge = await client.post(
        f"{API}/programs",
        content=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={**s.brand, "Idempotency-Key": "huge", "Content-Type": "application/json"},
    )
    assert huge.status_code == 413

    brand = {**s.brand, "Idempotency-Key": "bad-program"}
    for payload in ({}, [], "x", {"name": 5}, {**program_body(s.shop, deps.clock.now()), "x": 1}):
        response = await client.post(f"{API}/programs", json=payload, headers=brand)
        refused(response, 400, "display.invalid")
        assert isinstance(response.json()["error"]["details"], list)
    for payload in (
        [],
        "x",
        {"name": ""},
        {"check_count": 10**20},
        {"budget_fen": -1},
        {"sku_ids": []},
        {"check_reward": None},  # the only reward: at least one must stay
        {"audience": {"distributor_ids": [10**18]}},
        {"check_reward": {"kind": "voucher", "amount": 1}},
        {"signup_until": "soon"},
    ):
        response = await client.patch(f"{API}/programs/{program}", json=payload, headers=s.brand)
        assert response.status_code in (400, 409), (payload, response.text)
        assert response.json()["error"]["code"].startswith("display."), response.text
    for payload in (
        {},
        {"signer_name": "张", "agreement_version": 1, "agreed": True},
        {"signer_name": "张三", "agreement_version": 1, "agreed": False},
        {"signer_name": "张三", "agreement_version": 0, "agreed": True},
        {"signer_name": "张三", "agreement_version": 10**20, "agreed": True},
        {"signer_name": "张三", "agreement_version": "一", "agreed": True},
    ):
        store = await make_store(s.tenant)
        owner = await store_owner(client, sandbox_client, store)
        response = await client.post(
            f"{API}/programs/{program}/sign", json=payload, headers=idempotent(owner)
        )
        assert invalid(response), (payload, response.text)
    for action, payload in (
        ("approve", "x"),
        ("approve", {"note": "x" * 201}),
        ("reject", {}),
        ("reject", {"reason": " "}),
        ("reject", {"reason": "x" * 201}),
        ("reject", {"reason": 5}),
    ):
        response = await client.post(
            f"{API}/submissions/{s.submission}/{action}", json=payload, headers=s.brand
        )
        assert invalid(response), (action, payload, response.text)
    queries = [
        "/programs?limit=abc",
        "/programs?before=0",
        "/programs?status=open",
        "/programs?q=" + "x" * 41,
        f"/programs/{program}/signings?status=x",
        f"/programs/{program}/signings?distributor_id=-1",
        "/reviews?program_id=abc",
        "/reviews?first_review=maybe",
        "/reviews?after=-5",
        f"/programs/{program}/figures?distributor_id=x",
        f"/programs/{program}/export",
        f"/programs/{program}/export?what=coupons",
        f"/programs/{program}/export?what=rewards&format=pdf",
    ]
    for query in queries:
        response = await client.get(f"{API}{query}", headers=s.brand)
        assert invalid(response), (query, response.text)
    for path in ("/programs/99999999999999999999", "/mine/0", "/submissions/9223372036854775807"):
        response = await client.get(f"{API}{path}", headers=s.brand)
        assert response.status_code in (403, 404), (path, response.text)
    assert await written() == before


@pytest.mark.parametrize("ended", [False, True])
async def test_a_closed_window_or_an_ended_program_takes_nothing(
    client, sandbox_client, deps, ended
) -> None:
    s = await side(client, sandbox_client, deps, 700)
    b1, b2 = await photo_ids(client, s.owner_b, deps.clock.now(), 701, 702)
    second = s.program["checks"][1]["id"]
    if ended:
        response = await client.post(f"{API}/programs/{s.program['id']}/end", headers=s.brand)
        assert response.status_code == 200
        targets = [s.check_id, second]
    else:
        targets = [second]  # not open until next week
    before = await written()
    for check_id in targets:
        refused(await submit(client, s.owner_b, check_id, [b1, b2]), 409, "display.window_closed")
    assert await written() == before
