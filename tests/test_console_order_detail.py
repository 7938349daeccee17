"""The distributor's order page in a real browser: a paid order accepted, shipped with a carrier
and tracking number, delivered, then one line partly refunded (checked through the API against
what the page showed); an offline payment recorded on an unpaid order; an order cancelled with
its reason; and another distributor's order, which shows nothing but "not found". Screenshots of
the page in each state and of every dialog go to test-artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from backend.catalog import service as catalog_service
from backend.identity.models import Role
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401 (fixture)
from tests.factories import (
    Shop,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)
from tests.test_first_order_rewards import pay_offline
from tests.test_promotions_admin import reduction
from tests.test_promotions_ordering import running

pytestmark = needs_browser
ORDERS = "/api/v1/orders"
SLOW = 15_000  # ms: the machine is shared, the page waits on the API


@pytest.fixture
def chromium(browser: Browser) -> Browser:  # noqa: F811 (the imported fixture)
    """The shared browser fixture, under a name that does not shadow its import."""
    return browser


async def order_of(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    shop: Shop,
    store: Any,
    lines: list[dict[str, int]],
) -> dict[str, Any]:
    owner = await store_owner(client, sandbox_client, store)
    placed = await client.post(ORDERS, json={"lines": lines}, headers=idempotent(owner))
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


def yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


async def choose(page: Page, label: str, option: str) -> None:
    """Picks `option` in the Element Plus select labelled `label` (its dropdown list carries
    the same label, so the combobox is named by role)."""
    combobox = page.get_by_role("combobox", name=label)
    await page.locator(".el-select__wrapper").filter(has=combobox).click()
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .get_by_text(option, exact=True)
        .click()
    )
    # The list fades out after the pick; on a busy machine it still lay over the dialog's
    # buttons and took the next click (确认发货 timed out in CI).
    await expect(page.locator(".el-select-dropdown:visible")).to_have_count(0, timeout=SLOW)


async def status_is(page: Page, text: str) -> None:
    await expect(page.get_by_test_id("order-status")).to_have_text(text, timeout=SLOW)


async def confirm(page: Page, button: str) -> None:
    """Answers the ElMessageBox.confirm that a destructive action asks first."""
    box = page.locator(".el-message-box")
    await expect(box).to_be_visible()
    await box.get_by_role("button", name=button).click()
    await expect(box).to_be_hidden()


async def success(page: Page, text: str) -> None:
    await expect(page.locator(".el-message--success").last).to_contain_text(text, timeout=SLOW)


async def test_a_distributor_works_an_order_from_paid_to_a_line_refund(
    chromium, platform_url, client, sandbox_client
) -> None:
    shop = await make_shop()
    await shop.tenant.store.update_from_dict({"contact_name": "李娟"}).save()
    await running(client, shop, reduction())  # 满3000减300, spread over the lines
    water_and_filters = [
        {"sku_id": shop.water, "quantity": 3},
        {"sku_id": shop.filters, "quantity": 20},
    ]
    order = await order_of(client, sandbox_client, shop, shop.tenant.store, water_and_filters)
    assert (await pay_offline(client, shop, order["id"])).status_code == 201
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    api = await staff_headers(client, username)
    context, page = await signed_in(chromium, platform_url, username, f"/orders/{order['id']}")

    await status_is(page, "待接单")
    await expect(page.get_by_test_id("order-no")).to_have_text(order["order_no"])
    lines = page.get_by_test_id("order-lines")
    await expect(lines).to_contain_text("2 箱（共 20 支）")
    await expect(lines).to_contain_text("3 台")
    await expect(page.get_by_text("李娟")).to_be_visible()
    await expect(lines).to_contain_text("满3000减300 -¥")  # each line's share of it
    await expect(page.get_by_test_id("order-payable")).to_have_text(yuan(order["payable_fen"]))
    await expect(page.get_by_test_id("timeline")).to_contain_text("登记线下收款")
    await shot(page, "order-1-paid")

    await page.get_by_role("button", name="接单").click()
    await success(page, "已接单")
    await status_is(page, "待发货")

    await page.get_by_role("button", name="发货").click()
    dialog = page.get_by_role("dialog", name="发货", exact=True)
    await dialog.get_by_role("button", name="确认发货").click()
    await expect(dialog).to_contain_text("请选择物流公司")
    await choose(page, "物流公司", "顺丰速运")
    await dialog.get_by_role("button", name="确认发货").click()
    await expect(dialog).to_contain_text("请填写运单号（自送除外）")
    await dialog.get_by_label("运单号").fill("SF1402026120401")
    await shot(page, "order-2-ship-dialog")
    await dialog.get_by_role("button", name="确认发货").click()
    await success(page, "已发货")
    await status_is(page, "配送中")
    await expect(page.get_by_test_id("order-shipping")).to_have_text("顺丰速运 SF1402026120401")
    await expect(page.get_by_test_id("timeline")).to_contain_text("顺丰速运 运单号 SF1402026120401")

    await page.get_by_role("button", name="确认送达").click()
    await confirm(page, "确定")
    await success(page, "已确认送达")
    await status_is(page, "待签收")
    await shot(page, "order-3-delivered")

    # Refund 3 of the 20 filters: the dialog shows what the API's preview says they refund.
    detail = (await client.get(f"{ORDERS}/{order['id']}", headers=api)).json()
    filters = next(line for line in detail["lines"] if line["sku_id"] == shop.filters)
    await page.get_by_role("button", name="退款").click()
    dialog = page.get_by_role("dialog", name="退款", exact=True)
    await expect(dialog.get_by_test_id("refund-lines")).to_contain_text("滤芯")
    await dialog.get_by_text("整单退款").click()
    await expect(dialog.get_by_test_id("refund-total")).to_have_text(
        yuan(order["payable_fen"]), timeout=SLOW
    )
    await shot(page, "order-4-refund-whole")
    await dialog.get_by_text("按金额退款").click()
    await expect(dialog.get_by_text(f"最多可退 {yuan(order['payable_fen'])}")).to_be_visible()
    await shot(page, "order-5-refund-amount")
    await dialog.get_by_text("按商品退款").click()
    quantity = dialog.get_by_label("退款数量 滤芯")
    await quantity.fill("3")
    await quantity.press("Tab")
    line_amount = dialog.get_by_test_id(f"refund-line-{filters['id']}")
    await expect(line_amount).to_have_text(re.compile(r"^¥[\d,]+\.\d\d$"), timeout=SLOW)
    shown = await line_amount.inner_text()
    await expect(dialog.get_by_test_id("refund-total")).to_have_text(shown)
    await dialog.get_by_label("退款原因").fill("运输破损")
    await shot(page, "order-6-refund-lines")
    await dialog.get_by_role("button", name="提交退款").click()
    await confirm(page, "确定退款")
    await success(page, "已退款")
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_test_id(f"refunded-{filters['id']}")).to_have_text(
        f"3 支 / {shown}", timeout=SLOW
    )
    await expect(page.get_by_test_id("refunds")).to_contain_text(shown)
    await expect(page.get_by_test_id("order-refunded")).to_have_text(shown)
    await shot(page, "order-7-refunded")

    # What the page showed is what the API now says.
    shown_fen = int(re.sub(r"[^\d]", "", shown))
    after = (await client.get(f"{ORDERS}/{order['id']}", headers=api)).json()
    line = next(line for line in after["lines"] if line["id"] == filters["id"])
    assert (line["refunded_quantity"], line["refunded_fen"]) == (3, shown_fen)
    assert (after["status"], after["carrier"], after["tracking_no"]) == (
        "delivered",
        "sf",
        "SF1402026120401",
    )
    money = (await client.get(f"{ORDERS}/{order['id']}/payments", headers=api)).json()
    [refund] = money["refunds"]
    assert (refund["amount_fen"], refund["status"], refund["reason"]) == (
        shown_fen,
        "succeeded",
        "运输破损",
    )
    assert refund["lines"] == [{"line_id": filters["id"], "quantity": 3, "amount_fen": shown_fen}]
    await context.close()


async def test_a_distributor_records_an_offline_payment_and_cancels_an_unpaid_order(
    chromium, platform_url, client, sandbox_client
) -> None:
    shop = await make_shop()
    one_purifier = [{"sku_id": shop.water, "quantity": 1}]
    unpaid = await order_of(client, sandbox_client, shop, shop.tenant.store, one_purifier)
    doomed = await order_of(client, sandbox_client, shop, shop.tenant.store, one_purifier)
    raced = await order_of(client, sandbox_client, shop, shop.tenant.store, one_purifier)
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_STAFF, shop.tenant.distributor.id
    )
    api = await staff_headers(client, username)
    context, page = await signed_in(chromium, platform_url, username, f"/orders/{unpaid['id']}")

    await status_is(page, "待付款")
    # Staff may not refund: no button for it, as the API would refuse.
    await expect(page.get_by_role("button", name="退款")).to_have_count(0)
    await expect(page.get_by_role("button", name="接单")).to_have_count(0)
    await shot(page, "order-8-unpaid")
    await page.get_by_role("button", name="线下收款").click()
    dialog = page.get_by_role("dialog", name="登记线下收款", exact=True)
    await expect(dialog.get_by_test_id("offline-amount")).to_have_text("¥1,999.00")
    await choose(page, "收款方式", "现金")
    await dialog.get_by_label("备注").fill("货到付款，司机已收")
    await shot(page, "order-9-offline-dialog")
    await dialog.get_by_role("button", name="确认已收款").click()
    await success(page, "已登记线下收款")
    await expect(dialog).to_be_hidden()
    await status_is(page, "待接单")
    money = (await client.get(f"{ORDERS}/{unpaid['id']}/payments", headers=api)).json()
    [payment] = money["payments"]
    assert (payment["method"], payment["status"], payment["amount_fen"], payment["note"]) == (
        "offline",
        "succeeded",
        unpaid["payable_fen"],
        "现金：货到付款，司机已收",
    )
    await expect(page.get_by_test_id("payments")).to_contain_text("现金：货到付款，司机已收")

    # Paid meanwhile by someone else: the page still offers it, the API refuses, and the
    # dialog says why in the API's words.
    await page.goto(f"{platform_url}/console#/orders/{raced['id']}")
    await status_is(page, "待付款")
    assert (await pay_offline(client, shop, raced["id"])).status_code == 201
    await page.get_by_role("button", name="线下收款").click()
    dialog = page.get_by_role("dialog", name="登记线下收款", exact=True)
    await choose(page, "收款方式", "银行转账")
    await dialog.get_by_role("button", name="确认已收款").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("订单当前不能支付", timeout=SLOW)
    await shot(page, "order-10-offline-refused")
    await dialog.get_by_role("button", name="取消", exact=True).click()
    money = (await client.get(f"{ORDERS}/{raced['id']}/payments", headers=api)).json()
    assert [p["note"] for p in money["payments"]] == ["现金"]

    await page.goto(f"{platform_url}/console#/orders/{doomed['id']}")
    await status_is(page, "待付款")
    await page.get_by_role("button", name="取消订单").click()
    dialog = page.get_by_role("dialog", name="取消订单", exact=True)
    await dialog.get_by_role("button", name="取消订单").click()
    await expect(dialog).to_contain_text("请填写取消原因")
    await dialog.get_by_label("取消原因").fill("门店来电取消")
    await shot(page, "order-11-cancel-dialog")
    await dialog.get_by_role("button", name="取消订单").click()
    await confirm(page, "确定取消")
    await success(page, "订单已取消")
    await expect(dialog).to_be_hidden()
    await status_is(page, "已取消")
    await expect(page.get_by_test_id("timeline")).to_contain_text("原因：门店来电取消")
    await shot(page, "order-12-cancelled")
    cancelled = (await client.get(f"{ORDERS}/{doomed['id']}", headers=api)).json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "门店来电取消")
    assert cancelled["actions"] == []
    await context.close()


async def test_another_distributors_order_is_not_shown(
    chromium, platform_url, client, sandbox_client
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    theirs = await make_store(tenant, distributor=tenant.other_distributor, name="隔壁门店")
    await catalog_service.adjust_stock(
        tenant.acting_admin, tenant.other_distributor.id, shop.water, delta=5
    )
    order = await order_of(
        client, sandbox_client, shop, theirs, [{"sku_id": shop.water, "quantity": 1}]
    )
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(chromium, platform_url, username, f"/orders/{order['id']}")

    await expect(page.get_by_test_id("order-missing")).to_contain_text(
        "订单不存在或无权查看", timeout=SLOW
    )
    body = await page.locator("body").inner_text()
    assert order["order_no"] not in body and "隔壁门店" not in body
    await expect(page.get_by_role("button", name="接单")).to_have_count(0)
    await shot(page, "order-13-not-found")
    await context.close()
