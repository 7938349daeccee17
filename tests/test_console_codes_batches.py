"""Code batches (赋码批次) in a real browser, as brand staff: the create dialog refuses an
empty form and a batch number already used, a new batch shows its job's progress and turns
ready by itself, its open-box reward is changed, its CSV downloaded and its box and item codes
printed on A4; a failed batch says why. Distributor staff reach none of these pages."""

from __future__ import annotations

import re

from playwright.async_api import expect

from backend.codes.models import CodeBatch, ProductCode
from backend.identity.models import Role
from backend.infra import jobs
from backend.worker import TASKS
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import generate_code_batch, make_shop, make_staff

pytestmark = needs_browser

SKU_LABEL = "澜泉 RO 净水器 · RO-500"


async def test_brand_staff_make_follow_download_and_print_a_batch(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    deps,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/codes/batches")
    await expect(page.get_by_role("heading", name="赋码批次")).to_be_visible()
    await expect(page.get_by_role("link", name="赋码批次")).to_be_visible()
    await expect(page.get_by_text("还没有赋码批次")).to_be_visible()

    # The dialog names what is missing before sending anything.
    await page.get_by_test_id("new-batch").click()
    dialog = page.get_by_role("dialog", name="新建赋码批次")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="创建并生成").click()
    await expect(dialog.get_by_text("请选择商品规格")).to_be_visible()
    await expect(dialog.get_by_text("请填写生产批号")).to_be_visible()
    await choose(page, "商品规格", SKU_LABEL)
    await dialog.get_by_label("生产批号").fill("20261201-A")
    await dialog.get_by_label("箱数").fill("3")
    await dialog.get_by_label("每箱物码数").fill("4")
    await dialog.get_by_label("生产批号").click()  # the number inputs take their value on blur
    await dialog.get_by_text("积分", exact=True).click()
    await dialog.get_by_label("奖励积分").fill("50")
    await dialog.get_by_label("生产批号").click()
    await expect(dialog.get_by_test_id("batch-total")).to_contain_text("共 15 个码")
    await shot(page, "codes-batches-1-dialog")
    await dialog.get_by_role("button", name="创建并生成").click()

    # The batch's page: generating, then ready once the job has run (the page asks again).
    await expect(page.get_by_role("heading", name="赋码批次 20261201-A")).to_be_visible()
    status = page.get_by_test_id("batch-status")
    await expect(status).to_contain_text("生成中")
    await expect(status).to_contain_text("已写入 0 / 15 个码")
    await expect(page.get_by_test_id("download-csv")).to_be_disabled()
    await shot(page, "codes-batches-2-generating")
    assert await jobs.run_pending(deps, TASKS) == 1
    await expect(status).to_contain_text("已生成", timeout=10_000)
    await expect(page.get_by_test_id("batch-codes")).to_have_text("3 箱 × 每箱 4 件，共 15 个码")
    await expect(page.get_by_test_id("batch-reward")).to_have_text("开箱奖励 50 积分")
    await expect(page.get_by_test_id("download-csv")).to_be_enabled()

    # The reward changed to ¥5.00 a box.
    await page.get_by_test_id("edit-reward").click()
    reward = page.get_by_role("dialog", name="修改开箱奖励")
    await reward.get_by_text("现金", exact=True).click()
    await reward.get_by_label("奖励金额（元）").fill("5")
    await reward.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("开箱奖励已修改")).to_be_visible()
    await expect(page.get_by_test_id("batch-reward")).to_have_text("开箱奖励 ¥5.00")
    batch = await CodeBatch.get(batch_no="20261201-A")
    assert (batch.open_reward_kind, batch.open_reward_amount) == ("cash", 500)
    await shot(page, "codes-batches-3-ready")

    # The CSV: a header and one line per code, boxes first.
    async with page.expect_download() as downloading:
        await page.get_by_test_id("download-csv").click()
    saved = await (await downloading.value).path()
    raw = saved.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode().splitlines()
    assert lines[0] == "类型,箱号,序号,链接,码值"
    assert len(lines) == 16
    first_box = await ProductCode.get(batch_id=batch.id, kind="box", serial=1)
    assert lines[1].startswith("箱码,20261201-A-B000001,20261201-A-B000001,")
    assert lines[1].endswith(f"/C/{first_box.token},{first_box.token}")
    assert lines[4].startswith("物码,20261201-A-B000001,20261201-A-0000001,")

    # Printed: the box codes on one A4 page, then the item codes.
    async with context.expect_page() as opened:
        await page.get_by_test_id("print-box").click()
    sheet = await opened.value
    await expect(sheet.locator(".qr-cell")).to_have_count(3)
    await expect(sheet.locator(".qr-cell .serial").first).to_have_text("20261201-A-B000001")
    await expect(sheet.locator(".qr-sheet").first).to_contain_text("箱码 · 20261201-A")
    pdf = await sheet.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    await shot(sheet, "codes-batches-4-box-sheet")
    await sheet.close()
    async with context.expect_page() as opened:
        await page.get_by_test_id("print-item").click()
    items = await opened.value
    await expect(items.locator(".qr-cell")).to_have_count(12)
    await expect(items.locator(".qr-cell").nth(4)).to_contain_text("箱 20261201-A-B000002")
    await shot(items, "codes-batches-5-item-sheet")
    await items.close()

    # The list: the batch, ready; the same batch number again is refused in the dialog.
    await page.get_by_text("‹ 返回").click()
    rows = page.get_by_test_id("batches-table").locator(".el-table__body tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("20261201-A")
    await expect(rows.first).to_contain_text("已生成")
    await expect(rows.first).to_contain_text("3 × 4")
    await page.get_by_test_id("new-batch").click()
    await choose(page, "商品规格", SKU_LABEL)
    await dialog.get_by_label("生产批号").fill("20261201-A")
    await dialog.get_by_role("button", name="创建并生成").click()
    await expect(dialog.get_by_test_id("dialog-refusal")).to_contain_text(
        "该商品已有相同生产批号的赋码批次"
    )
    await dialog.get_by_role("button", name="取消").click()
    assert await CodeBatch.all().count() == 1

    # A batch whose job failed says so, with the reason, in the list.
    failed = await generate_code_batch(shop, batch_no="BROKEN-1", boxes=1, items_per_box=1)
    await CodeBatch.filter(id=failed["id"]).update(
        status="failed", error="生成码时出错，系统会自动重试"
    )
    await page.reload()
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("生成失败")
    await expect(rows.first).to_contain_text("生成码时出错")
    await shot(page, "codes-batches-6-list")
    await context.close()

    # Distributor staff: no such pages.
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    dealer_context, dealer_page = await signed_in(browser, platform_url, dealer, "/codes/batches")
    await expect(dealer_page.get_by_text("无权访问")).to_be_visible()
    await expect(dealer_page.get_by_role("link", name="赋码批次")).to_have_count(0)
    await dealer_page.goto(f"{platform_url}/console#/codes/batches/{batch.id}")
    await expect(dealer_page.get_by_text("无权访问")).to_be_visible()
    await dealer_context.close()
