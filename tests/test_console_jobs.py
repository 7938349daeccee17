"""The console's 后台任务 page in a real browser: a brand admin sees the brand's subscribe
message that failed while WeChat was down, what it was about, with its attempts and error
in Chinese, and runs it again with 重试; the API agrees, and the job then sends. Brand ops
have no such page."""

from __future__ import annotations

import dataclasses
import re

from playwright.async_api import expect

from backend.identity.models import Role
from backend.infra import jobs
from backend.infra.models import JobRecord
from backend.integrations.wechat.client import MiniProgramClient
from backend.worker import TASKS
from tests import console_browser
from tests.console_browser import needs_browser, shot, signed_in
from tests.factories import bearer, make_staff
from tests.test_complaint_subscribe import allow
from tests.test_complaints import filed, parties, step
from tests.test_console_notifications_staff import still

pytestmark = needs_browser
browser = console_browser.browser  # the fixture, where pytest looks for it


async def test_a_brand_admin_sees_a_failed_job_and_runs_it_again(
    browser, platform_url, client, sandbox_client, sandbox_state, deps
) -> None:
    sandbox_state.sent_messages.clear()
    shop, brand, _, owner = await parties(client, sandbox_client)
    number = (await filed(client, owner))["id"]
    await allow(client, sandbox_client, bearer(owner), shop.tenant.store)
    assert (await step(client, brand, number, "acknowledge")).status_code == 200
    [job_id] = await JobRecord.filter(brand_id=shop.tenant.brand.id).values_list("id", flat=True)
    working = deps.wechat
    deps.wechat = MiniProgramClient(
        dataclasses.replace(working.settings, api_base_url="http://127.0.0.1:9")
    )
    try:  # its last attempt, with WeChat down
        assert not await jobs.run_job(deps, {t.name: t for t in TASKS}, job_id, last_attempt=True)
    finally:
        deps.wechat = working

    context, page = await signed_in(browser, platform_url, shop.tenant.admin_username, "/jobs")
    await expect(page.get_by_role("heading", name="后台任务")).to_be_visible()
    row = page.locator(".el-table__row").filter(has=page.locator(f"[data-job='{job_id}']"))
    await expect(row).to_contain_text("微信订阅消息")
    # What it is about: the store and the complaint, as the brand's admins name them.
    await expect(row).to_contain_text(
        f"门店「{shop.tenant.store.name}」· 投诉 #{number}（品牌已受理）"
    )
    await expect(row).to_contain_text("已失败")
    await expect(row).to_contain_text("1 次")
    await expect(row).to_contain_text("连不上微信服务器")
    await still(page)
    await shot(page, "jobs-1-failed")

    await page.locator("label.el-radio-button").filter(has_text=re.compile("^重试中$")).click()
    await expect(page).to_have_url(re.compile(r"status=retrying"))
    await expect(page.get_by_text("没有失败或重试中的任务")).to_be_visible()
    await page.locator("label.el-radio-button").filter(has_text=re.compile("^全部$")).click()

    await row.get_by_role("button", name="重试").click()
    await page.get_by_role("dialog").get_by_role("button", name="重试").click()
    await expect(page.get_by_text("已重新排队执行")).to_be_visible()
    await expect(row).to_contain_text("等待执行")
    await expect(row.get_by_role("button", name="重试")).to_have_count(0)
    assert (await JobRecord.get(id=job_id)).status == jobs.PENDING
    await still(page)
    await shot(page, "jobs-2-retried")
    assert await jobs.run_pending(deps, TASKS) == 1
    assert [m["data"]["phrase2"] for m in sandbox_state.sent_messages] == ["已受理"]
    await context.close()

    ops = await make_staff(shop.tenant.brand.id, Role.BRAND_OPS)
    context, page = await signed_in(browser, platform_url, ops)
    await expect(page.get_by_role("link", name="后台任务")).to_have_count(0)
    await context.close()
