"""Order exports: CSV and XLSX rows exactly as people read them, scoped to the caller's tenant,
filtered like the order list, money exact to the fen, and batched reads."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx

from backend.catalog.models import DistributorSku, PriceEntry
from backend.identity.models import Role
from backend.ordering import service as ordering_service
from backend.ordering.models import Order
from backend.payments import service as payments_service
from backend.payments.models import Payment, Refund
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    make_tenant,
    phone_code,
    staff_headers,
    store_owner,
    wechat_login,
)

CHINA = ZoneInfo("Asia/Shanghai")
HEADER = [
    "订单号",
    "门店",
    "经销商",
    "业务员",
    "渠道",
    "商品原价(元)",
    "优惠(元)",
    "实付(元)",
    "状态",
    "下单时间",
    "更新时间",
]
SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
# 2024-11-21 16:30 UTC is already the 22nd in China: exports show and filter China's days.
EARLY = datetime(2024, 11, 21, 16, 30, tzinfo=UTC)


@dataclass
class Orders:
    shop: Shop
    paid: int  # self, paid offline 3798.00, then 500.00 refunded
    filters: int  # self, unpaid, with an open (not yet paid) WeChat payment
    proxy: int  # placed by the salesperson
    other_distributor: int  # same brand, the other distributor, a store named "=门店"
    other_brand: int
    brand: dict[str, str]
    distributor: dict[str, str]


async def place(client: httpx.AsyncClient, tokens: dict[str, Any], body: dict[str, Any]) -> int:
    response = await client.post("/api/v1/orders", json=body, headers=idempotent(tokens))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def scenario(client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient) -> Orders:
    shop = await make_shop(await make_tenant("甲品牌"))
    tenant = shop.tenant
    # A brand price below the list price, so the water purifier carries a discount.
    await PriceEntry.create(
        brand=tenant.brand, sku_id=shop.water, min_qty=1, unit_price_fen=189_900
    )
    owner = await store_owner(client, sandbox_client, tenant.store)
    water = {"lines": [{"sku_id": shop.water, "quantity": 2}]}
    paid = await place(client, owner, water)
    filters = await place(client, owner, {"lines": [{"sku_id": shop.filters, "quantity": 10}]})

    seller = await wechat_login(client, sandbox_client, "export-seller")
    code = await phone_code(sandbox_client, tenant.salesperson.phone)
    await client.post("/api/v1/auth/wechat/phone", json={"code": code}, headers=bearer(seller))
    seller = await wechat_login(client, sandbox_client, "export-seller")
    proxy = await place(
        client,
        seller,
        {"store_id": tenant.store.id, "lines": [{"sku_id": shop.water, "quantity": 1}]},
    )

    other_store = await make_store(
        tenant, name="=门店", distributor=tenant.other_distributor, salesperson=None
    )
    await DistributorSku.create(
        brand=tenant.brand, distributor=tenant.other_distributor, sku_id=shop.water, stock=5
    )
    other_owner = await store_owner(client, sandbox_client, other_store)
    other_distributor = await place(client, other_owner, water)

    theirs = await make_shop(await make_tenant("乙品牌"))
    their_owner = await store_owner(client, sandbox_client, theirs.tenant.store)
    other_brand = await place(
        client, their_owner, {"lines": [{"sku_id": theirs.water, "quantity": 1}]}
    )

    distributor = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    )
    recorded = await client.post(
        f"/api/v1/orders/{paid}/offline-payment", json={}, headers=distributor
    )
    assert recorded.status_code == 201, recorded.text
    now = datetime.now(UTC)
    await Refund.create(
        payment_id=recorded.json()["id"],
        order_id=paid,
        out_refund_no="R-export-1",
        amount_fen=50_000,
        reason="少发一台的差价",
        status="succeeded",
        succeeded_at=now,
        created_at=now,
        updated_at=now,
    )
    await Payment.create(
        order_id=filters,
        method="wechat",
        status="open",
        amount_fen=100_000,
        out_trade_no="P-export-open",
        created_at=now,
        updated_at=now,
    )
    await Order.filter(id=paid).update(created_at=EARLY)
    return Orders(
        shop=shop,
        paid=paid,
        filters=filters,
        proxy=proxy,
        other_distributor=other_distributor,
        other_brand=other_brand,
        brand=await staff_headers(client, tenant.admin_username),
        distributor=distributor,
    )


def shown(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


async def expected(order_id: int, *cells: str) -> list[str]:
    """A row as the export shows it: order number, the given cells, then the two timestamps."""
    order = await Order.get(id=order_id)
    return [order.order_no, *cells, shown(order.created_at), shown(order.updated_at)]


async def export(
    client: httpx.AsyncClient, headers: dict[str, str], query: str = "format=csv"
) -> httpx.Response:
    return await client.get(f"/api/v1/orders/export?{query}", headers=headers)


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(response.content[3:].decode("utf-8"))))
    assert rows[0] == HEADER
    return rows[1:]


def excel_time(serial: str) -> str:
    moment = datetime(1899, 12, 30) + timedelta(days=float(serial))
    return (moment + timedelta(milliseconds=500)).strftime("%Y-%m-%d %H:%M:%S")


def xlsx_rows(response: httpx.Response) -> list[list[str]]:
    """The first sheet's cells as text: strings as written, numbers as stored, times shown."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].endswith("spreadsheetml.sheet")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in archive.namelist():
        strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{SHEET}t")) for si in strings]
    sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{SHEET}row"):
        cells = []
        for cell in row.iter(f"{SHEET}c"):
            kind = cell.get("t")
            if kind == "inlineStr":
                cells.append("".join(t.text or "" for t in cell.iter(f"{SHEET}t")))
            elif kind == "s":
                cells.append(shared[int(cell.findtext(f"{SHEET}v") or "")])
            else:
                cells.append(cell.findtext(f"{SHEET}v") or "")
        rows.append(cells)
    assert rows[0] == HEADER
    return [[*row[:9], excel_time(row[9]), excel_time(row[10])] for row in rows[1:]]


