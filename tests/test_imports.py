"""Imports of stores, products and price lists: templates, a dry run that lists every row's
problem and writes nothing, an apply that writes all or nothing (and never twice), only for
the brand's own staff and names, and the upload size limits."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from xlsxwriter import Workbook

from backend.catalog.models import Category, PriceEntry, Product, Sku
from backend.identity.models import Role
from backend.imports import checks, sheets
from backend.org.models import Region, Salesperson, Store, StoreTag
from tests.factories import Tenant, make_staff, make_tenant, staff_headers

API = "/api/v1/imports"
STORE_HEADER = [
    "门店名称*",
    "联系人",
    "手机号*",
    "地址*",
    "区域",
    "经销商*",
    "业务员",
    "门店分层",
    "标签",
]
PRODUCT_HEADER = [
    "商品名称",
    "分类",
    "规格名称",
    "规格说明",
    "单位",
    "条码",
    "标价（元）",
    "箱规",
    "起订量",
]
PRICE_HEADER = ["条码", "经销商", "门店分层", "起订数量", "单价（元）"]
_keys = iter(range(1, 10**6))


def xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.BytesIO()
    workbook = Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for number, row in enumerate(rows):
        for column, value in enumerate(row):
            if value is not None:
                sheet.write(number, column, value)
    workbook.close()
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    return "\n".join(",".join("" if c is None else str(c) for c in row) for row in rows).encode(
        encoding
    )


async def dry_run(
    client: httpx.AsyncClient, headers: dict[str, str], kind: str, data: bytes
) -> httpx.Response:
    return await client.post(
        f"{API}/{kind}/dry-run", files={"file": ("file.xlsx", data)}, headers=headers
    )


async def apply(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    kind: str,
    data: bytes,
    key: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"{API}/{kind}",
        files={"file": ("file.xlsx", data)},
        headers={**headers, "Idempotency-Key": key or f"import-{next(_keys)}"},
    )


def problems_by_row(report: list[dict[str, Any]]) -> dict[int | None, set[tuple[str, str]]]:
    found: dict[int | None, set[tuple[str, str]]] = {}
    for problem in report:
        found.setdefault(problem["row"], set()).add((problem["column"], problem["message"]))
    return found


async def brand_headers(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    return await staff_headers(client, tenant.admin_username)


async def store_counts(tenant: Tenant) -> tuple[int, int]:
    return (
        await Store.filter(brand_id=tenant.brand.id).count(),
        await StoreTag.filter(store__brand_id=tenant.brand.id).count(),
    )


async def test_templates_have_the_columns_the_import_reads_back(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    for kind, columns in (
        ("stores", checks.STORE_COLUMNS),
        ("products", checks.PRODUCT_COLUMNS),
        ("prices", checks.PRICE_COLUMNS),
    ):
        response = await client.get(f"{API}/templates/{kind}", headers=brand)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert "filename*=UTF-8''" in response.headers["content-disposition"]
        table = sheets.read_table(response.content, max_rows=10)
        assert table.header == [c.header for c in columns] and table.rows == []
        # The blank template itself is refused for having no rows, not for its header.
        report = (await dry_run(client, brand, kind, response.content)).json()
        assert report["problems"] == [
            {"row": None, "column": None, "message": "文件中没有数据行", "value": None}
        ]


async def test_a_store_dry_run_lists_every_problem_and_writes_nothing(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    other_brand = await make_tenant()
    own = tenant.distributor.name
    outsider = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.other_distributor, name="李娜", phone="13900000009"
    )
    rows = [
        STORE_HEADER,
        ["好门店", "张三", "13800000001", "文一路 1 号", None, own, "王磊", "A", "社区店、新店"],
        [None, None, "12345", "文一路 2 号", None, own, None, None, None],  # 3: name, phone
        ["店3", None, "13800000001", "文一路 3 号", None, own, None, None, None],  # 4: dup in file
        ["店4", None, tenant.store.phone, "文一路 4 号", None, own, None, None, None],  # 5: exists
        ["店5", None, "13800000005", None, "火星", other_brand.distributor.name, None, "E", None],
        ["店6", None, "13800000006", "路", None, own, "无此人", None, None],  # 7: salesperson
        ["店7", None, "13800000007", "路", None, own, outsider.name, None, None],  # 8: outside
        ["店8", None, 13800000008, "路", None, own, None, None, "x" * 33],  # 9: a tag too long
    ]
    before = await store_counts(tenant)
    response = await dry_run(client, brand, "stores", xlsx(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["ok"], report["rows"], report["problem_rows"], report["valid_rows"]) == (
        False,
        8,
        7,
        1,
    )
    assert problems_by_row(report["problems"]) == {
        3: {("门店名称", "必填"), ("手机号", "手机号应为 11 位数字，以 1 开头")},
        4: {("手机号", "与第 2 行的手机号重复")},
        5: {("手机号", "已有门店使用该手机号（门店已存在）")},
        6: {
            ("地址", "必填"),
            ("区域", "找不到该区域"),
            ("经销商", "找不到该经销商（或已停用）"),  # another brand's distributor
            ("门店分层", "门店分层应为 A、B、C 或 D"),
        },
        7: {("业务员", "找不到该业务员（或已停用）")},
        8: {("业务员", "该业务员不属于所选经销商")},
        9: {("标签", "每个标签最多 32 个字")},
    }
    assert await store_counts(tenant) == before

    refused = await apply(client, brand, "stores", xlsx(rows))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "import.has_problems"
    assert len(refused.json()["error"]["details"]) == len(report["problems"])
    assert await store_counts(tenant) == before


async def test_a_good_store_import_writes_all_rows_once(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    region = await Region.create(brand=tenant.brand, name="杭州")
    own = tenant.distributor.name
    rows = [
        ["门店名称", "手机号", "地址", "经销商", "业务员", "区域", "门店分层", "标签"],  # any order
        ["新店一", "13800000011", "文一路 1 号", own, "王磊", "杭州", "b", "社区店，新店"],
        ["新店二", "13800000012", "文一路 2 号", own, tenant.salesperson.phone, None, None, None],
        [None, None, None, None, None, None, None, None],  # blank rows are skipped
        [
            "新店三",
            "13800000013",
            "文一路 3 号",
            tenant.other_distributor.name,
            None,
            "杭州",
            "D",
            "社区店",
        ],
    ]
    data = csv_bytes(rows, "gb18030")  # as Excel in China saves a CSV
    report = (await dry_run(client, brand, "stores", data)).json()
    assert (report["ok"], report["rows"], report["valid_rows"]) == (True, 3, 3)
    assert await Store.filter(brand_id=tenant.brand.id).count() == 1

    response = await apply(client, brand, "stores", data, key="stores-1")
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["created"] == {"stores": 3}
    assert [s["name"] for s in result["sample"]] == ["新店一", "新店二", "新店三"]
    first = await Store.get(brand_id=tenant.brand.id, phone="13800000011")
    assert (first.name, first.tier, first.status, first.region_id, first.address) == (
        "新店一",
        "B",
        "active",
        region.id,
        "文一路 1 号",
    )
    assert (first.distributor_id, first.salesperson_id) == (
        tenant.distributor.id,
        tenant.salesperson.id,
    )
    assert sorted(await StoreTag.filter(store=first).values_list("tag", flat=True)) == [
        "新店",
        "社区店",
    ]
    third = await Store.get(brand_id=tenant.brand.id, phone="13800000013")
    assert (third.tier, third.distributor_id, third.salesperson_id) == (
        "D",
        tenant.other_distributor.id,
        None,
    )
    # The brand's store list shows them, with their tags.
    listed = (await client.get("/api/v1/stores?tag=新店", headers=brand)).json()["items"]
    assert [s["name"] for s in listed] == ["新店一"]

    # The same request again replays its answer; the same file under a new key creates
    # nothing twice: every phone is taken now.
    replay = await apply(client, brand, "stores", data, key="stores-1")
    assert (replay.status_code, replay.json()) == (201, result)
    again = await apply(client, brand, "stores", data)
    assert again.status_code == 422
    assert {d["message"] for d in again.json()["error"]["details"]} == {
        "已有门店使用该手机号（门店已存在）"
    }
    assert await Store.filter(brand_id=tenant.brand.id).count() == 4
    other_file = await apply(client, brand, "stores", xlsx(rows[:2]), key="stores-1")
    assert other_file.status_code == 409
    assert other_file.json()["error"]["code"] == "idempotency.key_reused"


async def test_files_that_are_not_an_import_say_why(client, monkeypatch) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    own = tenant.distributor.name

    async def only_problem(data: bytes) -> dict[str, Any]:
        report = (await dry_run(client, brand, "stores", data)).json()
        assert not report["ok"] and report["valid_rows"] == 0
        return {(p["row"], p["column"], p["message"]) for p in report["problems"]}

    assert await only_problem(b"") == {(None, None, "文件是空的，请按模板填写后再上传")}
    assert await only_problem(b"PK\x03\x04 broken zip") == {
        (None, None, "无法读取该文件，请上传 Excel（.xlsx）或 CSV 文件")
    }
    assert await only_problem(
        xlsx([["名称", "手机号*", "地址", "经销商"], ["店", "1", "路", own]])
    ) == {
        (1, "名称", "无法识别的列名，请使用模板中的列名"),
        (1, "门店名称", "缺少必填列"),
    }
    monkeypatch.setattr(checks, "MAX_ROWS", 2)
    many = [STORE_HEADER] + [
        [f"店{i}", None, f"1380000010{i}", "路", None, own, None, None, None] for i in range(3)
    ]
    assert await only_problem(xlsx(many)) == {
        (None, None, "数据行过多：一次最多导入 2 行，请分批导入")
    }
    no_file = await client.post(f"{API}/stores/dry-run", headers=brand)
    assert (no_file.status_code, no_file.json()["error"]["code"]) == (422, "import.no_file")
    keyless = await client.post(f"{API}/stores", files={"file": ("a.csv", b"x")}, headers=brand)
    assert (keyless.status_code, keyless.json()["error"]["code"]) == (
        422,
        "idempotency.key_required",
    )
    assert await Store.filter(brand_id=tenant.brand.id).count() == 1


async def test_products_import_groups_skus_and_reads_yuan_exactly(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    water = await Category.create(brand=tenant.brand, name="净水器")
    filters = await Category.create(brand=tenant.brand, name="滤芯", parent=water)
    await Category.create(brand=tenant.brand, name="滤芯")  # the same name at the top
    bad = [
        PRODUCT_HEADER,
        ["净水器 X", "厨房", "X1", None, None, "690000000001", "12.345", 6, 4],  # 2
        ["净水器 X", "净水器", "X2", None, None, "690000000001", "abc", None, None],  # 3
        ["滤芯 Y", "滤芯", "Y1", None, True, "69", 10, None, None],  # 4
    ]
    report = (await dry_run(client, brand, "products", xlsx(bad))).json()
    assert problems_by_row(report["problems"]) == {
        2: {
            ("分类", "找不到该分类"),
            ("标价（元）", "金额最多两位小数"),
            ("起订量", "起订量必须是箱规的整数倍"),
        },
        3: {("条码", "与第 2 行的条码重复"), ("标价（元）", "应为金额（元），如 19.90")},
        4: {
            ("分类", "有多个同名分类，请写成 父分类/子分类"),
            ("单位", "应为文本，不能是日期或是/否"),
            ("条码", "条码应为 4–32 位字母、数字或 -"),
        },
    }
    good = [
        PRODUCT_HEADER,
        ["净水器 X", "净水器", "X1", "白色", "台", "690000000001", 1999.99, None, None],
        ["净水器 X", "净水器", "X2", None, None, "690000000002", "0.1", 2, 4],
        ["滤芯 Y", "净水器 / 滤芯", "Y1", None, "支", 690000000003, 19.9, 10, None],
    ]
    response = await apply(client, brand, "products", xlsx(good))
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"products": 2, "skus": 3}
    skus = {
        s.barcode: s for s in await Sku.filter(brand_id=tenant.brand.id).prefetch_related("product")
    }
    assert {b: (s.product.name, s.list_price_fen) for b, s in skus.items()} == {
        "690000000001": ("净水器 X", 199_999),
        "690000000002": ("净水器 X", 10),
        "690000000003": ("滤芯 Y", 1_990),
    }
    assert (skus["690000000001"].unit, skus["690000000001"].spec) == ("台", "白色")
    assert (skus["690000000002"].case_size, skus["690000000002"].min_order_qty) == (2, 4)
    assert (skus["690000000003"].case_size, skus["690000000003"].min_order_qty) == (10, 10)
    assert skus["690000000003"].product.category_id == filters.id

    # A new SKU of a product the brand has joins it; a barcode it has is refused whole.
    more = [PRODUCT_HEADER, ["净水器 X", "净水器", "X3", None, None, "690000000004", 5, None, None]]
    assert (await apply(client, brand, "products", xlsx(more))).status_code == 201
    assert await Product.filter(brand_id=tenant.brand.id).count() == 2
    again = await apply(client, brand, "products", xlsx(good))
    assert again.status_code == 422
    assert await Sku.filter(brand_id=tenant.brand.id).count() == 4


async def test_a_price_list_sets_prices_and_never_adds_one_twice(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    category = await Category.create(brand=tenant.brand, name="净水器")
    product = await Product.create(brand=tenant.brand, category=category, name="净水器")
    sku = await Sku.create(
        brand=tenant.brand, product=product, name="RO", barcode="6900001", list_price_fen=199_900
    )
    other_brand = await make_tenant()
    theirs = await Category.create(brand=other_brand.brand, name="净水器")
    await Sku.create(  # another brand's barcode is not found here
        brand=other_brand.brand,
        product=await Product.create(brand=other_brand.brand, category=theirs, name="他们的"),
        name="RO",
        barcode="6900002",
        list_price_fen=100,
    )
    rows = [
        PRICE_HEADER,
        ["6900001", "全部", "A", None, "1799"],
        ["6900001", tenant.distributor.name, None, 10, "1699.5"],
    ]
    response = await apply(client, brand, "prices", xlsx(rows))
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"price_entries": 2, "updated": 0}
    entries = (
        await PriceEntry.filter(sku=sku)
        .order_by("id")
        .values_list("distributor_id", "store_tier", "min_qty", "unit_price_fen")
    )
    assert entries == [(None, "A", 1, 179_900), (tenant.distributor.id, None, 10, 169_950)]

    rows[1][4] = "1789"
    again = await apply(client, brand, "prices", xlsx(rows))
    assert again.json()["created"] == {"price_entries": 0, "updated": 2}
    assert await PriceEntry.filter(sku=sku).order_by("id").values_list(
        "unit_price_fen", flat=True
    ) == [178_900, 169_950]

    bad = [
        PRICE_HEADER,
        ["6900002", other_brand.distributor.name, "X", 0, "-1"],
        ["6900001", None, None, None, "10"],
        ["6900001", "全部", "全部", 1, "11"],
    ]
    report = (await dry_run(client, brand, "prices", xlsx(bad))).json()
    assert problems_by_row(report["problems"]) == {
        2: {
            ("条码", "找不到该条码的规格"),
            ("经销商", "找不到该经销商（或已停用）"),
            ("门店分层", "门店分层应为 A、B、C、D 或 全部"),
            ("起订数量", "应在 1 到 99999 之间"),
            ("单价（元）", "金额不能为负"),
        },
        4: {("起订数量", "与第 3 行的条码、经销商、分层和起订数量重复")},
    }
    assert await PriceEntry.filter(sku=sku).count() == 2


async def test_only_the_brands_staff_import(client) -> None:
    tenant = await make_tenant()
    dealer = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    ops = await staff_headers(client, await make_staff(tenant.brand.id, Role.BRAND_OPS))
    rows = [STORE_HEADER, ["店", None, "13800000021", "路", None, tenant.distributor.name]]
    template = await client.get(f"{API}/templates/stores", headers=dealer)
    assert (template.status_code, template.json()["error"]["code"]) == (403, "auth.role_required")
    for response in (
        await dry_run(client, dealer, "stores", xlsx(rows)),
        await apply(client, dealer, "stores", xlsx(rows)),
    ):
        assert response.status_code == 403
    assert (await client.get(f"{API}/templates/stores")).status_code == 401
    assert await Store.filter(brand_id=tenant.brand.id).count() == 1
    assert (await apply(client, ops, "stores", xlsx(rows))).status_code == 201


@pytest.mark.parametrize("path", [f"{API}/stores/dry-run", "/api/v1/uploads/images"])
async def test_file_routes_take_more_than_json_but_not_without_limit(
    client, settings, path
) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    # Over the JSON limit, well under the upload one: read and answered on its merits.
    two_mb = b"\xff\xd8" + b"0" * (2 * settings.max_body_bytes)
    accepted = await client.post(path, files={"file": ("a.jpg", two_mb)}, headers=brand)
    assert accepted.status_code in (200, 422), accepted.text
    huge = b"0" * (settings.max_upload_bytes + 1)
    refused = await client.post(path, files={"file": ("a.jpg", huge)}, headers=brand)
    assert refused.status_code == 413
    error = refused.json()["error"]
    limit_mb = settings.max_upload_bytes // (1024 * 1024)
    assert (error["code"], error["message"]) == (
        "http.payload_too_large",
        f"上传的文件过大，不能超过 {limit_mb} MB",
    )


async def test_the_same_file_applied_twice_at_once_creates_its_stores_once(client) -> None:
    tenant = await make_tenant()
    brand = await brand_headers(client, tenant)
    own = tenant.distributor.name
    rows = [STORE_HEADER] + [
        [f"并发店{i}", None, f"1380000050{i}", "路", None, own, None, None, "新店"]
        for i in range(5)
    ]
    data = xlsx(rows)
    first, second = await asyncio.gather(
        apply(client, brand, "stores", data), apply(client, brand, "stores", data)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 422]
    assert await store_counts(tenant) == (1 + 5, 5)
