"""The brand's catalog pages in a real browser: a category tree built (and a delete it
refuses), a product created with a picture and a SKU, a second SKU added in place (after a
barcode the brand already uses is refused), a price ladder set for one distributor's B-tier
stores and read back as those stores see it, and supply switched on. The result is checked
through the API, including a B-tier store's own quote; distributor staff get 无权访问.
Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import io

from PIL import Image
from playwright.async_api import Page, expect

from backend.catalog.models import PriceEntry, Product, Sku
from backend.identity.models import Role
from tests.console_browser import browser, choose, needs_browser, shot, signed_in  # noqa: F401
from tests.factories import bearer, make_shop, make_staff, make_store, store_owner
from tests.test_console_stock_stores import still_shot

pytestmark = needs_browser


def png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (240, 240), (64, 140, 200)).save(picture, format="PNG")
    return picture.getvalue()


async def fill_sku(page: Page, **values: str) -> None:
    form = (
        page.get_by_test_id("sku-form") if await page.get_by_test_id("sku-form").count() else page
    )
    for label, value in values.items():
        await form.get_by_label(label, exact=True).fill(value)


async def test_brand_staff_build_a_product_with_two_skus_and_price_them_for_a_tier(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    client,
    sandbox_client,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/catalog/categories"
    )
    await expect(page.get_by_role("heading", name="商品分类")).to_be_visible()

    # The tree: a top-level category and a child under it.
    await page.get_by_role("button", name="新建分类").click()
    dialog = page.get_by_role("dialog", name="新建分类")
    await dialog.get_by_label("分类名称").fill("龙头")
    await dialog.get_by_role("button", name="保存").click()
    await expect(page.get_by_text("已新建分类「龙头」")).to_be_visible()
    taps = page.locator("tr").filter(has=page.get_by_text("龙头", exact=True))
    await taps.get_by_role("button", name="添加子分类").click()
    await dialog.get_by_label("分类名称").fill("厨房龙头")
    await dialog.get_by_role("button", name="保存").click()
    await expect(page.get_by_test_id("categories-table")).to_contain_text("厨房龙头")
    # A category that still holds products is refused, with the reason.
    purifiers = page.locator("tr").filter(has=page.get_by_text("净水器", exact=True))
    await purifiers.get_by_role("button", name="删除").click()
    await page.get_by_role("dialog", name="删除分类").get_by_role("button", name="删除").click()
    refusal = page.get_by_role("dialog", name="不能删除")
    await expect(refusal).to_contain_text("该分类下还有 1 个商品")
    await still_shot(page, "catalog-1-categories")
    await refusal.get_by_role("button", name="知道了").click()

    # A new product with a picture and its first SKU; the form checks before sending.
    await page.goto(f"{platform_url}/console#/catalog/products")
    await expect(page.get_by_test_id("products-table")).to_contain_text("澜泉 RO 净水器")
    await still_shot(page, "catalog-0-products")
    await page.get_by_role("button", name="新建商品").click()
    await page.get_by_label("商品名称").fill("厨房抽拉龙头")
    await choose(page, "商品分类", "龙头 / 厨房龙头")
    await page.get_by_label("商品描述").fill("304 不锈钢，抽拉软管 1.5 米")
    await page.get_by_label("上传商品图片").set_input_files(
        {"name": "tap.png", "mimeType": "image/png", "buffer": png()}
    )
    await expect(page.get_by_test_id("product-images").get_by_text("主图")).to_be_visible()
    barcode = "6901234500017"
    await fill_sku(
        page,
        规格名称="抽拉款",
        规格说明="冷热双控",
        单位="个",
        条码=barcode,
        **{"指导价（元）": "299"},
        箱规="4",
        起订量="3",
    )
    await page.get_by_role("button", name="保存商品").click()
    await expect(page.get_by_text("起订量须是箱规（4）的整数倍")).to_be_visible()
    await still_shot(page, "catalog-2-new-product")
    await fill_sku(page, 起订量="4")
    await page.get_by_role("button", name="保存商品").click()
    await expect(page.get_by_role("heading", name="厨房抽拉龙头")).to_be_visible()

    # A second SKU in place: the first barcode again is refused, then a new one saves.
    await page.get_by_role("button", name="添加规格").click()
    await fill_sku(
        page,
        规格名称="感应款",
        单位="个",
        条码=barcode,
        **{"指导价（元）": "459.5"},
        箱规="4",
        起订量="4",
    )
    await page.get_by_role("button", name="保存规格").click()
    await expect(page.get_by_test_id("sku-form")).to_contain_text("该条码已被其他商品使用")
    await fill_sku(page, 条码="6901234500024")
    await page.get_by_role("button", name="保存规格").click()
    skus = page.get_by_test_id("skus-table")
    await expect(skus).to_contain_text("感应款")
    await expect(skus).to_contain_text("¥459.50")
    await still_shot(page, "catalog-3-product")

    product = await Product.get(name="厨房抽拉龙头", brand_id=tenant.brand.id)
    pull, sensor = await Sku.filter(product_id=product.id).order_by("id")
    assert (pull.barcode, pull.case_size, pull.min_order_qty, pull.list_price_fen) == (
        barcode,
        4,
        4,
        29_900,
    )
    assert (sensor.name, sensor.list_price_fen) == ("感应款", 45_950)
    assert len(product.images) == 1 and "/media/images/" in product.images[0]
    assert product.category_id != shop.water  # type: ignore[attr-defined]

    # Prices for the distributor's B-tier stores, as a ladder; then as those stores see it.
    await (
        skus.locator("tr").filter(has_text="抽拉款").get_by_role("link", name="价格与供货").click()
    )
    await expect(page.get_by_role("heading", name="厨房抽拉龙头 · 抽拉款")).to_be_visible()
    await page.get_by_role("button", name="新增价格").click()
    ladder = page.get_by_role("dialog", name="新增价格")
    await choose(page, "价格适用经销商", tenant.distributor.name)
    await choose(page, "价格适用门店等级", "B 类门店")
    await ladder.get_by_label("第 1 档单价").fill("269")
    await ladder.get_by_role("button", name="＋ 添加一档").click()
    await ladder.get_by_label("第 2 档起订数量").fill("4")
    await ladder.get_by_label("第 2 档单价").fill("249")
    await ladder.get_by_role("button", name="保存价格").click()
    await expect(ladder).to_contain_text("数量重复")
    await ladder.get_by_label("第 2 档起订数量").fill("40")
    await ladder.get_by_role("button", name="保存价格").click()
    await expect(
        page.get_by_text(f"已保存「{tenant.distributor.name} · B 类门店」的价格")
    ).to_be_visible()
    await choose(page, "查看经销商", tenant.distributor.name)
    await choose(page, "查看门店等级", "B 类门店")
    seen = page.get_by_test_id("store-ladder")
    await expect(seen).to_contain_text("¥269.00")
    await expect(seen).to_contain_text("¥249.00")
    await expect(seen).to_contain_text("经销商等级价 · 40起")
    supply = page.get_by_test_id("supply-table")
    switch = page.get_by_role("switch", name=f"供货 {tenant.distributor.name}")
    await supply.locator(".el-switch").filter(has=switch).click()
    await expect(page.get_by_text(f"「{tenant.distributor.name}」已开始供货")).to_be_visible()
    await still_shot(page, "catalog-4-prices")
    await context.close()

    entries = await PriceEntry.filter(sku_id=pull.id).order_by("min_qty")
    assert [(e.distributor_id, e.store_tier, e.min_qty, e.unit_price_fen) for e in entries] == [  # type: ignore[attr-defined]
        (tenant.distributor.id, "B", 4, 26_900),
        (tenant.distributor.id, "B", 40, 24_900),
    ]
    # A B-tier store of that distributor sees and is quoted those prices; a C-tier one is not.
    for tier, catalog_price, quoted_price in (("B", 26_900, 24_900), ("C", 29_900, 29_900)):
        store = await make_store(tenant, tier=tier)
        owner = bearer(await store_owner(client, sandbox_client, store))
        listed = await client.get(
            "/api/v1/catalog/skus", params={"product_id": product.id}, headers=owner
        )
        shown = {item["id"]: item for item in listed.json()["items"]}
        assert shown[pull.id]["unit_price_fen"] == catalog_price, tier
        quoted = await client.post(
            "/api/v1/quote", json={"lines": [{"sku_id": pull.id, "quantity": 40}]}, headers=owner
        )
        assert quoted.json()["lines"][0]["unit_price_fen"] == quoted_price, tier

    # Distributor staff reach none of these pages.
    username = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, username, f"/catalog/skus/{pull.id}")
    await expect(page.get_by_text("无权访问")).to_be_visible()
    await expect(page.get_by_role("link", name="商品分类")).to_have_count(0)
    await context.close()
