"""Display programs (陈列活动) in a real browser. A brand admin sets a program up through the
form (its own checks first, the check dates previewed, a voucher reward), publishes it and
reads it; once a store has signed, only the budget, the places and the sign-up deadline stay
open, and the signed agreement prints. In the review queue the photos two stores took are
approved (the reward paid) and rejected (a reason required), the next one selected each time;
a submission a colleague decided first is refused in the server's words. Distributor staff read
the programs and reach neither the form nor the queue."""

from __future__ import annotations

import io
import random
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from backend.coupons.models import CouponTemplate
from backend.display.models import DisplayCheck, DisplayProgram, DisplayReward, DisplaySubmission
from backend.identity.models import Role
from backend.org.models import Region
from tests.console_browser import SHOTS, browser, needs_browser, signed_in  # noqa: F401
from tests.factories import Shop, idempotent, make_shop, make_staff, make_store, store_owner
from tests.test_console_coupons import confirm, search_and_choose
from tests.test_console_org import still_shot
from tests.test_coupons import reduction_coupon, template
from tests.test_promotions_admin import admin

pytestmark = needs_browser

API = "/api/v1/display"
CHINA = timedelta(hours=8)
AGREEMENT = (
    "乙方同意在活动期间按陈列标准陈列甲方商品，"
    "并按检查安排在小程序内现场拍照上报；检查通过后甲方发放奖励。"
)


