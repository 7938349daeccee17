"""The distributor's stock and stores pages in a real browser: stock adjusted with a reason
(and its history), an adjustment the API refuses, a SKU taken off sale as stores then see it,
the stores list filtered by tag and salesperson, a store's page with its orders and
complaints, and another distributor's store by URL. Each flow is checked through the API
afterwards; screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Page, expect

from backend.identity.models import Role
from backend.org.models import Salesperson, StoreTag
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import (
    Shop,
    bearer,
    idempotent,
    make_shop,
    make_staff,
    make_store,
    staff_headers,
    store_owner,
)

pytestmark = needs_browser


async def distributor_staff(client: httpx.AsyncClient, shop: Shop) -> tuple[str, dict[str, str]]:
    """A new admin of the shop's distributor: the username to sign in with, and API headers."""
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    return username, await staff_headers(client, username)


async def still_shot(page: Page, name: str) -> None:
    """A screenshot once dialogs and messages have finished fading in (endless animations,
    a skeleton's shimmer, are not waited for)."""
    await page.evaluate(
        "Promise.all(document.getAnimations()"
        ".filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)"
        ".map((a) => a.finished.catch(() => null)))"  # a cancelled one is done too
    )
    await shot(page, name)


def sku_row(page: Page, sku_id: int) -> Any:
    return page.locator(f"tr:has([data-sku='{sku_id}'])")


async def stock_row(client: httpx.AsyncClient, headers: dict[str, str], sku_id: int) -> Any:
    listed = (await client.get("/api/v1/catalog/stock", headers=headers)).json()["items"]
    return next(row for row in listed if row["sku_id"] == sku_id)


async def history(client: httpx.AsyncClient, headers: dict[str, str], sku_id: int) -> list[Any]:
    response = await client.get(f"/api/v1/catalog/skus/{sku_id}/stock/adjustments", headers=headers)
    items: list[Any] = response.json()["items"]
    return items


async def test_distributor_adjusts_stock_with_a_reason_and_reads_its_history(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    shop = await make_shop(water_stock=50, filter_stock=500)
    username, headers = await distributor_staff(client, shop)
    warned = await client.put(
        f"/api/v1/catalog/skus/{shop.filters}/low-stock", json={"threshold": 600}, headers=headers
    )
    assert warned.json()["is_low"] is True
    context, page = await signed_in(browser, platform_url, username, "/stock")
    await expect(page.get_by_role("heading", name="库存")).to_be_visible()
    water = sku_row(page, shop.water)
    await expect(water.get_by_test_id("stock")).to_have_text("50")
    await expect(sku_row(page, shop.filters)).to_have_class(re.compile("low-stock"))
    await expect(page.get_by_test_id("low-count")).to_have_text(re.compile("1 个规格库存不足"))
    await still_shot(page, "stock-1-list")

    await water.get_by_role("button", name="调整库存").click()
    dialog = page.get_by_role("dialog", name="调整库存")
    await expect(dialog.get_by_test_id("adjust-current")).to_have_text("50")
    await choose(page, "调整原因", "到货入库")
    await dialog.get_by_label("数量").fill("30")
    await dialog.get_by_label("说明").fill("到货单 DH-0815")
    await expect(dialog.get_by_test_id("adjust-preview")).to_contain_text("80")
    await still_shot(page, "stock-2-adjust-dialog")
    await dialog.get_by_role("button", name="确认调整").click()
    await expect(page.get_by_text("库存已调整：50 → 80")).to_be_visible()
    await expect(water.get_by_test_id("stock")).to_have_text("80")

    # What the page showed is what the API now holds, with the reason and who made it.
    assert (await stock_row(client, headers, shop.water))["stock"] == 80
    latest = (await history(client, headers, shop.water))[0]
    assert (latest["reason"], latest["note"]) == ("receipt", "到货单 DH-0815")
    assert (latest["stock_before"], latest["stock_after"]) == (50, 80)
    assert latest["user_name"] == username

    await water.get_by_role("button", name="调整记录").click()
    records = page.get_by_test_id("history-table")
    await expect(records).to_contain_text("到货入库")
    await expect(records).to_contain_text("+30")
    await expect(records).to_contain_text("50 → 80")
    await expect(records).to_contain_text(username)
    await still_shot(page, "stock-3-history")
    await context.close()


async def test_an_adjustment_the_api_refuses_shows_its_message_and_changes_nothing(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop = await make_shop(water_stock=3)
    username, headers = await distributor_staff(client, shop)
    context, page = await signed_in(browser, platform_url, username, "/stock")
    water = sku_row(page, shop.water)
    await expect(water.get_by_test_id("stock")).to_have_text("3")
    # The page shows 3; meanwhile a store orders 2 of them.
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    placed = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.water, "quantity": 2}]},
        headers=idempotent(owner),
    )
    assert placed.status_code == 201, placed.text

    await water.get_by_role("button", name="调整库存").click()
    dialog = page.get_by_role("dialog", name="调整库存")
    await choose(page, "调整原因", "报损")
    # More than the page knows of is refused before anything is sent...
    await dialog.get_by_label("数量").fill("5")
    await dialog.get_by_label("说明").click()
    await expect(dialog.get_by_text("库存不能小于 0")).to_be_visible()
    # ...and what the page thinks possible, the API refuses with its own words.
    await dialog.get_by_label("数量").fill("3")
    await dialog.get_by_label("数量").press("Tab")
    await expect(dialog.get_by_text("库存不能小于 0")).to_have_count(0)
    await dialog.get_by_role("button", name="确认调整").click()
    await expect(dialog.get_by_test_id("adjust-refusal")).to_contain_text(
        "库存不足，无法扣减：当前库存 1"
    )
    # The dialog and the list now show the real figure the next attempt starts from.
    await expect(dialog.get_by_test_id("adjust-current")).to_have_text("1")
    await expect(water.get_by_test_id("stock")).to_have_text("1")
    await still_shot(page, "stock-4-refused")
    assert (await stock_row(client, headers, shop.water))["stock"] == 1
    assert len(await history(client, headers, shop.water)) == 1  # only the first receipt
    await context.close()


