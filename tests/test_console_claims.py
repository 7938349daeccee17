"""Voucher claims (核销) and statements (对账单) in a real browser, as a distributor: it sees
the exchange vouchers its stores used in delivered orders, claims them after seeing the total,
follows the claim, and reads and exports its statement once the brand has paid. Another
distributor reaches neither the claim nor the account by their links."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from playwright.async_api import expect

from backend.identity.models import Role
from backend.ledger import service as ledger_service
from backend.ledger.models import AccountKind, EntryCause, PartyAccount, PartyKind
from tests.console_browser import browser, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import make_staff
from tests.test_promotions_admin import admin
from tests.test_voucher_claims import API, delivered_voucher_order

pytestmark = needs_browser


async def test_a_distributor_claims_its_vouchers_and_reads_its_statement(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop, distributor, order = await delivered_voucher_order(client, sandbox_client)
    tenant = shop.tenant
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)

    # The claimable voucher, with its order, store and value; then the claim, total first.
    context, page = await signed_in(browser, platform_url, dealer, "/claims")
    await expect(page.get_by_role("heading", name="兑换券核销")).to_be_visible()
    claimable = page.locator("tr", has_text=order["order_no"])
    await expect(claimable).to_contain_text("滤芯兑换券")
    await expect(claimable).to_contain_text(tenant.store.name)
    await expect(claimable).to_contain_text("¥200.00")
    await expect(page.get_by_text("还没有提交过核销单")).to_be_visible()
    await shot(page, "claims-1-claimable")
    await page.get_by_role("button", name="提交核销").click()
    dialog = page.get_by_role("dialog", name="提交核销单")
    await expect(dialog.get_by_test_id("claim-summary")).to_have_text(
        "本次核销 1 张兑换券，合计 ¥200.00"
    )
    await dialog.get_by_label("备注").fill("11月兑换券")
    await expect(page.locator(".dialog-fade-enter-active")).to_have_count(0)  # opened fully
    await shot(page, "claims-2-submit")
    await dialog.get_by_role("button", name="确认提交 ¥200.00").click()
    await expect(page.get_by_test_id("claim-status")).to_have_text("待审核")
    await expect(page.get_by_test_id("claim-amount")).to_have_text("¥200.00")
    await expect(page.locator("tr", has_text=order["order_no"])).to_contain_text("滤芯兑换券")

    # What the page showed is what the API now holds: one claim, nothing left to claim.
    [claim] = (await client.get(API, headers=distributor)).json()["items"]
    assert (claim["status"], claim["amount_fen"], claim["vouchers"], claim["note"]) == (
        "submitted",
        20_000,
        1,
        "11月兑换券",
    )
    assert page.url.endswith(f"#/claims/{claim['id']}")
    await shot(page, "claims-3-claim")
    assert (await client.get(f"{API}/claimable", headers=distributor)).json()["items"] == []

    # The list: the claim by status, the filter in the link, nothing left to claim.
    await page.get_by_role("link", name="‹ 返回").click()
    row = page.locator(f"tr:has([data-claim='{claim['id']}'])")
    await expect(row).to_contain_text("待审核")
    await expect(row).to_contain_text("11月兑换券")
    await expect(page.get_by_text("暂无可核销的兑换券")).to_be_visible()
    await expect(page.get_by_role("button", name="提交核销")).to_be_disabled()
    await expect(page.locator("[data-tab='submitted']")).to_have_text("待审核1")
    await expect(page.locator("[data-tab='settled']")).to_have_text("已结算0")
    await expect(page.get_by_test_id("claims-owed")).to_contain_text("待审核 ¥200.00")
    await page.locator("[data-tab='settled']").click()
    await expect(page.get_by_text("没有该状态的核销单")).to_be_visible()
    assert "status=settled" in page.url

    # The brand approves and pays it; a live rain the distributor funded costs it 50.00.
    brand = await admin(client, shop)
    for step in ("approve", "settle"):
        assert (await client.post(f"{API}/{claim['id']}/{step}", headers=brand)).status_code == 200
    await ledger_service.post_to_party(
        PartyKind.DISTRIBUTOR,
        tenant.distributor.id,
        brand_id=tenant.brand.id,
        kind=AccountKind.CASH,
        amount=-5_000,
        cause=EntryCause.RAIN_FUNDED,
        cause_id=1,
        order_id=ledger_service.NO_ORDER,
        now=datetime.now(UTC),
    )
    own = {"party": "distributor", "party_id": tenant.distributor.id}
    vouchers = await PartyAccount.get(**own, kind="vouchers")
    cash = await PartyAccount.get(**own, kind="cash")

    # The statement: balances in yuan (a negative one marked), entries newest first.
    await page.get_by_role("link", name="对账单").click()
    await expect(page.get_by_role("heading", name="对账单")).to_be_visible()
    voucher_tab = page.locator(f"[data-account='{vouchers.id}']")
    cash_tab = page.locator(f"[data-account='{cash.id}']")
    await expect(voucher_tab).to_contain_text("兑换券核销款")
    await expect(voucher_tab.get_by_test_id("account-balance")).to_have_text("¥0.00")
    await expect(cash_tab.get_by_test_id("account-balance")).to_have_text("-¥50.00")
    await expect(cash_tab.get_by_test_id("account-balance")).to_have_class(re.compile("negative"))
    await expect(voucher_tab).to_have_attribute("aria-selected", "true")  # the claims' first
    assert f"account={vouchers.id}" in page.url
    rows = page.locator(".el-table__body tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("兑换券核销结算")
    await expect(rows.nth(0)).to_contain_text("-¥200.00")
    await expect(rows.nth(1)).to_contain_text("兑换券核销确认")
    await expect(rows.nth(1)).to_contain_text("+¥200.00")
    await expect(rows.nth(1).get_by_role("link")).to_have_text(f"核销单 #{claim['id']}")
    await shot(page, "claims-4-statement")

    # The CSV holds the same entries, oldest first, in yuan.
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="导出 CSV").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    content = (await download.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0] == ["时间", "事项", "变动", "变动后余额", "订单"]
    assert [line[1:4] for line in lines[1:]] == [
        ["兑换券核销确认", "200.00", "200.00"],
        ["兑换券核销结算", "-200.00", "0.00"],
    ]

    # A date range (China days, in the link) with no entries says so.
    await page.goto(
        f"{platform_url}/console#/statements?account={vouchers.id}"
        "&created_from=2020-01-01&created_to=2020-01-31"
    )
    await expect(page.get_by_text("所选日期内没有流水")).to_be_visible()
    await expect(page.get_by_placeholder("开始日期")).to_have_value("2020-01-01")

    # Another distributor of the brand reaches neither the claim nor the account.
    rival = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.other_distributor.id)
    rival_context, rival_page = await signed_in(
        browser, platform_url, rival, f"/claims/{claim['id']}"
    )
    await expect(rival_page.get_by_text("核销单不存在，或您无权查看")).to_be_visible()
    await expect(rival_page.get_by_text("¥200.00")).to_have_count(0)
    await expect(rival_page.get_by_text("11月兑换券")).to_have_count(0)
    await shot(rival_page, "claims-5-not-yours")
    await rival_page.goto(f"{platform_url}/console#/statements?account={vouchers.id}")
    await expect(rival_page.get_by_text("账户不存在，或您无权查看")).to_be_visible()
    await expect(rival_page.get_by_text("兑换券核销确认")).to_have_count(0)
    await expect(rival_page.get_by_text("¥200.00")).to_have_count(0)
    await rival_context.close()
    await context.close()
