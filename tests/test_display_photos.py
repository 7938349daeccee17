"""Display photos and submissions: a store uploads the photos it took (cleaned, measured),
submits them for a check of a program it signed, and the automatic checks give the reasons
and the verdict. Every image is drawn here with Pillow: a textured shelf stands for a photo,
and darkening, blurring or resizing and recompressing it makes the photos each check catches.
Refusals write nothing; two submits of one check at once make one submission."""

from __future__ import annotations

import asyncio
import io
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from backend.config import ConfigError, load_settings
from backend.display import rewards, submissions
from backend.display.inspect import measure
from backend.display.models import (
    DisplayAgreement,
    DisplayCheck,
    DisplayPhoto,
    DisplayProgram,
    DisplaySigning,
    DisplaySubmission,
)
from backend.display.neardup import to_signed, to_unsigned
from backend.display.recognisers import HttpRecogniser, RecognisedPhoto, Submitted
from backend.display.verdict import (
    DUPLICATE_DISTANCE,
    MIN_BRIGHTNESS,
    MIN_SHARPNESS,
    Facts,
    PhotoFacts,
    RecogniserResult,
    distance_text,
    judge,
    near_duplicates_within,
)
from backend.identity import service as identity_service
from backend.identity.models import Role
from backend.org.models import Store
from tests.conftest import ON_POSTGRES, ThreadedServer
from tests.factories import (
    Tenant,
    bearer,
    idempotent,
    make_staff,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)

API = "/api/v1/display"
STORE_AT = (30.2741, 120.1551)  # the store's registered location
METRES_PER_DEGREE = 111_195  # of latitude, on the haversine's sphere


# ---- images -------------------------------------------------------------------------------


def shelf(seed: int, size: tuple[int, int] = (1200, 900)) -> Image.Image:
    """A shelf of packs with printing on them: edges and texture like a real display photo,
    and different for every seed (their hashes are 20+ bits apart)."""
    rnd = random.Random(seed)
    width, height = size
    picture = Image.new("RGB", size, (rnd.randint(150, 230),) * 3)
    draw = ImageDraw.Draw(picture)
    row_height = height // 4
    for row in range(4):
        floor = (row + 1) * row_height - 12
        draw.rectangle([0, floor, width, floor + 12], fill=(90, 70, 50))
        x = 5
        while x < width:
            w, h = rnd.randint(40, 120), rnd.randint(80, row_height - 20)
            colour = tuple(rnd.randint(0, 255) for _ in range(3))
            draw.rectangle([x, floor - h, x + w, floor], fill=colour, outline=(0, 0, 0))
            for _ in range(6):
                spot = (x + rnd.randint(2, max(3, w - 20)), floor - h + rnd.randint(2, h - 10))
                draw.text(spot, "ABC", fill=tuple(rnd.randint(0, 255) for _ in range(3)))
            x += w + rnd.randint(2, 10)
    return picture