async def test_taking_a_sku_off_sale_is_what_stores_see_and_warnings_filter(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop = await make_shop(water_stock=50, filter_stock=500)
    username, headers = await distributor_staff(client, shop)
    owner = await store_owner(client, sandbox_client, shop.tenant.store)

    async def sold_here() -> bool:
        items = (await client.get("/api/v1/catalog/skus", headers=bearer(owner))).json()["items"]
        return bool(next(item["sold_here"] for item in items if item["id"] == shop.water))

    assert await sold_here() is True
    context, page = await signed_in(browser, platform_url, username, "/stock")
    water = sku_row(page, shop.water)
    await water.locator(".el-switch").click()  # its checkbox is hidden behind the drawn switch
    confirm = page.get_by_role("dialog", name="停售规格")
    await expect(confirm).to_contain_text("门店将无法订购")
    await still_shot(page, "stock-5-off-sale-confirm")
    await confirm.get_by_role("button", name="停售").click()
    await expect(water).to_contain_text("停售")
    assert await sold_here() is False
    assert (await stock_row(client, headers, shop.water))["is_available"] is False

    # A warning level set on the page marks the row, and "只看库存不足" lists it alone.
    await water.get_by_role("button", name=re.compile("设置预警")).click()
    threshold = page.get_by_role("dialog", name="库存预警")
    await threshold.get_by_label("预警数量").fill("60")
    await still_shot(page, "stock-6-threshold-dialog")
    await threshold.get_by_role("button", name="保存").click()
    await expect(water).to_have_class(re.compile("low-stock"))
    assert (await stock_row(client, headers, shop.water))["low_stock_threshold"] == 60
    await page.get_by_text("只看库存不足", exact=True).click()
    await expect(page).to_have_url(re.compile("low=true"))
    await expect(page.get_by_test_id("stock-table").locator("tbody tr")).to_have_count(1)
    await expect(sku_row(page, shop.water)).to_be_visible()
    await still_shot(page, "stock-7-low-only")
    await context.close()


async def test_stores_filtered_by_tag_and_salesperson_and_a_stores_page(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    other_person = await Salesperson.create(
        brand=tenant.brand, distributor=tenant.distributor, name="李娜", phone="13900009999"
    )
    busy = tenant.store
    await StoreTag.create(store=busy, tag="重点客户")
    tagged = await make_store(tenant, name="城北超市", tier="A", salesperson=other_person)
    await StoreTag.create(store=tagged, tag="重点客户")
    await StoreTag.create(store=tagged, tag="社区店")
    await make_store(tenant, name="城南便利", tier="B", status="suspended")
    owner = await store_owner(client, sandbox_client, busy)
    orders = []
    for quantity in (1, 2):
        placed = await client.post(
            "/api/v1/orders",
            json={"lines": [{"sku_id": shop.water, "quantity": quantity}]},
            headers=idempotent(owner),
        )
        orders.append(placed.json())
    filed = await client.post(
        "/api/v1/complaints",
        json={"category": "delivery", "text": "三天了还没送到"},
        headers=idempotent(owner),
    )
    complaint = filed.json()["id"]
    brand = await staff_headers(client, tenant.admin_username)
    for action in ("acknowledge", "assign"):
        await client.post(f"/api/v1/complaints/{complaint}/{action}", headers=brand)

    username, _ = await distributor_staff(client, shop)
    context, page = await signed_in(browser, platform_url, username, "/stores")
    table = page.get_by_test_id("stores-table")
    await expect(table.locator("tbody tr")).to_have_count(3)
    busy_row = table.locator(f"tr:has([data-store='{busy.id}'])")
    await expect(busy_row).to_contain_text("¥3,998.00")  # the last order: 2 purifiers
    await expect(busy_row).to_contain_text("王磊")
    await still_shot(page, "stores-1-list")

    await choose(page, "标签", "重点客户")
    await expect(page).to_have_url(re.compile("tag="))
    await expect(table.locator("tbody tr")).to_have_count(2)
    await choose(page, "业务员", "李娜")
    await expect(page).to_have_url(re.compile(f"salesperson_id={other_person.id}"))
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("城北超市")
    await still_shot(page, "stores-2-filtered")
    # A copied link reopens the same view.
    await page.reload()
    await expect(table.locator("tbody tr")).to_have_count(1)

    await page.goto(f"{platform_url}/console#/stores")
    await busy_row.get_by_role("link", name=busy.name).click()
    await expect(page.get_by_role("heading", name=busy.name)).to_be_visible()
    profile = page.get_by_test_id("store-profile")
    await expect(profile).to_contain_text(busy.phone)
    await expect(profile).to_contain_text("重点客户")
    store_orders = page.get_by_test_id("store-orders")
    await expect(store_orders.locator("tbody tr")).to_have_count(2)
    newest = store_orders.get_by_role("link", name=orders[1]["order_no"])
    await expect(newest).to_have_attribute("href", f"#/orders/{orders[1]['id']}")
    complaint_link = page.get_by_test_id("store-complaints").get_by_role(
        "link", name=f"#{complaint}"
    )
    await expect(complaint_link).to_have_attribute("href", f"#/complaints/{complaint}")
    await still_shot(page, "stores-3-detail")

    # The page's figures are the API's.
    detail = (
        await client.get(f"/api/v1/stores/{busy.id}", headers=await staff_headers(client, username))
    ).json()
    assert detail["order_count"] == 2 and detail["last_order"]["id"] == orders[1]["id"]
    await context.close()


async def test_another_distributors_store_is_not_shown_by_url(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    shop = await make_shop()
    theirs = await make_store(
        shop.tenant, name="别家的门店", distributor=shop.tenant.other_distributor, salesperson=None
    )
    username, _ = await distributor_staff(client, shop)
    context, page = await signed_in(browser, platform_url, username, f"/stores/{theirs.id}")
    await expect(page.get_by_test_id("store-missing")).to_contain_text("门店不存在或无权查看")
    content = await page.content()
    assert theirs.name not in content and theirs.phone not in content
    await expect(page.get_by_test_id("store-orders")).to_have_count(0)
    await still_shot(page, "stores-4-not-found")
    await context.close()


async def test_brand_staff_read_a_distributors_stock_without_changing_it(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
) -> None:
    shop = await make_shop(water_stock=42)
    context, page = await signed_in(browser, platform_url, shop.tenant.admin_username, "/stock")
    water = sku_row(page, shop.water)
    # The first distributor is chosen for them: the tenant's own, created first.
    await expect(page).to_have_url(re.compile(f"distributor_id={shop.tenant.distributor.id}"))
    await expect(water.get_by_test_id("stock")).to_have_text("42")
    await expect(page.get_by_role("button", name="调整库存")).to_have_count(0)
    await expect(water.locator(".el-switch")).to_have_class(re.compile("is-disabled"))
    await water.get_by_role("button", name="调整记录").click()
    await expect(page.get_by_test_id("history-table")).to_contain_text("0 → 42")
    await still_shot(page, "stock-8-brand-read-only")
    await context.close()