def china_text(moment: datetime) -> str:
    return (moment.astimezone(UTC) + CHINA).strftime("%Y-%m-%d %H:%M")


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A bright, sharp picture of its own (random blocks): no two seeds look alike."""
    rng = random.Random(seed)
    picture = Image.new("RGB", size, (200, 200, 200))
    draw = ImageDraw.Draw(picture)
    block = 32
    for x in range(0, size[0], block):
        for y in range(0, size[1], block):
            colour = (rng.randrange(60, 256), rng.randrange(60, 256), rng.randrange(60, 256))
            draw.rectangle((x, y, x + block - 1, y + block - 1), fill=colour)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    return out.getvalue()


async def pick_option(page: Page, label: str, text: str) -> None:
    """Opens the Element Plus select labelled `label` and picks the option containing `text`."""
    combobox = page.get_by_role("combobox", name=label, exact=True)
    await page.locator(".el-select__wrapper").filter(has=combobox).click()
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .filter(has_text=text)
        .first.click()
    )


async def shot(page: Page, name: str, *, dialog: bool = False) -> None:
    """From the top of the page (the header is sticky), once everything has faded in; with a
    dialog open, the screen only (its mask covers the screen, not the whole page)."""
    if not dialog:
        await page.evaluate("window.scrollTo(0, 0)")
        await still_shot(page, name)
        return
    await page.evaluate(
        "Promise.all(document.getAnimations()"
        ".filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)"
        ".map((a) => a.finished.catch(() => null)))"
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def fill_date(page: Page, placeholder: str, moment: datetime) -> None:
    box = page.get_by_placeholder(placeholder, exact=True)
    await box.fill(china_text(moment))
    await box.press("Enter")


def program_body(shop: Shop, now: datetime, **overrides: Any) -> dict[str, Any]:
    """A program whose first check is open now: one check, two photos, ¥5 cash per pass."""
    body: dict[str, Any] = {
        "name": "冰柜门陈列",
        "standard": "冰柜门正面张贴活动海报；第一层整层陈列本品，不少于 6 个排面。",
        "sample_photos": [],
        "sku_ids": [shop.water],
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "signup_from": (now - timedelta(hours=2)).isoformat(),
        "signup_until": (now + timedelta(days=2)).isoformat(),
        "first_check_at": (now - timedelta(hours=1)).isoformat(),
        "check_count": 1,
        "check_interval_days": 7,
        "check_window_days": 3,
        "photos_required": 2,
        "distance_limit_m": 300,
        "check_reward": {"kind": "cash", "amount": 500, "template_id": None, "value_fen": 0},
        "completion_reward": None,
        "budget_fen": 100_000,
        "max_stores": 10,
        "salesperson_reviews_first": False,
        "agreement_text": AGREEMENT,
    }
    body.update(overrides)
    return body


async def published(client: httpx.AsyncClient, brand: dict[str, str], body: dict[str, Any]) -> Any:
    response = await client.post(
        f"{API}/programs",
        json=body,
        headers={**brand, "Idempotency-Key": f"program-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.text
    program_id = response.json()["id"]
    response = await client.post(f"{API}/programs/{program_id}/publish", headers=brand)
    assert response.status_code == 200, response.text
    return response.json()


async def signed(
    client: httpx.AsyncClient, owner: dict[str, Any], program: dict[str, Any], name: str
) -> Any:
    response = await client.post(
        f"{API}/programs/{program['id']}/sign",
        json={
            "signer_name": name,
            "agreement_version": program["agreement_version"],
            "agreed": True,
        },
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def submitted(
    client: httpx.AsyncClient,
    owner: dict[str, Any],
    check_id: int,
    seeds: tuple[int, int],
    at: tuple[float, float] | None,
) -> Any:
    """Two photos taken now (at `at`, or with no location) submitted for the check."""
    ids = []
    for seed in seeds:
        form: dict[str, str] = {"taken_at": datetime.now(UTC).isoformat()}
        if at is not None:
            form |= {"latitude": str(at[0]), "longitude": str(at[1])}
        response = await client.post(
            f"{API}/photos",
            files={"file": (f"shelf-{seed}.jpg", photo(seed), "image/jpeg")},
            data=form,
            headers=idempotent(owner),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    response = await client.post(
        f"{API}/checks/{check_id}/submissions",
        json={"photo_ids": ids},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_brand_sets_up_publishes_and_reads_a_display_program(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    live_api,  # uploaded sample photos are served at the public base URL
    client,
    sandbox_client,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    voucher = await template(
        client,
        shop,
        reduction_coupon(
            name="滤芯兑换券",
            kind="exchange",
            terms={"exchange": [{"sku_id": shop.filters, "quantity": 2}]},
        ),
    )
    context, page = await signed_in(browser, platform_url, tenant.admin_username, "/display")
    await expect(page.get_by_role("heading", name="陈列活动")).to_be_visible()
    await expect(page.get_by_text("还没有陈列活动")).to_be_visible()
    await page.get_by_test_id("new-program").click()
    await expect(page.get_by_role("heading", name="新建陈列活动")).to_be_visible()

    # The form's own checks, before anything is sent.
    await page.get_by_test_id("save").click()
    await expect(page.get_by_text("请填写活动名称")).to_be_visible()
    await expect(page.get_by_text("请至少选择一个陈列商品")).to_be_visible()
    await expect(page.get_by_text("请选择报名开始和截止时间")).to_be_visible()
    assert await DisplayProgram.all().count() == 0

    now = datetime.now(UTC)
    await page.get_by_label("活动名称", exact=True).fill("冰柜门陈列 · 冬季")
    await page.get_by_label("陈列标准").fill(
        "冰柜门正面张贴活动海报；第一层整层陈列本品，不少于 6 个排面。"
    )
    await page.get_by_label("上传示例照片").set_input_files(
        {"name": "sample.jpg", "mimeType": "image/jpeg", "buffer": photo(1)}
    )
    await expect(page.get_by_test_id("sample-photos").locator(".el-image")).to_have_count(1)
    await search_and_choose(page, "陈列商品", "RO-500")
    await page.get_by_label("陈列标准").click()  # closes the list
    await fill_date(page, "报名开始", now - timedelta(hours=1))
    await fill_date(page, "报名截止", now + timedelta(days=3))
    await fill_date(page, "第一次检查开始", now + timedelta(days=1))
    await page.get_by_label("陈列标准").click()
    # The default schedule, 8 checks a week apart, each 3 days long, laid out as it is typed.
    preview = page.get_by_test_id("schedule-preview")
    await expect(preview.locator(".el-table__body tr")).to_have_count(8)
    await expect(preview.locator(".el-table__body tr").first).to_contain_text(
        china_text(now + timedelta(days=1))
    )

    # Per check: one exchange voucher worth ¥30; on completion: ¥50 cash.
    check_reward = page.locator("[data-reward='每次检查通过']")
    await check_reward.get_by_text("兑换券", exact=True).click()
    await pick_option(page, "每次检查通过兑换券", "滤芯兑换券")
    await page.get_by_label("每次检查通过每张价值").fill("30")
    completion = page.locator("[data-reward='全部完成']")
    await completion.locator("label.el-checkbox").click()
    await page.get_by_label("全部完成现金").fill("50")
    await expect(page.locator("[data-reward-preview='每次检查通过']")).to_contain_text(
        "兑换券 1 张（价值 ¥30.00）"
    )
    await page.get_by_label("活动预算").fill("10000")
    await page.get_by_label("协议内容").fill(AGREEMENT)
    await expect(page.get_by_test_id("budget-note")).to_contain_text(
        "每家门店全部完成最多花费 ¥290.00"
    )
    await shot(page, "display-1-new")

    # What only the server knows: the voucher was stopped meanwhile. Its words show at the reward.
    await CouponTemplate.filter(id=voucher["id"]).update(status="ended")
    await page.get_by_test_id("save").click()
    await expect(page.get_by_test_id("refusal")).to_be_visible()
    reward_item = page.locator(".el-form-item").filter(has=check_reward)
    await expect(reward_item.locator(".el-form-item__error")).to_be_visible()
    assert await DisplayProgram.all().count() == 0
    await shot(page, "display-2-refused")
    await CouponTemplate.filter(id=voucher["id"]).update(status="active")
    await page.get_by_test_id("save").click()

    # The draft: not yet seen by stores; published, it opens for signing.
    await expect(page).to_have_url(re.compile(r"#/display/\d+$"))
    [program] = await DisplayProgram.all()
    assert (program.status, program.budget_fen, program.check_count) == ("draft", 1_000_000, 8)
    reward = program.check_reward or {}
    assert (reward["kind"], reward["amount"], reward["template_id"], reward["value_fen"]) == (
        "voucher",
        1,
        voucher["id"],
        3000,
    )
    assert (program.completion_reward or {})["amount"] == 5000
    await expect(page.get_by_test_id("phase")).to_have_text("草稿")
    await expect(page.get_by_test_id("schedule").locator(".el-table__body tr")).to_have_count(8)
    await page.locator("[data-action='publish']").click()
    await confirm(page, "发布")
    await expect(page.get_by_test_id("phase")).to_have_text("报名中")
    assert (await DisplayProgram.get(id=program.id)).status == "published"
    assert await DisplayCheck.filter(program_id=program.id).count() == 8
    await expect(page.locator("[data-figure='signed']")).to_have_text("0 / 100")
    await shot(page, "display-3-published")

    # A store signs while the brand edits: the renamed terms are refused in the server's words,
    # and the form then offers only what may still change.
    await page.locator("[data-action='edit']").click()
    await expect(page.get_by_role("heading", name="编辑陈列活动")).to_be_visible()
    owner = await store_owner(client, sandbox_client, tenant.store)
    view = (
        await client.get(f"{API}/programs/{program.id}", headers=await admin(client, shop))
    ).json()
    signing = await signed(client, owner, view, "张老板")
    await page.get_by_label("活动名称", exact=True).fill("冰柜门陈列 · 加码")
    await page.get_by_test_id("save").click()
    await expect(page.get_by_test_id("refusal")).to_contain_text("已有门店签约")
    assert (await DisplayProgram.get(id=program.id)).name == "冰柜门陈列 · 冬季"
    await expect(page.get_by_test_id("locked-note")).to_contain_text(
        "已有门店签约，其余条款不可修改"
    )
    await expect(page.get_by_label("活动名称", exact=True)).to_be_disabled()
    await expect(page.get_by_label("协议内容")).to_be_disabled()
    await page.get_by_label("活动预算").fill("20000")
    await shot(page, "display-4-limited")
    await page.get_by_test_id("save").click()
    await expect(page).to_have_url(re.compile(rf"#/display/{program.id}$"))
    after = await DisplayProgram.get(id=program.id)
    assert (after.budget_fen, after.name, after.agreement_version) == (
        2_000_000,
        "冰柜门陈列 · 冬季",
        1,
    )

    # The signed stores, and the agreement each signed, printed.
    await page.get_by_role("tab", name=re.compile("签约门店")).click()
    row = page.get_by_test_id("signings").locator(".el-table__body tr").first
    await expect(row).to_contain_text(tenant.store.name)
    await expect(row).to_contain_text("张老板")
    await shot(page, "display-5-signings")
    async with page.expect_download() as exported:
        await page.get_by_test_id("export").click()
        await page.locator(".el-dropdown-menu:visible [data-export='signings']").click()
    assert (await exported.value).suggested_filename.endswith(".xlsx")
    await page.get_by_role("link", name="陈列活动", exact=True).click()
    listed = page.get_by_test_id("programs-table").locator(".el-table__body tr").first
    await expect(listed).to_contain_text("报名中")
    await expect(listed).to_contain_text("1 / 100 家")
    await expect(listed).to_contain_text("¥0.00 / ¥20,000.00")
    await shot(page, "display-0-list")
    await page.goto(f"{platform_url}/console#/display/signings/{signing['id']}/print")
    sheet = page.get_by_test_id("agreement")
    await expect(sheet.get_by_role("heading", name="陈列协议")).to_be_visible()
    await expect(sheet).to_contain_text(tenant.store.name)
    await expect(sheet).to_contain_text("张老板（小程序电子签署）")
    await expect(sheet).to_contain_text("兑换券 1 张（价值 ¥30.00）")
    await expect(sheet.get_by_test_id("agreement-text")).to_have_text(AGREEMENT)
    await shot(page, "display-6-agreement")
    await context.close()

    # Distributor staff read the program and reach neither the form nor the queue.
    dealer = await make_staff(tenant.brand.id, Role.DISTRIBUTOR_ADMIN, tenant.distributor.id)
    context, page = await signed_in(browser, platform_url, dealer, "/display")
    await expect(page.locator(f"[data-program='{program.id}']")).to_be_visible()
    await expect(page.get_by_test_id("new-program")).to_have_count(0)
    await expect(page.get_by_role("navigation").get_by_text("陈列审核", exact=True)).to_have_count(
        0
    )
    await page.locator(f"[data-program='{program.id}']").click()
    await expect(page.get_by_role("heading", name="冰柜门陈列 · 冬季")).to_be_visible()
    await expect(page.locator("[data-figure='signed']")).to_have_text("1 / 100")
    await expect(page.locator("[data-action]")).to_have_count(0)  # no 编辑, 发布 or 结束
    await shot(page, "display-11-distributor")
    for path in ("/display/new", "/display/reviews", f"/display/{program.id}/edit"):
        await page.goto(f"{platform_url}/console#{path}")
        await expect(page.get_by_text("无权访问")).to_be_visible()
    await context.close()


async def test_the_review_queue_approves_rejects_and_refuses_a_decided_one(
    browser,  # noqa: F811 (the fixture)
    platform_url,
    live_api,  # the photos are served at the public base URL
    client,
    sandbox_client,
) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    brand = await admin(client, shop)
    now = datetime.now(UTC)
    # The brand's sample photo, shown beside each store's photos.
    sample = await client.post(
        "/api/v1/uploads/images",
        files={"file": ("sample.jpg", photo(99), "image/jpeg")},
        headers=brand,
    )
    assert sample.status_code == 201, sample.text
    body = program_body(shop, now, sample_photos=[sample.json()])
    program = await published(client, brand, body)
    check_id = program["checks"][0]["id"]
    here = (30.2741, 120.1551)
    stores = [
        tenant.store,
        await make_store(tenant, name="李家小超市"),
        await make_store(tenant, name="王姐副食店"),
    ]
    region = await Region.create(brand=tenant.brand, name="西湖区")
    for store in stores:
        store.latitude, store.longitude = here
        store.region = region if store is stores[2] else None  # type: ignore[assignment]
        await store.save()
    submissions = []
    for index, store in enumerate(stores):
        owner = await store_owner(client, sandbox_client, store)
        await signed(client, owner, program, f"店主{index}")
        # The second store took its photos about 600 m away: still for a person to judge.
        at = (here[0] + 0.0054, here[1]) if index == 1 else here
        submissions.append(
            await submitted(client, owner, check_id, (10 * index + 1, 10 * index + 2), at)
        )
    assert [s["status"] for s in submissions] == ["review"] * 3

    context, page = await signed_in(
        browser, platform_url, tenant.admin_username, "/display/reviews"
    )
    queue = page.get_by_test_id("review-queue")
    await expect(queue.locator(".el-table__body tr")).to_have_count(3)
    item = page.get_by_test_id("review-item")
    await expect(item.get_by_role("heading", name=stores[0].name)).to_be_visible()
    await expect(item.locator("[data-photo]")).to_have_count(2)
    await expect(item).to_contain_text("冰柜门正面张贴活动海报")
    await expect(item.locator(".samples .el-image")).to_have_count(1)
    await expect(item.get_by_alt_text("示例照片 1")).to_be_visible()
    await expect(item).to_contain_text("距门店")
    await shot(page, "display-7-review")

    # Approved: paid at once, and the next store is up.
    await page.get_by_test_id("approve").click()
    await expect(page.locator(".el-message--success").last).to_contain_text("已确认通过")
    await expect(item.get_by_role("heading", name=stores[1].name)).to_be_visible()
    first = await DisplaySubmission.get(id=submissions[0]["id"])
    assert first.status == "passed"
    assert await DisplayReward.filter(submission_id=first.id).count() == 1
    await expect(item.locator("[data-reason='too_far']")).to_contain_text("（照片 1、2）")
    await shot(page, "display-8-too-far")

    # Rejected: a reason is required, and the store reads it.
    await page.get_by_test_id("reject").click()
    dialog = page.get_by_role("dialog", name=f"驳回：{stores[1].name}")
    await dialog.get_by_role("button", name="驳回").click()
    await expect(dialog.get_by_text("请填写 2–200 字的驳回原因")).to_be_visible()
    await dialog.get_by_label("驳回原因").fill("排面数量不足，请补足 6 个排面后重拍")
    await shot(page, "display-9-reject", dialog=True)
    await dialog.get_by_role("button", name="驳回").click()
    await expect(page.locator(".el-message--success").last).to_contain_text("已驳回")
    second = await DisplaySubmission.get(id=submissions[1]["id"])
    assert (second.status, second.review_reason) == (
        "rejected",
        "排面数量不足，请补足 6 个排面后重拍",
    )
    await expect(item.get_by_role("heading", name=stores[2].name)).to_be_visible()

    # A colleague approved the last one meanwhile: the server's words, and the queue reloads.
    response = await client.post(
        f"{API}/submissions/{submissions[2]['id']}/approve", json={"note": ""}, headers=brand
    )
    assert response.status_code == 200, response.text
    await page.get_by_test_id("approve").click()
    await expect(page.locator(".el-message--warning").last).to_be_visible()
    await expect(page.get_by_text("没有待审核的陈列照片")).to_be_visible()
    await shot(page, "display-10-queue-empty")

    # The first store's photos again, for another program's check: not failed (an unchanged
    # display looks the same a week later) but shown beside the store's earlier photos.
    again = await published(client, brand, program_body(shop, now, name="端架陈列"))
    owner = await store_owner(client, sandbox_client, stores[0])
    await signed(client, owner, again, "店主0")
    repeat = await submitted(client, owner, again["checks"][0]["id"], (1, 2), here)
    assert repeat["status"] == "review"
    await page.reload()
    await expect(item.get_by_role("heading", name=stores[0].name)).to_be_visible()
    await expect(item.locator("[data-reason='duplicate']")).to_contain_text("第 1 次检查")
    earlier = item.get_by_test_id("earlier-photos")
    await expect(earlier.locator("[data-earlier]")).to_have_count(2)
    await expect(earlier.locator("[data-earlier]").first).to_contain_text("与照片 1 相似")
    await expect(earlier.locator("[data-earlier]").first).to_contain_text(
        "冰柜门陈列 · 第 1 次检查"
    )
    await shot(page, "display-10b-earlier-photos")
    await page.get_by_test_id("approve").click()
    await expect(page.get_by_text("没有待审核的陈列照片")).to_be_visible()

    # The brand ends the program early: no more signing, no check due any more.
    await page.goto(f"{platform_url}/console#/display/{program['id']}")
    await page.locator("[data-action='end']").click()
    await confirm(page, "结束")
    await expect(page.get_by_test_id("phase")).to_have_text("已结束")
    assert (await DisplayProgram.get(id=program["id"])).status == "ended"
    await expect(page.locator("[data-figure='passed']")).to_have_text("2")
    # The figures by distributor and by region: one distributor, two regions (one unnamed).
    await page.get_by_role("tab", name="按经销商").click()
    by_distributor = page.get_by_test_id("by-distributor").locator(".el-table__body tr")
    await expect(by_distributor).to_have_count(1)
    await expect(by_distributor.first).to_contain_text(tenant.distributor.name)
    await shot(page, "display-12-by-distributor")
    await page.get_by_role("tab", name="按区域").click()
    by_region = page.get_by_test_id("by-region").locator(".el-table__body tr")
    await expect(by_region).to_have_count(2)
    await expect(page.get_by_test_id("by-region")).to_contain_text("西湖区")
    await expect(page.get_by_test_id("by-region")).to_contain_text("未分区域")
    await shot(page, "display-13-by-region")
    await context.close()