def jpeg(picture: Image.Image, quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@cache  # drawn once a run: the same seeds are taken again and again (bytes, never changed)
def photo(seed: int) -> bytes:
    return jpeg(shelf(seed))


def dark(seed: int) -> bytes:
    return jpeg(ImageEnhance.Brightness(shelf(seed)).enhance(0.15))


def blurred(seed: int) -> bytes:
    return jpeg(shelf(seed).filter(ImageFilter.GaussianBlur(4)))


def forwarded(data: bytes) -> bytes:
    """The same photo as a chat app forwards it: smaller and recompressed harder."""
    with Image.open(io.BytesIO(data)) as original:
        return jpeg(original.resize((original.width // 2, original.height // 2)), quality=55)


def test_the_drawn_photos_measure_as_the_checks_expect() -> None:
    sharp, copy = measure(photo(1)), measure(forwarded(photo(1)))
    assert sharp.brightness >= MIN_BRIGHTNESS and sharp.sharpness >= MIN_SHARPNESS
    assert measure(dark(1)).brightness < MIN_BRIGHTNESS
    assert measure(dark(1)).sharpness >= MIN_SHARPNESS  # dark, not blurred: one reason each
    assert measure(blurred(1)).sharpness < MIN_SHARPNESS
    assert measure(blurred(1)).brightness >= MIN_BRIGHTNESS
    assert (sharp.phash ^ copy.phash).bit_count() <= DUPLICATE_DISTANCE
    hashes = [measure(photo(seed)).phash for seed in range(1, 9)]
    distances = [(a ^ b).bit_count() for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) > DUPLICATE_DISTANCE


def test_a_hash_goes_to_the_column_and_back() -> None:
    for unsigned in (0, 1, 2**63 - 1, 2**63, 2**64 - 1):
        signed = to_signed(unsigned)
        assert -(2**63) <= signed < 2**63 and to_unsigned(signed) == unsigned


# ---- the verdict, pure --------------------------------------------------------------------


NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def facts(**photo: Any) -> Facts:
    fields = {
        "photo_id": 7,
        "taken_at": NOW,
        "located": True,
        "distance_m": 20,
        "brightness": 120.0,
        "sharpness": 800.0,
    }
    fields.update(photo)
    return Facts(
        opens_at=NOW - timedelta(days=1),
        closes_at=NOW + timedelta(days=1),
        distance_limit_m=300,
        store_located=True,
        photos=[PhotoFacts(**fields)],
    )


def test_distance_reasons_ask_a_person_then_fail() -> None:
    assert judge(facts()).verdict == "passed" and judge(facts()).reasons == []
    near = judge(facts(distance_m=900))
    assert near.verdict == "review"
    assert near.reason_dicts() == [
        {"code": "too_far", "message": "拍摄地点距门店约 900 米，超出 300 米", "photo_id": 7}
    ]
    far = judge(facts(distance_m=1234))
    assert far.verdict == "failed"
    assert far.reason_dicts()[0]["message"] == "拍摄地点距门店约 1.2 公里，超出 300 米"
    assert [distance_text(m) for m in (50, 999, 1000, 1550, 2000)] == [
        "50 米",
        "999 米",
        "1 公里",
        "1.6 公里",
        "2 公里",
    ]


def test_failing_beats_review_and_a_passing_recogniser_adds_nothing() -> None:
    mixed = judge(facts(distance_m=500, brightness=10.0))
    assert mixed.verdict == "failed"
    assert [r.code for r in mixed.reasons] == ["too_dark", "too_far"]
    passing = RecogniserResult("passed", "陈列达标")
    checked = facts()
    assert judge(replace(checked, recogniser=passing)).reasons == []
    doubtful = RecogniserResult("review", "需人工审核陈列效果", code="needs_person")
    assert judge(replace(checked, recogniser=doubtful)).verdict == "review"


def test_duplicates_within_one_submission_name_the_earlier_photo() -> None:
    assert near_duplicates_within([(1, 0b1111), (2, 0), (3, 2**40)]) == {2: 1, 3: 1}
    assert near_duplicates_within([(1, 0), (2, 2**64 - 1)]) == {}


# ---- fixtures -----------------------------------------------------------------------------


async def signed_program(
    tenant: Tenant,
    store: Store,
    owner: dict[str, Any],
    now: datetime,
    *,
    photos_required: int = 2,
    opens_in: timedelta = timedelta(days=-1),
    program: DisplayProgram | None = None,
) -> tuple[DisplayProgram, DisplayCheck, DisplaySigning]:
    """A published program with one check open a week from `now + opens_in`, which `store`
    signed (written through the models: signing is another part's work)."""
    if program is None:
        opens_at = now + opens_in
        program = await DisplayProgram.create(
            brand=tenant.brand,
            name="冰柜陈列",
            status="published",
            standard="冰柜第一层整层陈列本品，价签朝外",
            sku_ids=[],
            audience={"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
            signup_from=now - timedelta(days=7),
            signup_until=now + timedelta(days=7),
            first_check_at=opens_at,
            check_count=1,
            check_interval_days=7,
            check_window_days=7,
            photos_required=photos_required,
            distance_limit_m=300,
            check_reward={"kind": "points", "amount": 200, "template_id": None, "value_fen": 0},
            budget_fen=100_000,
            max_stores=10,
            created_at=now - timedelta(days=8),
            updated_at=now - timedelta(days=8),
            published_at=now - timedelta(days=8),
        )
        await DisplayAgreement.create(
            program=program, version=1, text="陈列协议" * 10, created_at=now
        )
        await DisplayCheck.create(
            program=program, seq=1, opens_at=opens_at, closes_at=opens_at + timedelta(days=7)
        )
    check = await DisplayCheck.get(program_id=program.id, seq=1)
    agreement = await DisplayAgreement.get(program_id=program.id, version=1)
    signing = await DisplaySigning.create(
        brand=tenant.brand,
        program=program,
        store=store,
        agreement=agreement,
        signed_by_id=owner["identity"]["user_id"],
        signer_name="张老板",
        distributor_id=store.distributor_id,  # type: ignore[attr-defined]
        terms={
            "name": program.name,
            "standard": program.standard,
            "skus": [{"id": 1, "name": "冰红茶 500ml"}],
            "photos_required": photos_required,
            "distance_limit_m": 300,
            "checks": [],
            "agreement_version": 1,
        },
        signed_at=now - timedelta(days=2),
    )
    return program, check, signing


async def located_store(tenant: Tenant, **fields: Any) -> Store:
    return await make_store(tenant, latitude=STORE_AT[0], longitude=STORE_AT[1], **fields)


async def upload(
    client: httpx.AsyncClient,
    owner: dict[str, Any],
    data: bytes,
    *,
    taken_at: str | None = None,
    metres_north: float | None = 0,
    now: datetime | None = None,
    **form: str,
) -> httpx.Response:
    fields = dict(form)
    if taken_at is None:
        taken_at = ((now or datetime.now(UTC)) - timedelta(minutes=10)).isoformat()
    fields.setdefault("taken_at", taken_at)
    if metres_north is not None and "latitude" not in form:
        fields["latitude"] = str(STORE_AT[0] + metres_north / METRES_PER_DEGREE)
        fields["longitude"] = str(STORE_AT[1])
    return await client.post(
        f"{API}/photos",
        files={"file": ("shelf.jpg", data, "image/jpeg")},
        data=fields,
        headers=bearer(owner),
    )


async def uploaded(client: httpx.AsyncClient, owner: dict[str, Any], *images: bytes, **kw: Any):
    ids = []
    for data in images:
        response = await upload(client, owner, data, **kw)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def submit(
    client: httpx.AsyncClient, owner: dict[str, Any], check_id: int, photo_ids: list[int]
) -> httpx.Response:
    return await client.post(
        f"{API}/checks/{check_id}/submissions",
        json={"photo_ids": photo_ids},
        headers=idempotent(owner),
    )


async def one_store(client, sandbox_client, deps, **kw: Any):
    tenant = await make_tenant()
    store = await located_store(tenant)
    owner = await store_owner(client, sandbox_client, store)
    program, check, signing = await signed_program(tenant, store, owner, deps.clock.now(), **kw)
    return tenant, store, owner, program, check, signing


# ---- uploading ------------------------------------------------------------------------------


async def test_a_photo_is_cleaned_measured_and_stored(
    client, sandbox_client, deps, settings
) -> None:
    tenant = await make_tenant()
    owner = await store_owner(client, sandbox_client, tenant.store)
    now = deps.clock.now()
    taken = now - timedelta(minutes=3)
    response = await upload(client, owner, photo(1), taken_at=str(int(taken.timestamp() * 1000)))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["width"], body["height"]) == (1200, 900)
    assert datetime.fromisoformat(body["taken_at"]) == taken.replace(
        microsecond=taken.microsecond // 1000 * 1000
    )
    assert f"/display/{tenant.brand.id}/{tenant.store.id}/" in body["url"]
    served = await client.get(body["url"].removeprefix(settings.public_base_url))
    assert served.status_code == 200
    row = await DisplayPhoto.get(id=body["id"])
    expected = measure(served.content)
    assert (row.phash, row.brightness, row.sharpness) == (
        to_signed(expected.phash),
        expected.brightness,
        expected.sharpness,
    )
    assert row.latitude == pytest.approx(STORE_AT[0]) and row.submission_id is None  # type: ignore[attr-defined]

    no_place = await upload(client, owner, photo(2), metres_north=None)
    assert no_place.status_code == 201
    assert (await DisplayPhoto.get(id=no_place.json()["id"])).latitude is None


async def test_bad_uploads_are_refused_and_nothing_is_written(client, sandbox_client) -> None:
    tenant = await make_tenant()
    owner = await store_owner(client, sandbox_client, tenant.store)

    def code(response: httpx.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert code(await upload(client, owner, b"%PDF-1.4 not a photo")) == (
        400,
        "display.not_an_image",
    )
    huge = b"\xff\xd8" + b"0" * (6 * 1024 * 1024)
    assert code(await upload(client, owner, huge)) == (413, "display.photo_too_large")
    bare = await client.post(
        f"{API}/photos", data={"taken_at": datetime.now(UTC).isoformat()}, headers=bearer(owner)
    )
    assert code(bare) == (400, "display.not_an_image")

    future = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    cases = {
        "": ["taken_at"],
        "yesterday": ["taken_at"],
        "2026-12-01T10:00:00": ["taken_at"],  # no offset: which time was it?
        future: ["taken_at"],
        "1999-12-31T23:00:00+00:00": ["taken_at"],
    }
    for taken_at, fields in cases.items():
        refused = await upload(client, owner, photo(1), taken_at=taken_at)
        assert code(refused) == (400, "display.invalid"), taken_at
        assert [d["field"] for d in refused.json()["error"]["details"]] == fields
    places = [
        ({"latitude": "30.1"}, ["longitude"]),
        ({"longitude": "120.1"}, ["latitude"]),
        ({"latitude": "91", "longitude": "120"}, ["latitude"]),
        ({"latitude": "30", "longitude": "abc"}, ["longitude"]),
        ({"latitude": "nan", "longitude": "-181"}, ["latitude", "longitude"]),
    ]
    for form, fields in places:
        refused = await upload(client, owner, photo(1), metres_north=None, **form)
        assert code(refused) == (400, "display.invalid"), form
        assert [d["field"] for d in refused.json()["error"]["details"]] == fields

    staff = await staff_headers(client, tenant.admin_username)
    files = {"file": ("a.jpg", photo(1), "image/jpeg")}
    assert (await client.post(f"{API}/photos", files=files, headers=staff)).status_code == 403
    assert await DisplayPhoto.all().count() == 0


async def test_photos_never_submitted_are_purged_after_a_day(
    client, sandbox_client, deps, settings, monkeypatch
) -> None:
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    kept, dropped = await uploaded(client, owner, photo(1), photo(2), now=deps.clock.now())
    assert (await submit(client, owner, check.id, [kept])).status_code == 201
    assert await submissions.purge_unattached_photos(deps, deps.clock.now()) == 0
    key = (await DisplayPhoto.get(id=dropped)).key
    assert settings.storage.local_dir is not None
    assert (settings.storage.local_dir / key).exists()

    assert await submissions.purge_unattached_photos(deps, deps.clock.now() + timedelta(hours=25))
    assert await DisplayPhoto.filter(id=dropped).count() == 0
    assert await DisplayPhoto.filter(id=kept).count() == 1
    assert not (settings.storage.local_dir / key).exists()


# ---- submitting -----------------------------------------------------------------------------


async def test_a_clean_submission_waits_for_a_person_and_is_shown_to_its_own(
    client, sandbox_client, deps
) -> None:
    tenant, _store, owner, _program, check, _signing = await one_store(client, sandbox_client, deps)
    ids = await uploaded(client, owner, photo(1), photo(2), metres_north=40)
    response = await submit(client, owner, check.id, ids)
    assert response.status_code == 201, response.text
    view = response.json()
    assert (view["check_id"], view["check_seq"], view["attempt"]) == (check.id, 1, 1)
    assert (view["status"], view["verdict"]) == ("review", "review")
    assert view["reasons"] == [
        {"code": "needs_person", "message": "需人工审核陈列效果", "photo_id": None}
    ]
    assert [p["id"] for p in view["photos"]] == ids
    assert [p["distance_m"] for p in view["photos"]] == [40, 40]
    assert view["reward"] is None and view["first_review"] == ""
    assert await DisplayPhoto.filter(submission_id=view["id"]).count() == 2

    readers = [
        bearer(owner),
        await staff_headers(client, tenant.admin_username),
        await staff_headers(
            client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
        ),
    ]
    user = await identity_service.create_staff_user("sales_display", "long-enough-pw", "王磊")
    await identity_service.grant_membership(
        user.id,
        Role.SALESPERSON,
        tenant.brand.id,
        distributor_id=tenant.distributor.id,
        salesperson_id=tenant.salesperson.id,
    )
    readers.append(await staff_headers(client, "sales_display", "long-enough-pw"))
    for headers in readers:
        seen = await client.get(f"{API}/submissions/{view['id']}", headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json() == view

    elsewhere = await make_store(tenant, distributor=tenant.other_distributor, salesperson=None)
    other_owner = await store_owner(client, sandbox_client, elsewhere)
    other_distributor = await staff_headers(
        client,
        await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id),
    )
    other_brand = await staff_headers(client, (await make_tenant()).admin_username)
    for headers in (bearer(other_owner), other_distributor, other_brand):
        hidden = await client.get(f"{API}/submissions/{view['id']}", headers=headers)
        assert hidden.status_code == 404
        assert hidden.json()["error"]["code"] == "display.submission_not_found"


async def test_refused_submissions_write_nothing(client, sandbox_client, deps) -> None:
    tenant, store, owner, program, check, signing = await one_store(client, sandbox_client, deps)
    now = deps.clock.now()
    mine = await uploaded(client, owner, photo(1), photo(2), photo(3))
    neighbour = await located_store(tenant)
    neighbour_owner = await store_owner(client, sandbox_client, neighbour)
    theirs = await uploaded(client, neighbour_owner, photo(4))

    async def refused(check_id: int, ids: list[int], who: dict[str, Any] = owner) -> tuple:
        response = await submit(client, who, check_id, ids)
        return response.status_code, response.json()["error"]["code"]

    assert await refused(check.id, mine[:1]) == (400, "display.photo_count")
    assert await refused(check.id, mine) == (400, "display.photo_count")
    assert await refused(check.id, [mine[0], mine[0]]) == (400, "display.photo_count")
    assert await refused(check.id, [mine[0], theirs[0]]) == (404, "display.photo_not_found")
    assert await refused(check.id, [mine[0], 10**12]) == (404, "display.photo_not_found")
    # The neighbour did not sign: the check is not theirs to submit.
    assert await refused(check.id, theirs, neighbour_owner) == (404, "display.check_not_found")
    assert await refused(10**12, mine[:2]) == (404, "display.check_not_found")

    _, later, _ = await signed_program(
        tenant, neighbour, neighbour_owner, now, opens_in=timedelta(days=2)
    )
    neighbour_ids = await uploaded(client, neighbour_owner, photo(5), photo(6))
    assert await refused(later.id, neighbour_ids, neighbour_owner) == (409, "display.window_closed")
    deps.clock.advance(days=7)  # the first check closed
    owner = await store_owner(client, sandbox_client, store)  # tokens expired
    assert await refused(check.id, mine[:2], owner) == (409, "display.window_closed")
    deps.clock.advance(days=-5)
    owner = await store_owner(client, sandbox_client, store)
    await DisplayProgram.filter(id=program.id).update(status="ended")
    assert await refused(check.id, mine[:2], owner) == (409, "display.window_closed")
    await DisplayProgram.filter(id=program.id).update(status="published")
    await DisplaySigning.filter(id=signing.id).update(status="ended")
    assert await refused(check.id, mine[:2], owner) == (409, "display.window_closed")

    assert await DisplaySubmission.all().count() == 0
    assert await DisplayPhoto.filter(submission_id__isnull=False).count() == 0


async def test_a_check_is_submitted_once_even_at_the_same_moment(
    client, sandbox_client, deps
) -> None:
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    first, second, third = await uploaded(client, owner, photo(1), photo(2), photo(3))
    headers = idempotent(owner, "same-key")
    body = {"photo_ids": [first]}
    url = f"{API}/checks/{check.id}/submissions"
    made = await client.post(url, json=body, headers=headers)
    assert made.status_code == 201
    replayed = await client.post(url, json=body, headers=headers)
    assert replayed.status_code == 201 and replayed.json() == made.json()
    again = await submit(client, owner, check.id, [second])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "display.already_submitted"
    assert await DisplaySubmission.all().count() == 1

    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    ids = await uploaded(client, owner, photo(4), photo(5))
    answers = await asyncio.gather(*(submit(client, owner, check.id, [i]) for i in ids))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["error"]["code"] == "display.already_submitted"
    assert await DisplaySubmission.filter(display_check_id=check.id).count() == 1
    assert await DisplayPhoto.filter(id__in=ids, submission_id__isnull=False).count() == 1
    assert third  # the first store's spare photo stays unused
    assert (await DisplayPhoto.get(id=third)).submission_id is None  # type: ignore[attr-defined]


@pytest.mark.skipif(not ON_POSTGRES, reason="many truly parallel transactions: PostgreSQL")
async def test_many_submits_at_once_make_one_submission(client, sandbox_client, deps) -> None:
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    ids = await uploaded(client, owner, *(photo(seed) for seed in range(10, 16)))
    answers = await asyncio.gather(*(submit(client, owner, check.id, [i]) for i in ids))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert await DisplaySubmission.filter(display_check_id=check.id).count() == 1


async def test_a_failed_or_rejected_check_may_be_tried_again(client, sandbox_client, deps) -> None:
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    failed = await submit(client, owner, check.id, await uploaded(client, owner, dark(1)))
    assert (failed.json()["status"], failed.json()["attempt"]) == ("failed", 1)
    second = await submit(client, owner, check.id, await uploaded(client, owner, photo(2)))
    assert (second.json()["status"], second.json()["attempt"]) == ("review", 2)
    # A reviewer rejects it (another part's endpoint; written here as it would).
    await DisplaySubmission.filter(id=second.json()["id"]).update(
        status="rejected", review_reason="冰柜里有其他品牌"
    )
    third = await submit(client, owner, check.id, await uploaded(client, owner, photo(3)))
    assert third.status_code == 201
    assert (third.json()["status"], third.json()["attempt"]) == ("review", 3)


# ---- the automatic checks ---------------------------------------------------------------------


def codes(view: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(reason["code"], reason["photo_id"]) for reason in view["reasons"]]


async def test_dark_blurred_and_mistimed_photos_fail(client, sandbox_client, deps) -> None:
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=3)
    ids = await uploaded(client, owner, dark(1), blurred(2))
    early = (check.opens_at - timedelta(hours=2)).isoformat()
    ids += await uploaded(client, owner, photo(3), taken_at=early)
    view = (await submit(client, owner, check.id, ids)).json()
    assert view["status"] == "failed"
    assert codes(view) == [("too_dark", ids[0]), ("blurred", ids[1]), ("outside_window", ids[2])]
    messages = {reason["code"]: reason["message"] for reason in view["reasons"]}
    assert messages["too_dark"] == "照片太暗，看不清陈列"
    assert messages["blurred"] == "照片模糊，看不清陈列"
    assert messages["outside_window"].startswith("照片拍摄于 ")
    assert "不在本次检查的拍照时间" in messages["outside_window"]


async def test_a_reused_or_forwarded_photo_is_a_duplicate(client, sandbox_client, deps) -> None:
    tenant, store, owner, program, check, _ = await one_store(
        client, sandbox_client, deps, photos_required=1
    )
    await Store.filter(id=store.id).update(name="张记便利店")
    original = photo(1)
    first = await submit(client, owner, check.id, await uploaded(client, owner, original))
    assert first.json()["status"] == "review"

    # Another store of the brand sends the same photo, forwarded (resized, recompressed).
    other = await located_store(tenant)
    other_owner = await store_owner(client, sandbox_client, other)
    _, other_check, _ = await signed_program(
        tenant, other, other_owner, deps.clock.now(), program=program, photos_required=1
    )
    copy = await uploaded(client, other_owner, forwarded(original))
    view = (await submit(client, other_owner, other_check.id, copy)).json()
    assert view["status"] == "failed"
    assert view["reasons"] == [
        {
            "code": "duplicate",
            "message": "与门店「张记便利店」第 1 次检查的照片重复",
            "photo_id": copy[0],
        }
    ]
    # The same photo twice in one submission.
    _, _, owner3, _, check3, _ = await one_store(client, sandbox_client, deps, photos_required=2)
    pair = await uploaded(client, owner3, photo(7), forwarded(photo(7)))
    view = (await submit(client, owner3, check3.id, pair)).json()
    assert view["reasons"] == [
        {"code": "duplicate", "message": "与本次提交的另一张照片重复", "photo_id": pair[1]}
    ]
    # Another brand's stores are another world.
    stranger = await one_store(client, sandbox_client, deps, photos_required=1)
    _, _, stranger_owner, _, stranger_check, _ = stranger
    theirs = await uploaded(client, stranger_owner, forwarded(original))
    view = (await submit(client, stranger_owner, stranger_check.id, theirs)).json()
    assert codes(view) == [("needs_person", None)]


async def test_the_same_stores_repeat_is_named_as_its_own(client, sandbox_client, deps) -> None:
    """A photo the store submitted for one check, sent again for another: named as its own
    repeat and sent to a person, who can tell a resent photo from an unchanged display
    photographed again from the same spot."""
    tenant, store, owner, _program, check, _ = await one_store(
        client, sandbox_client, deps, photos_required=1
    )
    original = photo(1)
    earlier = await uploaded(client, owner, original)
    first = await submit(client, owner, check.id, earlier)
    assert first.json()["status"] == "review"
    _, other_check, _ = await signed_program(
        tenant, store, owner, deps.clock.now(), photos_required=1
    )
    again = await uploaded(client, owner, forwarded(original))
    view = (await submit(client, owner, other_check.id, again)).json()
    message = "与本店第 1 次检查提交的照片几乎相同，需人工确认是否为本次新拍"
    assert view["status"] == "review"
    assert [r for r in view["reasons"] if r["code"] == "duplicate"] == [
        {
            "code": "duplicate",
            "message": message,
            "photo_id": again[0],
            "earlier_photo_id": earlier[0],
        }
    ]
    # The reviewer sees the earlier photo beside the new one, to tell a resent photo from a
    # new one of an unchanged display.
    brand = await staff_headers(client, tenant.admin_username)
    item = (await client.get(f"{API}/reviews/{view['id']}", headers=brand)).json()
    [shown] = item["earlier_photos"]
    assert (shown["id"], shown["check_seq"], shown["repeated_by"]) == (earlier[0], 1, again[0])
    assert shown["program_name"] == (await check.program).name
    assert shown["url"] and shown["taken_at"]
    first_item = (await client.get(f"{API}/reviews/{first.json()['id']}", headers=brand)).json()
    assert first_item["earlier_photos"] == []


async def test_a_retake_at_the_same_check_is_not_a_repeat(client, sandbox_client, deps) -> None:
    """Trying a check again, the store photographs the same shelf from the same spot. Its own
    earlier attempts at that check are not repeats: a dark or blurred photo hashes like its
    good retake, and a rejected display fixed and shot again looks like the rejected one."""
    tenant, _store, owner, _, check, _ = await one_store(
        client, sandbox_client, deps, photos_required=1
    )
    for attempt, failing in ((1, dark(1)), (2, blurred(1))):
        failed = await submit(client, owner, check.id, await uploaded(client, owner, failing))
        assert (failed.json()["attempt"], failed.json()["status"]) == (attempt, "failed")
        assert [code for code, _ in codes(failed.json())] in (["too_dark"], ["blurred"])
    retake = await uploaded(client, owner, photo(1))
    view = (await submit(client, owner, check.id, retake)).json()
    assert (view["attempt"], view["status"], codes(view)) == (3, "review", [("needs_person", None)])
    brand = await staff_headers(client, tenant.admin_username)
    rejected = await client.post(
        f"{API}/submissions/{view['id']}/reject", json={"reason": "价签没有朝外"}, headers=brand
    )
    assert rejected.status_code == 200, rejected.text
    fixed = await uploaded(client, owner, forwarded(photo(1)))
    view = (await submit(client, owner, check.id, fixed)).json()
    assert (view["attempt"], view["status"], codes(view)) == (4, "review", [("needs_person", None)])
    # Another store of the brand sending that shelf is still a repeat.
    other = await located_store(tenant)
    other_owner = await store_owner(client, sandbox_client, other)
    _, other_check, _ = await signed_program(
        tenant, other, other_owner, deps.clock.now(), program=await check.program
    )
    copies = await uploaded(client, other_owner, forwarded(photo(1)), photo(5))
    view = (await submit(client, other_owner, other_check.id, copies)).json()
    assert (view["status"], codes(view)[0]) == ("failed", ("duplicate", copies[0]))


async def test_distance_from_the_store_is_checked(client, sandbox_client, deps) -> None:
    _tenant, _store, owner, _, check, _ = await one_store(
        client, sandbox_client, deps, photos_required=2
    )
    near, beyond = await uploaded(client, owner, photo(1), photo(2), metres_north=600)
    nowhere = await uploaded(client, owner, photo(3), metres_north=None)
    view = (await submit(client, owner, check.id, [near, nowhere[0]])).json()
    assert view["status"] == "review"
    assert view["reasons"] == [
        {"code": "too_far", "message": "拍摄地点距门店约 600 米，超出 300 米", "photo_id": near},
        {"code": "no_location", "message": "照片没有拍摄位置，需人工核对", "photo_id": nowhere[0]},
        {"code": "needs_person", "message": "需人工审核陈列效果", "photo_id": None},
    ]

    _, _, owner2, _, check2, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    far = await uploaded(client, owner2, photo(4), metres_north=1200)
    view = (await submit(client, owner2, check2.id, far)).json()
    assert view["status"] == "failed"
    assert view["reasons"] == [
        {"code": "too_far", "message": "拍摄地点距门店约 1.2 公里，超出 300 米", "photo_id": far[0]}
    ]

    tenant3 = await make_tenant()
    unplaced = tenant3.store  # registered without a location
    owner3 = await store_owner(client, sandbox_client, unplaced)
    _, check3, _ = await signed_program(
        tenant3, unplaced, owner3, deps.clock.now(), photos_required=1
    )
    view = (
        await submit(client, owner3, check3.id, await uploaded(client, owner3, photo(5)))
    ).json()
    assert codes(view) == [("store_no_location", None), ("needs_person", None)]
    assert beyond  # unused


# ---- a brand's image service ----------------------------------------------------------------


class ImageService:
    """A brand's image service, played by a tiny ASGI app: it answers what it is told to and
    keeps what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.answer: Any = {"verdict": "passed", "message": "陈列达标"}
        self.delay = 0.0
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.append(json.loads(body))
        if self.delay:
            await asyncio.sleep(self.delay)
        payload = (
            json.dumps(self.answer).encode() if not isinstance(self.answer, bytes) else self.answer
        )
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def image_service():
    service = ImageService()
    with ThreadedServer(service) as server:
        service.url = server.url  # type: ignore[attr-defined]
        yield service


async def test_a_brands_recogniser_can_pass_a_check_which_is_paid(
    client, sandbox_client, deps, image_service, monkeypatch
) -> None:
    monkeypatch.setattr(
        deps, "settings", deps.settings.with_overrides(display_recogniser_url=image_service.url)
    )
    paid: list[int] = []

    async def pay(deps_: Any, submission_id: int, now: datetime) -> None:
        assert await DisplaySubmission.filter(id=submission_id, status="passed").exists()
        paid.append(submission_id)
        # As the real payment does when the budget is spent: the answer shows it.
        spent = {"code": "budget_exhausted", "message": "活动预算已用完，本次未发放奖励"}
        await DisplaySubmission.filter(id=submission_id).update(
            reasons=[{**spent, "photo_id": None}]
        )

    monkeypatch.setattr(rewards, "pay_for_check", pay)
    _, store, owner, program, check, _ = await one_store(client, sandbox_client, deps)
    ids = await uploaded(client, owner, photo(1), photo(2))
    view = (await submit(client, owner, check.id, ids)).json()
    assert view["status"] == "passed"
    assert [reason["code"] for reason in view["reasons"]] == ["budget_exhausted"]
    assert paid == [view["id"]]
    [sent] = image_service.received
    assert (sent["program_id"], sent["store_id"], sent["check_seq"]) == (program.id, store.id, 1)
    assert [p["id"] for p in sent["photos"]] == ids
    assert sent["standard"] == "冰柜第一层整层陈列本品，价签朝外"
    assert sent["sku_names"] == ["冰红茶 500ml"]

    image_service.answer = {"verdict": "failed", "message": "未见本品陈列"}
    _, _, owner, _, check, _ = await one_store(client, sandbox_client, deps, photos_required=1)
    view = (await submit(client, owner, check.id, await uploaded(client, owner, photo(3)))).json()
    assert view["status"] == "failed"
    assert view["reasons"] == [{"code": "recogniser", "message": "未见本品陈列", "photo_id": None}]
    # Photos the automatic checks already failed are not sent.
    view = (await submit(client, owner, check.id, await uploaded(client, owner, dark(4)))).json()
    assert codes(view) == [("too_dark", view["photos"][0]["id"])]
    assert len(image_service.received) == 2
    assert len(paid) == 1  # neither failed check was paid


async def test_a_failing_image_service_sends_the_check_to_a_person(image_service) -> None:
    submitted = Submitted(
        brand_id=1,
        program_id=2,
        store_id=3,
        check_seq=1,
        photos=[RecognisedPhoto(1, "http://x/1.jpg", 800, 600, "2026-12-01T00:00:00+00:00")],
        standard="整层陈列",
        skus=[{"id": 1, "name": "冰红茶"}],
    )
    recogniser = HttpRecogniser(image_service.url, timeout=0.3)

    async def verdict() -> tuple[str, str, str]:
        result = await recogniser.judge(submitted)
        return result.verdict, result.code, result.message

    assert await verdict() == ("passed", "recogniser", "陈列达标")
    image_service.answer = {"verdict": "maybe", "message": "?"}
    assert await verdict() == ("review", "recogniser", "图像识别服务的答复无法识别，转人工审核")
    image_service.answer = b"not json"
    assert (await verdict())[0] == "review"
    image_service.answer, image_service.status = {"verdict": "passed", "message": ""}, 500
    assert await verdict() == ("review", "recogniser", "图像识别服务出错，转人工审核")
    image_service.status, image_service.delay = 200, 1.0
    assert await verdict() == ("review", "recogniser", "图像识别服务超时，转人工审核")
    nobody = HttpRecogniser("http://127.0.0.1:9/judge", timeout=0.3)
    assert (await nobody.judge(submitted)).message == "图像识别服务暂不可用，转人工审核"


def test_the_recogniser_url_must_be_http(tmp_path) -> None:
    folder = {"B2BC_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError):
        load_settings({**folder, "B2BC_DISPLAY_RECOGNISER_URL": "ftp://images"})
    assert load_settings(folder).display_recogniser_url == ""
    given = {**folder, "B2BC_DISPLAY_RECOGNISER_URL": " https://images.example.com/judge "}
    assert load_settings(given).display_recogniser_url == "https://images.example.com/judge"
