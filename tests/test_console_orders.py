"""The order queue in a real browser, as a distributor: it is where they land; the tabs count
their orders only; they filter by status and store, accept two orders in a batch, ship them
in a batch with tracking numbers, and print the picking list and delivery notes. The API
then says what the screen said, and another distributor's orders never show. Brand staff
see every distributor's orders read only, named by distributor and filtered by one."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.ordering.models import Order
from tests import console_browser
from tests.console_browser import needs_browser, shot, signed_in
from tests.factories import make_staff, make_store, staff_headers, store_owner
from tests.test_order_queue import another_distributors_order, paid_orders, place

pytestmark = needs_browser
browser = console_browser.browser  # the fixture, under the name the tests ask for


async def pick(page: Page, label: str, option: str) -> None:
    """Picks `option` in the Element Plus select named `label` (a searchable one keeps its
    option list in the page, named like the select: so by the combobox's role)."""
    combobox = page.get_by_role("combobox", name=label, exact=True)
    await page.locator(".el-select", has=combobox).click()
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .get_by_text(option, exact=True)
        .click()
    )


def row(page: Page, order_id: int) -> Any:
    return page.locator(".el-table__row", has=page.locator(f"[data-order='{order_id}']"))


async def test_a_distributor_accepts_ships_and_prints_a_batch(
    browser, platform_url, client, sandbox_client
) -> None:
    shop, staff, (first, second) = await paid_orders(client, sandbox_client, 2)
    tenant = shop.tenant
    theirs = await another_distributors_order(client, sandbox_client, shop)
    other_store = await make_store(tenant, name="西湖便利店", address="西湖区文三路 8 号")
    unpaid = await place(
        client, await store_owner(client, sandbox_client, other_store), [(shop.water, 1)]
    )
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    their_no = (await Order.get(id=theirs)).order_no

    # Signed in, the distributor lands on the queue; the tabs count its three orders only.
    context, page = await signed_in(browser, platform_url, dealer)
    await expect(page.get_by_role("heading", name="订单", exact=True)).to_be_visible()
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*3"))
    await expect(page.locator("[data-tab='paid']")).to_have_text(re.compile(r"待接单\s*2"))
    await expect(page.locator("[data-tab='pending_payment']")).to_have_text(
        re.compile(r"待付款\s*1")
    )
    await expect(row(page, unpaid["id"])).to_be_visible()
    await expect(page.get_by_text(their_no)).to_have_count(0)
    # Theirs is the only distributor they see: no column and no filter naming one.
    await expect(page.get_by_role("columnheader", name="经销商")).to_have_count(0)
    await expect(page.get_by_role("combobox", name="经销商")).to_have_count(0)
    await shot(page, "orders-1-queue")

    # Filter by status, then by store: the list and the counts follow, the URL keeps both.
    await page.locator("[data-tab='paid']").click()
    await expect(row(page, unpaid["id"])).to_have_count(0)
    await expect(row(page, first)).to_be_visible()
    await pick(page, "门店", tenant.store.name)
    await expect(page).to_have_url(re.compile(rf"store_id={tenant.store.id}"))
    await expect(page).to_have_url(re.compile(r"status=paid"))
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*2"))
    await expect(page.locator("[data-tab='pending_payment']")).to_have_text(
        re.compile(r"待付款\s*0")
    )

    # Batch accept the two.
    for order_id in (first, second):
        await row(page, order_id).locator(".el-checkbox").click()
    await page.get_by_role("button", name=re.compile("批量接单")).click()
    await page.get_by_role("dialog").get_by_role("button", name="接单").click()
    await expect(page.get_by_text("接单成功 2 单")).to_be_visible()
    await expect(page.locator("[data-tab='accepted']")).to_have_text(re.compile(r"待发货\s*2"))
    assert [(await Order.get(id=i)).status for i in (first, second)] == ["accepted"] * 2

    # Batch ship them: one carrier for both, a tracking number each.
    await page.locator("[data-tab='accepted']").click()
    for order_id in (first, second):
        await row(page, order_id).locator(".el-checkbox").click()
    await page.get_by_role("button", name=re.compile("批量发货")).click()
    dialog = page.get_by_role("dialog", name="批量发货")
    await dialog.get_by_role("button", name="确认发货").click()
    await expect(dialog.get_by_text("请选择物流公司").first).to_be_visible()  # checked first
    await pick(page, "统一物流公司", "顺丰速运")
    numbers = {first: "SF1000000001", second: "SF1000000002"}
    for order_id, number in numbers.items():
        order_no = (await Order.get(id=order_id)).order_no
        await dialog.get_by_label(f"运单号 {order_no}").fill(number)
    await shot(page, "orders-2-batch-ship")
    await dialog.get_by_role("button", name="确认发货").click()
    await expect(page.get_by_text("发货成功 2 单")).to_be_visible()
    for order_id, number in numbers.items():
        shipped = (await client.get(f"/api/v1/orders/{order_id}", headers=staff)).json()
        assert (shipped["status"], shipped["carrier"], shipped["tracking_no"]) == (
            "shipped",
            "sf",
            number,
        )
    await page.locator("[data-tab='shipped']").click()
    await expect(row(page, first).locator(f"[data-status='{first}']")).to_have_text("配送中")

    # Print the picking list and the delivery notes of the two.
    for order_id in (first, second):
        await row(page, order_id).locator(".el-checkbox").click()
    async with context.expect_page() as opened:
        await page.get_by_role("button", name="打印拣货单").click()
    picking = await opened.value
    sheet = picking.get_by_test_id("picking-sheet")
    await expect(sheet).to_contain_text("拣货单")
    await expect(sheet.locator("tr", has_text="滤芯")).to_contain_text("4 箱")
    await expect(sheet.locator("tr", has_text="RO-500")).to_contain_text("2 台")
    await expect(picking.get_by_role("button", name="打印")).to_be_visible()
    await shot(picking, "orders-3-picking-list")
    async with context.expect_page() as opened:
        await page.get_by_role("button", name="打印送货单").click()
    delivery = await opened.value
    notes = delivery.locator(".delivery-note")
    await expect(notes).to_have_count(2)
    await expect(notes.first).to_contain_text(tenant.store.name)
    await expect(notes.first).to_contain_text("文一西路1号")
    await expect(notes.first).to_contain_text("收货人签字")
    await expect(notes.first).to_contain_text("顺丰速运 SF")
    await shot(delivery, "orders-4-delivery-notes")

    # Another distributor's order: not in any view, not printable by its id.
    await page.goto(f"{platform_url}/console#/orders?q={their_no}")
    await expect(page.get_by_text("没有符合条件的订单")).to_be_visible()
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*0"))
    forged = await context.new_page()
    await forged.goto(f"{platform_url}/console#/orders/print/delivery?ids={first},{theirs}")
    await expect(forged.get_by_text("找不到所选的部分订单")).to_be_visible()
    await expect(forged.get_by_text("别家门店")).to_have_count(0)
    await expect(forged.locator(".delivery-note")).to_have_count(0)
    await shot(forged, "orders-5-print-not-found")
    await context.close()


