"""Shipping box codes in a real browser: the brand scans boxes with a scanner gun (typed URL
and Enter), is refused for an item code among them (the row says why, nothing shipped),
removes it and ships; ships ranges read from an uploaded sheet; opens a shipment's boxes and
finds a box by its number; the distributor scans boxes onto its accepted order from the order
page. Checked through the API against what the pages showed; screenshots of each step go to
test-artifacts/console/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from backend.codes.models import CodeShipment, ProductCode
from backend.codes.tokens import box_serial, code_url
from backend.identity.models import Role
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401 (fixture)
from tests.factories import make_shop, make_staff
from tests.test_codes_shipping import accepted_order, ready_batch
from tests.test_console_order_detail import choose, success

pytestmark = needs_browser
SLOW = 15_000  # ms: the machine is shared, the page waits on the API
BASE = "https://b2b.example"


@pytest.fixture
def chromium(browser: Browser) -> Browser:  # noqa: F811 (the imported fixture)
    return browser


async def scan(page: Page, field: str, text: str) -> None:
    """What a scanner gun does: types the code's URL into the focused input, then Enter."""
    box = page.get_by_test_id(field)
    await box.click()
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def test_the_brand_ships_scanned_boxes_and_uploaded_ranges(
    chromium, platform_url, client
) -> None:
    shop = await make_shop()
    batch = await ready_batch(shop.tenant.brand.id, shop.water, boxes=12, items_per_box=4)
    tenant = shop.tenant
    context, page = await signed_in(
        chromium, platform_url, tenant.admin_username, "/codes/shipments"
    )
    await expect(page.get_by_text("还没有出库记录")).to_be_visible(timeout=SLOW)
    await page.get_by_role("button", name="出库到经销商").click()
    dialog = page.get_by_role("dialog", name="箱码出库到经销商")
    await choose(page, "出库经销商", tenant.distributor.name)
    for token in batch.boxes[:3]:
        await scan(page, "scan-input", code_url(BASE, token))
    await scan(page, "scan-input", code_url(BASE, batch.items[0]))
    await scan(page, "scan-input", code_url(BASE, batch.boxes[0]))  # scanned twice
    await expect(dialog.get_by_text("已扫过")).to_be_visible()
    await scan(page, "scan-input", "hello")
    await expect(dialog.get_by_text("无法识别：hello")).to_be_visible()
    await expect(dialog.get_by_test_id("ship-total")).to_have_text("4")
    await dialog.get_by_role("button", name="确认出库").click()
    await expect(dialog.get_by_test_id("ship-refusal")).to_contain_text("物码", timeout=SLOW)
    await expect(dialog.get_by_test_id("scan-problem")).to_have_count(1)
    await expect(dialog.get_by_test_id("scan-problem")).to_contain_text("物码")
    await shot(page, "codes-shipping-1-refused")
    assert await CodeShipment.all().count() == 0

    await (
        dialog.get_by_test_id("scan-list")
        .locator("tr.bad-row")
        .get_by_role("button", name="移除")
        .click()
    )
    await expect(dialog.get_by_test_id("ship-total")).to_have_text("3")
    await dialog.get_by_label("备注").fill("浙A12345")
    await dialog.get_by_role("button", name="确认出库").click()
    await success(page, f"已出库 3 箱（12 件）到 {tenant.distributor.name}")
    await expect(dialog).to_be_hidden()
    table = page.get_by_test_id("shipments")
    await expect(table).to_contain_text("浙A12345")
    shipped = await ProductCode.filter(distributor_id=tenant.distributor.id).values_list(
        "serial", flat=True
    )
    assert sorted(shipped) == [1, 2, 3]

    # Ranges from a sheet: one good row, one overlapping what is shipped.
    await page.get_by_role("button", name="出库到经销商").click()
    await choose(page, "出库经销商", tenant.other_distributor.name)
    await dialog.get_by_role("tab", name="箱号范围").click()
    sheet = f"批次号,起始箱号,结束箱号\n{batch.no},5,9\n{batch.no},2,4\n".encode("utf-8-sig")
    await dialog.get_by_test_id("range-file").set_input_files(
        {"name": "范围.csv", "mimeType": "text/csv", "buffer": sheet}
    )
    await expect(dialog.get_by_test_id("upload-problems")).to_contain_text("第 3 行", timeout=SLOW)
    await expect(dialog.get_by_test_id("range-list")).to_contain_text(batch.no)
    await expect(dialog.get_by_test_id("ship-total")).to_have_text("5")
    await shot(page, "codes-shipping-2-ranges")
    await dialog.get_by_role("button", name="确认出库").click()
    await success(page, f"已出库 5 箱（20 件）到 {tenant.other_distributor.name}")
    other = await ProductCode.filter(distributor_id=tenant.other_distributor.id).values_list(
        "serial", flat=True
    )
    assert sorted(other) == [5, 6, 7, 8, 9]

    # A shipment's boxes, by batch and one by one.
    await table.get_by_text("浙A12345").click()
    await expect(page.get_by_test_id("shipment-batches")).to_contain_text(
        f"{box_serial(batch.no, 1)} 至 {box_serial(batch.no, 3)}", timeout=SLOW
    )
    await expect(page.get_by_test_id("shipment-boxes")).to_contain_text("已出库")
    await shot(page, "codes-shipping-3-shipment")
    await page.keyboard.press("Escape")

    # Where one box is now.
    await page.goto(f"{platform_url}/console#/codes/boxes")
    await page.get_by_label("查找箱码").fill(box_serial(batch.no, 6))
    await page.get_by_label("查找箱码").press("Enter")
    boxes = page.get_by_test_id("boxes")
    await expect(boxes.locator("tbody tr")).to_have_count(1, timeout=SLOW)
    await expect(boxes).to_contain_text(tenant.other_distributor.name)
    await shot(page, "codes-shipping-4-boxes")
    await context.close()


async def test_the_distributor_scans_boxes_onto_its_order(
    chromium, platform_url, client, sandbox_client
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    water = await ready_batch(tenant.brand.id, shop.water, boxes=4)
    filters = await ready_batch(tenant.brand.id, shop.filters, boxes=2)
    await ProductCode.filter(batch_id__in=[water.id, filters.id], kind="box").update(
        distributor_id=tenant.distributor.id
    )
    _, order = await accepted_order(client, sandbox_client, shop)
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    context, page = await signed_in(chromium, platform_url, username, f"/orders/{order['id']}")
    panel = page.get_by_test_id("order-boxes")
    await expect(panel).to_contain_text("还没有登记随货箱码", timeout=SLOW)
    await scan(page, "order-scan-input", code_url(BASE, water.boxes[0]))
    await scan(page, "order-scan-input", code_url(BASE, filters.boxes[0]))  # not on the order
    await panel.get_by_role("button", name="登记 2 箱到本订单").click()
    await expect(panel.get_by_test_id("order-scan-problem")).to_contain_text(
        "不在该订单中", timeout=SLOW
    )
    assert await ProductCode.filter(order_id=order["id"]).count() == 0
    await shot(page, "codes-shipping-5-order-refused")
    await (
        panel.locator(".scan-row")
        .filter(has_text="不在该订单中")
        .get_by_role("button", name="移除")
        .click()
    )
    await panel.get_by_role("button", name="登记 1 箱到本订单").click()
    await success(page, "已登记 1 箱（3 件）")
    await expect(panel.get_by_test_id("order-box-list")).to_contain_text(box_serial(water.no, 1))
    await shot(page, "codes-shipping-6-order-boxes")
    assert await ProductCode.filter(order_id=order["id"]).values_list("serial", flat=True) == [1]
    await context.close()
