"""门店库存与动销 (一物一码) in a real browser. Stores' stock by SKU from their code scans,
seeded as the scans leave it (boxes received by stores, items sold, the stores' counters),
read by brand staff with the distributor filter and the figures per SKU and per distributor
(a distributor's row opens its stores' stock), and by a distributor's admin, who sees only
its own stores and no brand figures. Another brand's stock never shows. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Page, expect

from backend.codes.models import (
    BatchStatus,
    CodeBatch,
    CodeKind,
    DiversionAlert,
    DiversionReason,
    ProductCode,
    StoreCodeStock,
)
from backend.codes.tokens import new_tokens
from backend.identity.models import Role
from backend.org.models import Store
from tests.console_browser import browser, choose, needs_browser, signed_in  # noqa: F401
from tests.factories import Shop, make_shop, make_staff, make_store
from tests.test_console_stock_stores import still_shot

pytestmark = needs_browser

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)


@dataclass
class Seeded:
    shop: Shop
    a: Store  # the shop's store (distributor 1)
    b: Store  # another store of distributor 1
    c: Store  # a store of the other distributor


async def batch_of(
    shop: Shop, sku_id: int, batch_no: str, receivers: list[Store | None], per_box: int
) -> list[ProductCode]:
    """A ready batch with one box per entry of `receivers` (the store that received it),
    each box shipped to the receiver's distributor. Returns the boxes."""
    brand = shop.tenant.brand
    batch = await CodeBatch.create(
        brand=brand,
        sku_id=sku_id,
        batch_no=batch_no,
        boxes=len(receivers),
        items_per_box=per_box,
        status=BatchStatus.READY.value,
        written=len(receivers) * (per_box + 1),
        ready_at=NOW,
    )
    tokens = iter(new_tokens(len(receivers) * (per_box + 1)))
    boxes = []
    for n, store in enumerate(receivers, start=1):
        box = await ProductCode.create(
            brand=brand,
            batch=batch,
            kind=CodeKind.BOX.value,
            token=next(tokens),
            serial=n,
            distributor_id=store.distributor_id if store else None,  # type: ignore[attr-defined]
            store=store,
            received_at=NOW if store else None,
        )
        await ProductCode.bulk_create(
            [
                ProductCode(
                    brand=brand,
                    batch=batch,
                    kind=CodeKind.ITEM.value,
                    token=next(tokens),
                    serial=(n - 1) * per_box + i,
                    box=box,
                )
                for i in range(1, per_box + 1)
            ]
        )
        boxes.append(box)
    return boxes


async def sell(box: ProductCode, count: int) -> None:
    items = await ProductCode.filter(box=box).order_by("serial").limit(count)
    await ProductCode.filter(id__in=[i.id for i in items]).update(
        sold_at=NOW,
        store_id=box.store_id,  # type: ignore[attr-defined]
    )


async def stock(store: Store, sku_id: int, received: int, sold: int) -> None:
    await StoreCodeStock.create(
        brand_id=store.brand_id,  # type: ignore[attr-defined]
        store=store,
        sku_id=sku_id,
        received=received,
        sold=sold,
        updated_at=NOW,
    )


async def seed() -> Seeded:
    """Water: 4 boxes of 12 (A received two and sold 5, B one, C — the other distributor's
    store — one and sold 6); filters: 1 box of 10 received and sold out by A. One diversion
    alert: B's box surfaced at C."""
    shop = await make_shop()
    tenant = shop.tenant
    a = tenant.store
    b = await make_store(tenant, name="孙家小店")
    c = await make_store(tenant, name="城西水站", distributor=tenant.other_distributor)
    await Store.filter(id=a.id).update(name="赵记水站")
    a = await Store.get(id=a.id)
    water = await batch_of(shop, shop.water, "20261201", [a, a, b, c], 12)
    filters = await batch_of(shop, shop.filters, "20261202", [a], 10)
    await sell(water[0], 5)
    await sell(water[3], 6)
    await sell(filters[0], 10)
    await stock(a, shop.water, 24, 5)
    await stock(a, shop.filters, 10, 10)
    await stock(b, shop.water, 12, 0)
    await stock(c, shop.water, 12, 6)
    await DiversionAlert.create(
        brand=tenant.brand,
        code=water[2],
        box=water[2],
        batch_id=water[2].batch_id,  # type: ignore[attr-defined]
        distributor=tenant.distributor,
        store=c,
        store_distributor=tenant.other_distributor,
        reason=DiversionReason.OTHER_DISTRIBUTOR.value,
        scan_action="receive",
        created_at=NOW,
    )
    return Seeded(shop, a, b, c)


def stock_row(page: Page, store: Store, sku_id: int) -> Any:
    table = page.get_by_test_id("store-stock-table")
    return table.locator(f"tr:has([data-store='{store.id}']):has([data-sku='{sku_id}'])")