async def test_brand_exports_all_its_orders_as_csv(client, sandbox_client, deps) -> None:
    orders = await scenario(client, sandbox_client)
    tenant = orders.shop.tenant
    store, ours, other = tenant.store.name, tenant.distributor.name, tenant.other_distributor.name
    response = await export(client, orders.brand)
    today = deps.clock.now().astimezone(CHINA).strftime("%Y%m%d")
    assert response.headers["content-disposition"] == f'attachment; filename="orders-{today}.csv"'
    assert csv_rows(response) == [
        await expected(
            orders.paid, store, ours, "王磊", "自主下单", "3998.00", "200.00", "3298.00", "待接单"
        ),
        await expected(
            orders.filters, store, ours, "王磊", "自主下单", "1000.00", "0.00", "0.00", "待付款"
        ),
        await expected(
            orders.proxy, store, ours, "王磊", "业务员代下单", "1999.00", "100.00", "0.00", "待付款"
        ),
        # A name that would run as a formula in Excel is quoted as text.
        await expected(
            orders.other_distributor,
            "'=门店",
            other,
            "",
            "自主下单",
            "3998.00",
            "200.00",
            "0.00",
            "待付款",
        ),
    ]
    assert (await Order.get(id=orders.paid)).created_at == EARLY
    assert csv_rows(response)[0][9] == "2024-11-22 00:30:00"


async def test_distributor_exports_only_its_own_orders_as_xlsx(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)
    tenant = orders.shop.tenant
    store, ours = tenant.store.name, tenant.distributor.name
    response = await export(client, orders.distributor, "format=xlsx")
    assert response.headers["content-disposition"].endswith('.xlsx"')
    assert xlsx_rows(response) == [
        await expected(
            orders.paid, store, ours, "王磊", "自主下单", "3998.00", "200.00", "3298.00", "待接单"
        ),
        await expected(
            orders.filters, store, ours, "王磊", "自主下单", "1000.00", "0.00", "0.00", "待付款"
        ),
        await expected(
            orders.proxy, store, ours, "王磊", "业务员代下单", "1999.00", "100.00", "0.00", "待付款"
        ),
    ]


async def test_xlsx_keeps_text_as_text_and_money_as_two_decimal_numbers(
    client, sandbox_client
) -> None:
    orders = await scenario(client, sandbox_client)
    response = await export(client, orders.brand, "format=xlsx&store_id=999999999")
    assert xlsx_rows(response) == []
    other_store = (await Order.get(id=orders.other_distributor)).store_id
    response = await export(client, orders.brand, f"format=xlsx&store_id={other_store}")
    [row] = xlsx_rows(response)
    assert row[1] == "=门店"  # a string cell in XLSX: never evaluated, so nothing to escape
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    assert re.search(r'<c r="F2" s="\d+"><v>3998\.00</v></c>', sheet)
    styles = archive.read("xl/styles.xml").decode()
    assert 'formatCode="0.00"' in styles


