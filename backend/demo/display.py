"""Demo display programs (陈列有礼), made through the display services with photos drawn here
with Pillow, so a newcomer sees every state: a program in its sign-up window with checks
waiting for review (the salesperson may look first), one passed and paid in
vouchers, one rejected, one failed as a copy of another store's photo and one taken far from
its store; a running program the demo owner signed weeks ago, two checks passed and paid in
points, the third open now; and a draft.

Past steps are taken by passing the services the moment they happened (`now`), as the
services themselves take the time from their caller."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from backend.catalog.models import Sku
from backend.coupons.models import CouponTemplate
from backend.demo.claims import VOUCHER_NAME
from backend.demo.orders import become_owner
from backend.display import review as display_review
from backend.display import service as display_service
from backend.display import submissions as display_submissions
from backend.identity.models import User
from backend.identity.tokens import Principal
from backend.org.models import Salesperson, Store
from backend.uploads import service as uploads_service

EVERYONE: dict[str, list[Any]] = {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []}
AGREEMENT = (
    "一、门店同意在活动期间按陈列标准陈列品牌指定商品，并按检查计划在小程序内拍照上报。\n"
    "二、每次检查须在规定时间内、在本门店内拍摄，照片须真实清晰，不得翻拍、转发他人照片。\n"
    "三、检查通过后，奖励直接发放至门店账户；兑换券仅限本门店自行下单使用。\n"
    "四、照片经核实存在造假的，品牌有权取消本门店的活动资格并收回已发放的奖励。\n"
    "五、本协议自门店在线签署之日起生效，至最后一次检查结束时终止。"
)
DAY = timedelta(days=1)


def shelf_photo(seed: int) -> bytes:
    """A shelf-like picture: rows of boxes in random colours and sizes on a light wall, with
    enough edges to be sharp and a layout of its own, so no two seeds look alike."""
    rng = random.Random(seed)  # noqa: S311 - demo pictures, reproducible on purpose
    image = Image.new("RGB", (640, 480), (rng.randint(200, 245),) * 3)
    draw = ImageDraw.Draw(image)
    for band in range(rng.randint(2, 4)):
        top = 40 + band * rng.randint(100, 140)
        draw.rectangle((0, top + 90, 640, top + 100), fill=(90, 70, 50))
        left = rng.randint(0, 60)
        while left < 600:
            width = rng.randint(30, 90)
            colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
            draw.rectangle((left, top + rng.randint(0, 40), left + width, top + 90), fill=colour)
            left += width + rng.randint(4, 30)
    for _ in range(rng.randint(3, 8)):  # price tags and posters at random places
        x, y = rng.randint(0, 600), rng.randint(0, 440)
        draw.ellipse((x, y, x + rng.randint(20, 80), y + rng.randint(20, 60)), fill=(230, 40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def _owner_of(store: Store) -> Principal:
    return await become_owner(store, await User.create(display_name=store.contact_name))


async def _report(
    deps: Any,
    owner: Principal,
    store: Store,
    check_id: int,
    *,
    seeds: list[int],
    at: datetime,
    far: bool = False,
) -> dict[str, Any]:
    """The store takes and uploads its photos a few minutes before `at`, then submits."""
    offset = 0.005 if far else 0.0003  # about 700 m, or about 30 m, from the store
    photo_ids = []
    for seed in seeds:
        form = {
            "taken_at": (at - timedelta(minutes=5)).isoformat(),
            "latitude": str((store.latitude or 30.25) + offset),
            "longitude": str((store.longitude or 120.16) + offset),
        }
        photo = await display_submissions.upload_photo(
            deps, owner, shelf_photo(seed), form, now=at - timedelta(minutes=4)
        )
        photo_ids.append(int(photo["id"]))
    return await display_submissions.submit(deps, owner, check_id, photo_ids, now=at)


def _program(name: str, start: datetime, **changes: Any) -> dict[str, Any]:
    """A program's body: the demo's common terms, then `changes`."""
    return {
        "name": name,
        "standard": "冷柜正面第一层整层陈列品牌滤芯，价签朝外，品牌贴纸清晰可见。",
        "sample_photos": [],
        "sku_ids": [],
        "audience": EVERYONE,
        "signup_from": start,
        "signup_until": start + 5 * DAY,
        "first_check_at": start + DAY,
        "check_count": 4,
        "check_interval_days": 7,
        "check_window_days": 5,
        "photos_required": 2,
        "distance_limit_m": 300,
        "check_reward": None,
        "completion_reward": None,
        "budget_fen": 500_000,
        "max_stores": 50,
        "salesperson_reviews_first": False,
        "agreement_text": AGREEMENT,
        **changes,
    }


async def seed_display(deps: Any, brand: Principal, owner: Principal, now: datetime) -> list[str]:
    """The demo programs; their names."""
    assert brand.brand_id is not None and owner.store_id is not None
    skus = await Sku.filter(brand_id=brand.brand_id).order_by("id").limit(2)
    voucher = await CouponTemplate.get(brand_id=brand.brand_id, name=VOUCHER_NAME)
    others = await Store.filter(brand_id=brand.brand_id, owner_id=None).order_by("id").limit(40)
    owner_store = await Store.get(id=owner.store_id)
    sku_ids = [sku.id for sku in skus]
    # The standard's sample photos, uploaded as brand staff upload them in the console.
    samples = [
        await uploads_service.upload_image(deps, brand, shelf_photo(seed)) for seed in (7, 8)
    ]

    # Running for two weeks: the owner and three stores signed; two checks have closed.
    began = now - 16 * DAY - timedelta(hours=2)  # so that its third check opened just now
    running = await display_service.create_program(
        brand,
        _program(
            "端架陈列 · 滤芯专区",
            began,
            sample_photos=samples,
            sku_ids=sku_ids,
            signup_until=began + 5 * DAY,
            first_check_at=began + 2 * DAY,
            check_reward={"kind": "points", "amount": 300, "template_id": None, "value_fen": 0},
            completion_reward={
                "kind": "cash",
                "amount": 5_000,
                "template_id": None,
                "value_fen": 0,
            },
            standard="门店入口端架整架陈列品牌滤芯，至少 3 层，每层不少于 6 个排面。",
        ),
        now=began,
    )
    await display_service.publish_program(brand, running["id"], now=began)
    program = await display_service.get_program(brand, running["id"], now=now)
    checks = [int(check["id"]) for check in program["checks"]]
    signers = [(owner, owner_store)] + [(await _owner_of(s), s) for s in others[:3]]
    for number, (signer, store) in enumerate(signers):
        await display_service.sign(
            signer,
            running["id"],
            signer_name=store.contact_name or "店主",
            agreement_version=1,
            now=began + DAY + number * timedelta(hours=3),
        )
    for seq, check_id in enumerate(checks[:2]):
        opened = began + 2 * DAY + seq * 7 * DAY
        for number, (signer, store) in enumerate(signers):
            if seq == 1 and number == 3:
                continue  # this store missed the second check
            at = opened + DAY + number * timedelta(hours=2)
            if seq == 1 and number == 0:  # the owner's first try was refused, then retaken
                refused = await _report(deps, signer, store, check_id, seeds=[1900, 1901], at=at)
                await display_review.reject(
                    deps,
                    brand,
                    refused["id"],
                    reason="端架只陈列了 2 层，请补满 3 层后重拍",
                    now=at,
                )
                at += timedelta(hours=1)
            report = await _report(
                deps,
                signer,
                store,
                check_id,
                seeds=[1000 + seq * 10 + number * 2, 1001 + seq * 10 + number * 2],
                at=at,
            )
            await display_review.approve(
                deps, brand, report["id"], note="", now=at + 6 * timedelta(hours=1)
            )

    # In its sign-up window: the first check is open and the queue has work.
    opened = now - DAY
    current = await display_service.create_program(
        brand,
        _program(
            "冷柜门贴陈列 · 冬季",
            now - 2 * DAY,
            sample_photos=samples,
            sku_ids=sku_ids[:1],
            first_check_at=opened,
            check_reward={
                "kind": "voucher",
                "amount": 1,
                "template_id": voucher.id,
                "value_fen": 3_000,
            },
            completion_reward={
                "kind": "cash",
                "amount": 5_000,
                "template_id": None,
                "value_fen": 0,
            },
            salesperson_reviews_first=True,
        ),
        now=now - 2 * DAY,
    )
    await display_service.publish_program(brand, current["id"], now=now - 2 * DAY)
    program = await display_service.get_program(brand, current["id"], now=now)
    first_check = int(program["checks"][0]["id"])
    # The owner has not signed this one: it is open to them. Two stores of the first
    # salesperson (王磊) wait for review, so the salesperson's first-review page has work.
    wang = await Salesperson.filter(brand_id=brand.brand_id).order_by("id").first()
    assert wang is not None
    theirs = [s for s in others[3:] if s.salesperson_id == wang.id]  # type: ignore[attr-defined]
    rest = [s for s in others[3:] if s.salesperson_id != wang.id]  # type: ignore[attr-defined]
    stores = rest[:2] + theirs[:2] + rest[2:4]
    sent = []
    for number, store in enumerate(stores):
        signer = await _owner_of(store)
        at = now - timedelta(hours=20 - number * 3)
        await display_service.sign(
            signer,
            current["id"],
            signer_name=store.contact_name or "店主",
            agreement_version=1,
            now=at - timedelta(hours=1),
        )
        seeds = [2000 + number * 2, 2001 + number * 2]
        if number == 4:
            seeds = [2000, 2099]  # the first store's photo again: a forwarded picture
        sent.append(
            await _report(deps, signer, store, first_check, seeds=seeds, at=at, far=number == 5)
        )
    await display_review.approve(deps, brand, sent[0]["id"], note="", now=now - timedelta(hours=2))
    await display_review.reject(
        deps,
        brand,
        sent[1]["id"],
        reason="商品没有摆在冷柜正面第一层，请按标准调整后重新拍照",
        now=now - timedelta(hours=1),
    )

    draft = await display_service.create_program(
        brand,
        _program(
            "收银台陈列 · 春节",
            now + 20 * DAY,
            sample_photos=samples,
            sku_ids=sku_ids,
            check_reward={"kind": "points", "amount": 200, "template_id": None, "value_fen": 0},
        ),
        now=now,
    )
    return [str(running["name"]), str(current["name"]), str(draft["name"])]
