"""The import page (数据导入) in a real browser, as brand staff: the template downloads, a store
file with bad rows is checked and every problem shown by row while nothing is written, then
a good file is checked and imported and the stores exist. Distributor staff reach none of it."""

from __future__ import annotations

from playwright.async_api import expect

from backend.identity.models import Role
from backend.imports import sheets
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_staff, make_tenant, staff_headers
from tests.test_imports import STORE_HEADER, xlsx

pytestmark = needs_browser
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_brand_staff_check_then_import_stores(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    tenant = await make_tenant()
    brand = await staff_headers(client, tenant.admin_username)
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    own = tenant.distributor.name

    async def store_names() -> list[str]:
        listed = await client.get("/api/v1/stores?limit=100", headers=brand)
        return sorted(s["name"] for s in listed.json()["items"])

    before = await store_names()
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/imports")
    await expect(page.get_by_role("heading", name="数据导入")).to_be_visible()
    await expect(page.get_by_role("link", name="数据导入")).to_be_visible()  # in the sidebar
    await shot(page, "imports-1-start")

    # The template: an XLSX whose header the import reads back.
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载门店导入模板").click()
    template = await downloading.value
    assert template.suggested_filename == "门店导入模板.xlsx"
    header = sheets.read_table((await template.path()).read_bytes(), max_rows=1).header
    assert header[:3] == ["门店名称", "联系人", "手机号"]

    # A file with bad rows: every problem by row, no import offered, nothing written.
    bad = [
        STORE_HEADER,
        ["新店甲", "张三", "13800000031", "文一路 1 号", None, own, "王磊", "A", "社区店"],
        ["新店乙", None, "1380000", "文一路 2 号", None, "不存在的经销商", None, None, None],
        ["新店丙", None, "13800000031", "文一路 3 号", None, own, None, "F", None],
    ]
    chooser = page.get_by_test_id("import-file").locator("input[type=file]")
    await chooser.set_input_files({"name": "门店-有误.xlsx", "mimeType": XLSX, "buffer": xlsx(bad)})
    await expect(page.get_by_test_id("dry-run-summary")).to_contain_text(
        "共 3 行：1 行无误，2 行有问题，共 4 处"
    )
    problems = page.get_by_test_id("problems").locator(".el-table__body tr")
    await expect(problems).to_have_count(4)
    await expect(problems.nth(0)).to_contain_text("第 3 行")
    await expect(problems.nth(0)).to_contain_text("手机号应为 11 位数字，以 1 开头")
    await expect(page.get_by_test_id("problems")).to_contain_text("找不到该经销商（或已停用）")
    await expect(page.get_by_test_id("problems")).to_contain_text("与第 2 行的手机号重复")
    await expect(page.get_by_role("button", name="请修改文件后重新上传")).to_be_disabled()
    await shot(page, "imports-2-problems")
    assert await store_names() == before

    # The corrected file: clean, imported after the confirmation, the rows shown.
    good = [bad[0], bad[1], ["新店乙", None, "13800000032", "文一路 2 号", None, own]]
    await chooser.set_input_files({"name": "门店.xlsx", "mimeType": XLSX, "buffer": xlsx(good)})
    await expect(page.get_by_test_id("dry-run-summary")).to_have_text(
        "共 2 行，全部通过预检，可以导入"
    )
    await page.get_by_role("button", name="确认导入 2 家门店").click()
    dialog = page.get_by_role("dialog", name="导入门店")
    await expect(dialog).to_contain_text("将导入 2 家门店（文件：门店.xlsx）")
    await dialog.get_by_role("button", name="确定导入").click()
    result = page.get_by_test_id("import-result")
    await expect(result).to_contain_text("已创建 2 家门店")
    created = page.get_by_test_id("created").locator(".el-table__body tr")
    await expect(created).to_have_count(2)
    await expect(created.nth(0)).to_contain_text("新店甲")
    await expect(created.nth(0)).to_contain_text("社区店")
    await expect(page.locator(".el-message")).to_have_count(0, timeout=10_000)
    await shot(page, "imports-3-done")
    assert await store_names() == sorted([*before, "新店甲", "新店乙"])
    await context.close()

    # Distributor staff: no sidebar entry, the forbidden page by the link.
    context, page = await signed_in(browser, platform_url, dealer, "/imports")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_role("link", name="数据导入")).to_have_count(0)
    await context.close()