async def test_filters_match_the_order_list(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)

    async def ids(query: str) -> list[str]:
        return [row[0] for row in csv_rows(await export(client, orders.brand, query))]

    async def numbers(*order_ids: int) -> list[str]:
        return [(await Order.get(id=order_id)).order_no for order_id in order_ids]

    assert await ids("status=paid") == await numbers(orders.paid)
    assert await ids("format=csv&channel=proxy") == await numbers(orders.proxy)
    assert await ids(f"distributor_id={orders.shop.tenant.other_distributor.id}") == await numbers(
        orders.other_distributor
    )
    # China's days: the order placed at 00:30 on the 22nd (16:30 UTC on the 21st).
    assert await ids("created_from=2024-11-22&created_to=2024-11-22") == await numbers(orders.paid)
    assert await ids("created_to=2024-11-21") == []
    assert await ids("status=pending_payment&channel=self") == await numbers(
        orders.filters, orders.other_distributor
    )


async def test_another_tenants_orders_never_appear(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)
    theirs = await Order.get(id=orders.other_brand)
    for headers in (orders.brand, orders.distributor):
        for query in ("format=csv", f"distributor_id={theirs.distributor_id}"):
            numbers = [row[0] for row in csv_rows(await export(client, headers, query))]
            assert theirs.order_no not in numbers
        rows = xlsx_rows(await export(client, headers, f"format=xlsx&store_id={theirs.store_id}"))
        assert rows == []
    # A distributor asking for its sibling's orders by filter still sees only its own: none.
    sibling = orders.shop.tenant.other_distributor.id
    assert csv_rows(await export(client, orders.distributor, f"distributor_id={sibling}")) == []


async def test_bad_format_is_422_and_store_owners_are_403(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)
    for query in ("format=pdf", "format=CSV", "status=nonsense"):
        response = await export(client, orders.brand, query)
        assert response.status_code == 422, query
        assert response.json()["error"]["code"] == "request.invalid"
    owner = await store_owner(client, sandbox_client, orders.shop.tenant.store)
    refused = await export(client, bearer(owner))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.role_required"
    assert (await client.get("/api/v1/orders/export")).status_code == 401


async def test_orders_are_read_in_keyset_batches(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)
    principal = orders.shop.tenant.acting_admin
    batches = [
        [row["id"] for row in batch]
        async for batch in ordering_service.export_batches(principal, filters={}, batch_size=3)
    ]
    assert batches == [
        [orders.paid, orders.filters, orders.proxy],
        [orders.other_distributor],
    ]
    exact = [
        len(batch)
        async for batch in ordering_service.export_batches(principal, filters={}, batch_size=2)
    ]
    assert exact == [2, 2]  # a last full batch ends with one empty read, not an empty batch


async def test_net_paid_is_payments_minus_refunds_per_order(client, sandbox_client) -> None:
    orders = await scenario(client, sandbox_client)
    net = await payments_service.net_paid_by_order([orders.paid, orders.filters, orders.proxy])
    assert net == {orders.paid: 329_800, orders.filters: 0, orders.proxy: 0}
    single = await payments_service.order_money(orders.paid)
    assert single["net_paid_fen"] == net[orders.paid]
    assert await payments_service.net_paid_by_order([]) == {}


async def test_csv_is_sent_one_chunk_per_batch(client, sandbox_client, app, monkeypatch) -> None:
    """Straight through ASGI (httpx's transport would gather the body): the header goes with
    the first batch, then each batch is its own body message, then the end of the stream."""
    orders = await scenario(client, sandbox_client)
    batches = ordering_service.export_batches
    monkeypatch.setattr(ordering_service, "export_batches", partial(batches, batch_size=2))
    token = orders.brand["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/orders/export",
        "raw_path": b"/api/v1/orders/export",
        "query_string": b"format=csv",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", token)],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    bodies = [m["body"] for m in sent[1:] if m.get("body")]
    assert [body.count(b"\r\n") for body in bodies] == [3, 2]  # header + 2 rows, then 2 rows
    assert bodies[0].startswith(b"\xef\xbb\xbf")
    assert sent[-1]["more_body"] is False