async def test_brand_staff_read_stores_stock_and_the_figures(
    browser,  # noqa: F811 (the fixture)
    platform_url,
) -> None:
    seeded = await seed()
    shop, a, b, c = seeded.shop, seeded.a, seeded.b, seeded.c
    # Another brand's store with stock: never shown here.
    other = await make_shop()
    await stock(other.tenant.store, other.water, 99, 1)

    context, page = await signed_in(
        browser, platform_url, shop.tenant.admin_username, "/codes/store-stock"
    )
    await expect(page.get_by_role("heading", name="门店库存与动销")).to_be_visible()
    water_a = stock_row(page, a, shop.water)
    await expect(water_a.get_by_test_id("received")).to_have_text("24")
    await expect(water_a.get_by_test_id("sold")).to_have_text("5")
    await expect(water_a.get_by_test_id("on-hand")).to_have_text("19")
    await expect(water_a.get_by_test_id("sell-through")).to_have_text("21%")
    await expect(water_a).to_contain_text(shop.tenant.distributor.name)
    filters_a = stock_row(page, a, shop.filters)
    await expect(filters_a.get_by_test_id("on-hand")).to_have_text("0")
    await expect(filters_a.get_by_test_id("sell-through")).to_have_text("100%")
    await expect(stock_row(page, b, shop.water).get_by_test_id("sell-through")).to_have_text("0%")
    await expect(stock_row(page, c, shop.water).get_by_test_id("on-hand")).to_have_text("6")
    table = page.get_by_test_id("store-stock-table")
    await expect(table).not_to_contain_text(other.tenant.store.name)
    await expect(table).to_contain_text("RO-500")
    await still_shot(page, "codes-stock-1-stores")

    # One distributor's stores.
    await choose(page, "经销商", shop.tenant.other_distributor.name)
    await expect(stock_row(page, c, shop.water)).to_be_visible()
    await expect(stock_row(page, a, shop.water)).to_have_count(0)
    assert f"distributor_id={shop.tenant.other_distributor.id}" in page.url

    # The figures per SKU and per distributor.
    await page.get_by_role("tab", name="动销概览").click()
    totals = page.get_by_test_id("figure-totals")
    await expect(totals).to_contain_text("63")  # 4×13 + 1×11 codes
    await expect(totals).to_contain_text("生成码数")
    by_sku = page.get_by_test_id("figures-by-sku")
    water = by_sku.locator(f"tr:has([data-sku='{shop.water}'])")
    await expect(water).to_contain_text("52")  # codes made
    await expect(water).to_contain_text("11")  # items sold
    by_distributor = page.get_by_test_id("figures-by-distributor")
    await expect(by_distributor).to_contain_text(shop.tenant.distributor.name)
    await expect(by_distributor).to_contain_text(shop.tenant.other_distributor.name)
    await expect(page.get_by_text(other.tenant.distributor.name)).to_have_count(0)
    await still_shot(page, "codes-stock-2-figures")

    # A distributor's row opens its stores' stock.
    await by_distributor.get_by_role("button", name=shop.tenant.distributor.name).click()
    stock_tab = page.get_by_role("tab", name="门店库存")
    await expect(stock_tab).to_have_attribute("aria-selected", "true")
    await expect(stock_row(page, a, shop.water)).to_be_visible()
    await expect(stock_row(page, b, shop.water)).to_be_visible()
    await expect(stock_row(page, c, shop.water)).to_have_count(0)
    await context.close()


async def test_a_distributor_sees_only_its_own_stores_and_no_brand_figures(
    browser,  # noqa: F811 (the fixture)
    platform_url,
) -> None:
    seeded = await seed()
    shop = seeded.shop
    username = await make_staff(
        shop.tenant.brand.id, Role.DISTRIBUTOR_ADMIN, shop.tenant.distributor.id
    )
    context, page = await signed_in(browser, platform_url, username, "/codes/store-stock")
    await expect(page.get_by_role("heading", name="门店库存与动销")).to_be_visible()
    await expect(stock_row(page, seeded.a, shop.water).get_by_test_id("on-hand")).to_have_text("19")
    await expect(stock_row(page, seeded.b, shop.water)).to_be_visible()
    await expect(stock_row(page, seeded.c, shop.water)).to_have_count(0)
    await expect(page.get_by_role("tab", name="动销概览")).to_have_count(0)
    await expect(page.get_by_role("combobox", name="经销商", exact=True)).to_have_count(0)

    # Narrowed to one SKU.
    await choose(page, "商品", "澜泉 RO 净水器 · 滤芯")
    await expect(stock_row(page, seeded.a, shop.filters)).to_be_visible()
    await expect(stock_row(page, seeded.a, shop.water)).to_have_count(0)
    await still_shot(page, "codes-stock-3-distributor")
    await context.close()
