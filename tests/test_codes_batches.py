"""Code batches (赋码批次): the brand creates a batch, its job writes every box and item code
(in chunks, going on after a failure, once even when run twice), the brand follows it, sets
the open-box reward, downloads the codes as CSV and prints small batches as QR sheets."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from backend.codes import batches, generate, lookup
from backend.codes.errors import CodeNotFound
from backend.codes.models import CodeBatch, ProductCode
from backend.codes.tokens import code_url
from backend.identity.models import Role
from backend.infra import jobs, sql
from backend.infra.models import JobRecord
from backend.worker import TASKS
from tests.factories import (
    Shop,
    distributor_admin,
    generate_code_batch,
    make_shop,
    make_staff,
    staff_headers,
    store_owner,
)

API = "/api/v1/codes"
KEYS = itertools.count(1)
TOKEN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{20}$")


async def admin(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    headers = await staff_headers(client, shop.tenant.admin_username)
    return {**headers, "Idempotency-Key": f"batch-{next(KEYS)}"}


def body(shop: Shop, **overrides: Any) -> dict[str, Any]:
    return {
        "sku_id": shop.water,
        "batch_no": "20261201-A",
        "produced_on": "2026-12-01",
        "boxes": 3,
        "items_per_box": 4,
        "open_reward": {"kind": "points", "amount": 50},
        **overrides,
    }


async def create(
    client: httpx.AsyncClient, shop: Shop, headers: dict[str, str] | None = None, **overrides: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/batches", json=body(shop, **overrides), headers=headers or await admin(client, shop)
    )


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def codes_of(batch_id: int) -> list[ProductCode]:
    return await ProductCode.filter(batch_id=batch_id).order_by("kind", "serial")


async def assert_complete(batch_id: int, boxes: int, per_box: int) -> None:
    """Every code of the batch written exactly once: serials 1..n of each kind, each item in
    its own box, unique well-formed tokens."""
    codes = await codes_of(batch_id)
    box_rows = [c for c in codes if c.kind == "box"]
    items = [c for c in codes if c.kind == "item"]
    assert [c.serial for c in box_rows] == list(range(1, boxes + 1))
    assert [c.serial for c in items] == list(range(1, boxes * per_box + 1))
    box_by_id = {c.id: c.serial for c in box_rows}
    assert all(box_by_id[c.box_id] == (c.serial - 1) // per_box + 1 for c in items)  # type: ignore[attr-defined]
    assert all(c.box_id is None for c in box_rows)  # type: ignore[attr-defined]
    tokens = [c.token for c in codes]
    assert len(set(tokens)) == len(tokens)
    assert all(TOKEN.match(t) for t in tokens)


# ---- creating and generating -------------------------------------------------------------------


async def test_a_new_batch_is_generated_by_its_job_and_its_codes_scan(client, deps) -> None:
    shop = await make_shop()
    response = await create(client, shop)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["status"] == "generating"
    assert made["status_label"] == "生成中"
    assert made["codes_total"] == 15 and made["written"] == 0
    assert made["sku"]["id"] == shop.water and made["sku"]["name"]
    assert made["open_reward"] == {"kind": "points", "amount": 50, "text": "开箱奖励 50 积分"}
    assert made["produced_on"] == "2026-12-01" and made["ready_at"] is None
    job = await JobRecord.get(task=generate.GENERATE_TASK)
    assert job.args == {"batch_id": made["id"]} and job.brand_id == shop.tenant.brand.id
    assert "20261201-A" in job.context

    # Not ready yet: a scan does not find its codes, nothing may be exported.
    headers = await admin(client, shop)
    csv_response = await client.get(f"{API}/batches/{made['id']}/codes.csv", headers=headers)
    assert error(csv_response) == (409, "codes.batch_not_ready")

    assert await jobs.run_pending(deps, TASKS) == 1
    shown = (await client.get(f"{API}/batches/{made['id']}", headers=headers)).json()
    assert shown["status"] == "ready" and shown["status_label"] == "已生成"
    assert shown["written"] == 15 and shown["ready_at"]
    assert (shown["shipped_boxes"], shown["received_boxes"], shown["sold_items"]) == (0, 0, 0)
    await assert_complete(made["id"], 3, 4)
    assert (await JobRecord.get(id=job.id)).status == jobs.DONE

    box = await ProductCode.get(batch_id=made["id"], kind="box", serial=2)
    found = await lookup.find(code_url("https://x.example", box.token), shop.tenant.brand.id)
    assert found.is_box and found.serial == 2 and found.open_reward_amount == 50
    other = await make_shop()
    with pytest.raises(CodeNotFound):
        await lookup.find(box.token, other.tenant.brand.id)


async def test_codes_are_written_in_chunks_and_the_progress_is_seen(
    client, deps, monkeypatch
) -> None:
    shop = await make_shop()
    made = (await create(client, shop, boxes=10, items_per_box=3)).json()
    monkeypatch.setattr(generate, "CHUNK_CODES", 8)  # two boxes (4 codes each) per chunk
    seen: list[int] = []
    insert = generate._insert

    async def watched(plan: Any, first: int, last: int) -> None:
        seen.append((await CodeBatch.get(id=made["id"])).written)
        await insert(plan, first, last)

    monkeypatch.setattr(generate, "_insert", watched)
    await jobs.run_pending(deps, TASKS)
    # Inside each chunk's transaction the counter already counts the chunk.
    assert seen == [8, 16, 24, 32, 40]
    await assert_complete(made["id"], 10, 3)
    assert (await CodeBatch.get(id=made["id"])).status == "ready"


async def test_a_failed_run_marks_the_batch_failed_and_the_retry_goes_on(
    client, deps, monkeypatch
) -> None:
    shop = await make_shop()
    made = (await create(client, shop, boxes=6, items_per_box=2)).json()
    monkeypatch.setattr(generate, "CHUNK_CODES", 6)  # two boxes per chunk
    insert = generate._insert
    calls = itertools.count(1)

    async def failing(plan: Any, first: int, last: int) -> None:
        if next(calls) == 2:
            raise OSError("disk full")
        await insert(plan, first, last)

    monkeypatch.setattr(generate, "_insert", failing)
    await jobs.run_pending(deps, TASKS)
    batch = await CodeBatch.get(id=made["id"])
    assert batch.status == "failed" and batch.written == 6
    assert "重试" in batch.error
    headers = await admin(client, shop)
    shown = (await client.get(f"{API}/batches/{made['id']}", headers=headers)).json()
    assert shown["status_label"] == "生成失败" and shown["error"] == batch.error
    job = await JobRecord.get(task=generate.GENERATE_TASK)
    assert job.status == jobs.RETRYING and job.last_error == generate.FAILED_MESSAGE
    # The failed chunk left nothing behind: only the first chunk's codes are there.
    assert await ProductCode.filter(batch_id=made["id"]).count() == 6

    # The queue's retry takes it up again from the chunk that failed.
    assert await generate.generate(made["id"], clock=deps.clock)
    await assert_complete(made["id"], 6, 2)
    batch = await CodeBatch.get(id=made["id"])
    assert (batch.status, batch.error, batch.written) == ("ready", "", 18)


async def test_a_colliding_token_is_replaced_and_the_chunk_written_again(
    client, deps, monkeypatch
) -> None:
    shop = await make_shop()
    first = await generate_code_batch(shop, boxes=1, items_per_box=1, batch_no="OLD")
    taken = (await ProductCode.get(batch_id=first["id"], kind="box")).token
    made = (await create(client, shop, boxes=2, items_per_box=2)).json()
    fresh = generate.new_tokens
    calls = itertools.count(1)

    def colliding(count: int) -> list[str]:
        tokens = fresh(count)
        if next(calls) == 1:
            tokens[-1] = taken  # an item's token is already a code of another batch
        return tokens

    monkeypatch.setattr(generate, "new_tokens", colliding)
    assert await generate.generate(made["id"], clock=deps.clock)
    await assert_complete(made["id"], 2, 2)
    assert await ProductCode.filter(token=taken).count() == 1


async def test_two_runs_of_one_job_at_once_write_each_code_once(client, deps, monkeypatch) -> None:
    shop = await make_shop()
    made = (await create(client, shop, boxes=12, items_per_box=5)).json()
    monkeypatch.setattr(generate, "CHUNK_CODES", 12)
    results = await asyncio.gather(
        generate.generate(made["id"], clock=deps.clock),
        generate.generate(made["id"], clock=deps.clock),
    )
    assert True in results
    await assert_complete(made["id"], 12, 5)
    batch = await CodeBatch.get(id=made["id"])
    assert (batch.status, batch.written) == ("ready", 72)
    # A run after it is ready changes nothing.
    assert await generate.generate(made["id"], clock=deps.clock)
    assert await ProductCode.filter(batch_id=made["id"]).count() == 72


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"batch_no": ""}, "batch_no"),
        ({"batch_no": "批号1"}, "batch_no"),
        ({"batch_no": "-A1"}, "batch_no"),
        ({"batch_no": "A" * 33}, "batch_no"),
        ({"boxes": 0}, "boxes"),
        ({"boxes": 100_001}, "boxes"),
        ({"boxes": "many"}, "boxes"),
        ({"boxes": None}, "boxes"),
        ({"items_per_box": 201}, "items_per_box"),
        ({"items_per_box": -1}, "items_per_box"),
        ({"produced_on": "2026-13-01"}, "produced_on"),
        ({"open_reward": {"kind": "coupon", "amount": 1}}, "open_reward.kind"),
        ({"open_reward": {"kind": "cash", "amount": 1_000_001}}, "open_reward.amount"),
        ({"sku_id": "x"}, "sku_id"),
        ({"boxes": 100_000, "items_per_box": 20}, "boxes"),  # 2,100,000 codes
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_input_is_refused_in_chinese_and_nothing_is_written(
    client, overrides, field
) -> None:
    shop = await make_shop()
    response = await create(client, shop, **overrides)
    assert error(response) == (400, "codes.invalid"), response.text
    details = response.json()["error"]["details"]
    assert details[0]["field"] == field
    assert re.search(r"[\u4e00-\u9fff]", details[0]["message"])
    assert await CodeBatch.all().count() == 0
    assert await JobRecord.all().count() == 0


async def test_an_empty_or_malformed_body_is_refused(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    for content in (b"", b"{", b"[]", b'"x"'):
        response = await client.post(f"{API}/batches", content=content, headers=headers)
        assert error(response) == (400, "codes.invalid"), content
        headers = await admin(client, shop)
    assert await CodeBatch.all().count() == 0


async def test_a_batch_number_is_unique_per_sku_even_when_sent_twice_at_once(client) -> None:
    shop = await make_shop()
    assert (await create(client, shop)).status_code == 201
    again = await create(client, shop)
    assert error(again) == (409, "codes.batch_exists")
    assert "生产批号" in again.json()["error"]["message"]
    # The same number on another SKU is another batch.
    assert (await create(client, shop, sku_id=shop.filters)).status_code == 201

    heads = [await admin(client, shop) for _ in range(4)]
    responses = await asyncio.gather(
        *(create(client, shop, headers=h, batch_no="RACE-1") for h in heads)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    assert await CodeBatch.filter(batch_no="RACE-1").count() == 1
    assert await JobRecord.filter(task=generate.GENERATE_TASK).count() == 3


async def test_a_replayed_create_answers_the_first_result(client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    first = await create(client, shop, headers=headers)
    second = await create(client, shop, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await CodeBatch.all().count() == 1
    changed = await create(client, shop, headers=headers, boxes=9)
    assert error(changed) == (409, "idempotency.key_reused")


async def test_another_brands_sku_and_batches_are_not_found(client) -> None:
    shop, other = await make_shop(), await make_shop()
    response = await create(client, shop, sku_id=other.water)
    assert error(response) == (404, "codes.sku_not_found")
    response = await create(client, shop, sku_id=999_999)
    assert error(response) == (404, "codes.sku_not_found")
    assert await CodeBatch.all().count() == 0

    theirs = await generate_code_batch(other, boxes=1, items_per_box=1)
    headers = await admin(client, shop)
    for method, path in (
        ("GET", f"/batches/{theirs['id']}"),
        ("GET", f"/batches/{theirs['id']}/codes.csv"),
        ("GET", f"/batches/{theirs['id']}/sheet"),
        ("PATCH", f"/batches/{theirs['id']}"),
        ("GET", "/batches/987654"),
    ):
        payload = {"open_reward": {"kind": "cash", "amount": 100}} if method == "PATCH" else None
        response = await client.request(method, API + path, json=payload, headers=headers)
        assert error(response) == (404, "codes.batch_not_found"), path
    listed = (await client.get(f"{API}/batches", headers=headers)).json()
    assert listed["items"] == []
    assert (await CodeBatch.get(id=theirs["id"])).open_reward_kind == ""


async def test_only_brand_staff_manage_batches(client, sandbox_client) -> None:
    shop = await make_shop()
    made = await generate_code_batch(shop)
    ops = await staff_headers(client, await make_staff(shop.tenant.brand.id, Role.BRAND_OPS))
    assert (await client.get(f"{API}/batches/{made['id']}", headers=ops)).status_code == 200
    distributor = await distributor_admin(client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    store = {"Authorization": f"Bearer {owner['access_token']}"}
    for headers in (distributor, store):
        for method, path in (
            ("GET", "/batches"),
            ("GET", f"/batches/{made['id']}"),
            ("GET", f"/batches/{made['id']}/codes.csv"),
            ("POST", "/batches"),
        ):
            response = await client.request(
                method,
                API + path,
                json=body(shop) if method == "POST" else None,
                headers={**headers, "Idempotency-Key": f"k{next(KEYS)}"},
            )
            assert response.status_code == 403, (path, response.text)
    assert (await client.get(f"{API}/batches")).status_code == 401
    assert await CodeBatch.all().count() == 1


# ---- reading, changing --------------------------------------------------------------------------


async def test_batches_are_listed_newest_first_with_filters_and_pages(client) -> None:
    shop = await make_shop()
    made = [
        await generate_code_batch(shop, batch_no=f"2026-{n}", boxes=1, items_per_box=1)
        for n in range(5)
    ]
    filters_batch = await generate_code_batch(shop, sku_id=shop.filters, batch_no="F-1")
    generating = (await create(client, shop, batch_no="GEN-1")).json()
    headers = await admin(client, shop)

    page = (await client.get(f"{API}/batches?limit=3", headers=headers)).json()
    assert [b["id"] for b in page["items"]] == [
        generating["id"],
        filters_batch["id"],
        made[4]["id"],
    ]
    rest = (
        await client.get(f"{API}/batches?limit=3&before={page['next_before']}", headers=headers)
    ).json()
    assert [b["id"] for b in rest["items"]] == [made[3]["id"], made[2]["id"], made[1]["id"]]

    def ids(query: str) -> list[int]:
        return [b["id"] for b in listed[query]["items"]]

    listed = {}
    for query in (f"sku_id={shop.filters}", "status=generating", "q=2026-3", "q=f-"):
        listed[query] = (await client.get(f"{API}/batches?{query}", headers=headers)).json()
    assert ids(f"sku_id={shop.filters}") == [filters_batch["id"]]
    assert ids("status=generating") == [generating["id"]]
    assert ids("q=2026-3") == [made[3]["id"]]
    assert ids("q=f-") == [filters_batch["id"]]
    bad = await client.get(f"{API}/batches?status=lost", headers=headers)
    assert error(bad) == (400, "codes.invalid")


async def test_the_figures_count_shipped_and_received_boxes_and_sold_items(client) -> None:
    shop = await make_shop()
    made = await generate_code_batch(shop, boxes=3, items_per_box=4)
    boxes = await ProductCode.filter(batch_id=made["id"], kind="box").order_by("serial")
    tenant = shop.tenant
    await ProductCode.filter(id__in=[boxes[0].id, boxes[1].id]).update(
        distributor_id=tenant.distributor.id
    )
    await ProductCode.filter(id=boxes[0].id).update(store_id=tenant.store.id)
    sold = await ProductCode.filter(box_id=boxes[0].id).order_by("serial").limit(3)
    await ProductCode.filter(id__in=[c.id for c in sold]).update(
        store_id=tenant.store.id, sold_at=datetime.now(UTC)
    )
    headers = await admin(client, shop)
    shown = (await client.get(f"{API}/batches/{made['id']}", headers=headers)).json()
    assert (shown["shipped_boxes"], shown["received_boxes"], shown["sold_items"]) == (2, 1, 3)
    listed = (await client.get(f"{API}/batches", headers=headers)).json()["items"][0]
    assert (listed["shipped_boxes"], listed["received_boxes"], listed["sold_items"]) == (2, 1, 3)


async def test_the_open_box_reward_changes_for_boxes_received_later(client) -> None:
    shop = await make_shop()
    made = await generate_code_batch(shop)
    headers = await admin(client, shop)
    path = f"{API}/batches/{made['id']}"
    response = await client.patch(
        path, json={"open_reward": {"kind": "cash", "amount": 500}}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["open_reward"] == {
        "kind": "cash",
        "amount": 500,
        "text": "开箱奖励 ¥5.00",
    }
    box = await ProductCode.get(batch_id=made["id"], kind="box", serial=1)
    found = await lookup.find(box.token)
    assert (found.open_reward_kind, found.open_reward_amount) == ("cash", 500)
    for reward in (None, {"kind": "", "amount": 30}, {"kind": "points", "amount": 0}):
        response = await client.patch(path, json={"open_reward": reward}, headers=headers)
        assert response.json()["open_reward"] == {"kind": "", "amount": 0, "text": "无开箱奖励"}
    for payload in ({}, {"open_reward": {"kind": "gift"}}, {"open_reward": {"amount": -1}}):
        response = await client.patch(path, json=payload, headers=headers)
        assert error(response) == (400, "codes.invalid"), payload
    assert (await CodeBatch.get(id=made["id"])).open_reward_kind == ""


# ---- the CSV and the sheet ---------------------------------------------------------------


def expected_csv(batch_no: str, codes: list[ProductCode], per_box: int, base: str) -> str:
    lines = ["类型,箱号,序号,链接,码值"]
    for code in codes:
        if code.kind == "box":
            box = f"{batch_no}-B{code.serial:06d}"
            lines.append(f"箱码,{box},{box},{base}/C/{code.token},{code.token}")
    for code in codes:
        if code.kind == "item":
            box = f"{batch_no}-B{(code.serial - 1) // per_box + 1:06d}"
            item = f"{batch_no}-{code.serial:07d}"
            lines.append(f"物码,{box},{item},{base}/C/{code.token},{code.token}")
    return "\n".join(lines) + "\n"


async def test_the_csv_streams_every_code_boxes_first_in_serial_order(
    client, deps, monkeypatch
) -> None:
    shop = await make_shop()
    made = await generate_code_batch(shop, boxes=7, items_per_box=3, batch_no="20261201-X")
    monkeypatch.setattr(batches, "EXPORT_CHUNK", 4)  # several reads of each kind
    headers = await admin(client, shop)
    response = await client.get(f"{API}/batches/{made['id']}/codes.csv", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="codes-20261201-X.csv"' in response.headers["content-disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode()
    base = deps.settings.public_base_url.rstrip("/")
    codes = await ProductCode.filter(batch_id=made["id"]).order_by("serial")
    assert text == expected_csv("20261201-X", codes, 3, base)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 7 + 21
    assert rows[8][:3] == ["物码", "20261201-X-B000001", "20261201-X-0000001"]
    assert rows[-1][:3] == ["物码", "20261201-X-B000007", "20261201-X-0000021"]


async def test_the_qr_sheet_pages_a_small_batch_and_refuses_a_large_one(
    client, deps, monkeypatch
) -> None:
    shop = await make_shop()
    made = await generate_code_batch(shop, boxes=3, items_per_box=5, batch_no="S-1")
    headers = await admin(client, shop)
    base = deps.settings.public_base_url.rstrip("/")
    boxes = (await client.get(f"{API}/batches/{made['id']}/sheet", headers=headers)).json()
    assert (boxes["kind"], boxes["kind_label"], boxes["total"], boxes["pages"]) == (
        "box",
        "箱码",
        3,
        1,
    )
    assert boxes["batch"]["batch_no"] == "S-1" and boxes["batch"]["sku"]["id"] == shop.water
    first = boxes["items"][0]
    assert first["serial_text"] == first["box_serial_text"] == "S-1-B000001"
    assert first["url"] == f"{base}/C/{first['token']}"

    monkeypatch.setattr(batches, "SHEET_PAGE", 4)
    page2 = await client.get(f"{API}/batches/{made['id']}/sheet?kind=item&page=2", headers=headers)
    shown = page2.json()
    assert (shown["total"], shown["pages"], shown["page"]) == (15, 4, 2)
    assert [i["serial_text"] for i in shown["items"]] == [f"S-1-{n:07d}" for n in range(5, 9)]
    assert [i["box_serial_text"] for i in shown["items"]] == ["S-1-B000001"] + ["S-1-B000002"] * 3
    beyond = await client.get(f"{API}/batches/{made['id']}/sheet?kind=item&page=5", headers=headers)
    assert error(beyond) == (400, "codes.invalid")
    for query in ("kind=pallet", "page=0", "page=x"):
        response = await client.get(f"{API}/batches/{made['id']}/sheet?{query}", headers=headers)
        assert error(response) == (400, "codes.invalid"), query

    monkeypatch.setattr(batches, "SHEET_MAX_CODES", 17)
    big = await generate_code_batch(shop, boxes=3, items_per_box=5, batch_no="S-2")  # 18 codes
    response = await client.get(f"{API}/batches/{big['id']}/sheet", headers=headers)
    assert error(response) == (409, "codes.sheet_too_large")
    assert "CSV" in response.json()["error"]["message"]
    pending = (await create(client, shop, batch_no="S-3", boxes=1, items_per_box=1)).json()
    response = await client.get(f"{API}/batches/{pending['id']}/sheet", headers=headers)
    assert error(response) == (409, "codes.batch_not_ready")


async def test_serial_widths_hold_at_the_largest_batch_numbers() -> None:
    """The CSV's two writers (PostgreSQL's COPY, Python's) pad alike up to the limits."""
    assert batches.MAX_BOXES < 10**6
    assert batches.MAX_CODES < 10**7
    if sql.is_postgres():
        row = await sql.fetch_one(
            "SELECT lpad(100000::text, 6, '0') AS b, lpad(2000000::text, 7, '0') AS i"
        )
        assert row is not None and (row["b"], row["i"]) == ("100000", "2000000")