async def test_brand_staff_see_the_queue_read_only_by_distributor(
    browser, platform_url, client, sandbox_client
) -> None:
    shop, _, (first,) = await paid_orders(client, sandbox_client, 1)
    theirs = await another_distributors_order(client, sandbox_client, shop)
    tenant = shop.tenant
    ours, other = tenant.distributor, tenant.other_distributor
    brand = await staff_headers(client, tenant.admin_username)
    assert (await client.get("/api/v1/orders/counts", headers=brand)).json()["total"] == 2
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/orders")
    await expect(row(page, first)).to_contain_text(tenant.store.name)
    await expect(row(page, first)).to_contain_text(ours.name)
    await expect(row(page, theirs)).to_contain_text(other.name)
    await expect(page.get_by_role("button", name=re.compile("批量接单"))).to_have_count(0)
    await expect(row(page, first).locator(".el-checkbox")).to_have_count(0)

    # One distributor's orders: the list, the tabs' counts, the URL and the export follow.
    await pick(page, "经销商", other.name)
    await expect(page).to_have_url(re.compile(rf"distributor_id={other.id}"))
    await expect(row(page, first)).to_have_count(0)
    await expect(row(page, theirs)).to_be_visible()
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*1"))
    await expect(page.locator(".el-select-dropdown:visible")).to_have_count(0)  # faded out
    await shot(page, "orders-6-brand-by-distributor")
    await page.get_by_role("button", name="导出当前筛选").click()
    async with page.expect_download() as downloading:
        await page.get_by_role("menuitem", name=re.compile("CSV")).click()
    exported = (await (await downloading.value).path()).read_text(encoding="utf-8-sig")
    numbers = [line[0] for line in list(csv.reader(io.StringIO(exported)))[1:]]
    assert numbers == [(await Order.get(id=theirs)).order_no]
    # The store filter then offers that distributor's stores only.
    stores = page.get_by_role("combobox", name="门店", exact=True)
    await page.locator(".el-select", has=stores).click()
    options = page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
    await expect(options).to_have_text(["别家门店"])
    await page.keyboard.press("Escape")
    # A link with a day range reopens it: the picker shows it, the list and counts follow it.
    await page.goto(f"{platform_url}/console#/orders?created_from=2020-01-01&created_to=2020-01-31")
    await expect(page.get_by_placeholder("开始日期")).to_have_value("2020-01-01")
    await expect(page.get_by_text("没有符合条件的订单")).to_be_visible()
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*0"))
    await context.close()


async def test_an_order_placed_while_the_desk_is_open_is_offered_as_a_refresh(
    browser, platform_url, client, sandbox_client
) -> None:
    shop, _, (first,) = await paid_orders(client, sandbox_client, 1)
    tenant = shop.tenant
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, dealer)
    await expect(row(page, first)).to_be_visible()
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*1"))

    # A store orders meanwhile; when the desk's tab comes back into view it checks its counts.
    store = await make_store(tenant, name="拱墅便利店")
    placed = await place(
        client, await store_owner(client, sandbox_client, store), [(shop.water, 1)]
    )
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await expect(page.get_by_test_id("orders-changed")).to_contain_text("有新订单")
    await expect(page.locator("[data-tab='all']")).to_have_text(re.compile(r"全部\s*2"))
    await expect(row(page, placed["id"])).to_have_count(0)  # not under the person's hands
    await shot(page, "orders-7-changed")
    await page.get_by_role("button", name="刷新列表").click()
    await expect(row(page, placed["id"])).to_be_visible()
    await expect(page.get_by_test_id("orders-changed")).to_have_count(0)
    await context.close()
