"""The demo seeder: what `b2bc run` shows a newcomer is there, priced and running."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.catalog import service as catalog_service
from backend.catalog.models import Sku
from backend.catalog.service import RequestedLine
from backend.demo.seed import DEMO_OWNER_PERSONA, DEMO_PASSWORD, seed_demo
from backend.org.models import Store
from backend.promotions import service as promotions_service
from backend.promotions.models import Promotion
from tests.factories import SANDBOX_APPID, bearer, idempotent, staff_headers, wechat_login


async def test_the_demo_seeds_once_with_running_promotions_that_price_a_cart() -> None:
    accounts = await seed_demo(SANDBOX_APPID)
    assert accounts is not None
    assert accounts.promotions == ["年终满 3000 减 300", "滤芯九折", "订货送积分（每元 1 分）"]
    assert await Promotion.filter(status="active").count() == 3
    assert await seed_demo(SANDBOX_APPID) is None  # a second run adds nothing

    store = await Store.filter(brand_id=accounts.brand_id).order_by("id").first()
    purifier = await Sku.get(brand_id=accounts.brand_id, name="RO-800G")
    assert store is not None
    distributor_id: int = store.distributor_id  # type: ignore[attr-defined]
    quote = await catalog_service.quote(
        accounts.brand_id, distributor_id, store.tier, [RequestedLine(purifier.id, 2)]
    )
    buyer = promotions_service.Buyer(
        store.id,
        accounts.brand_id,
        distributor_id,
        store.region_id,
        store.tier,  # type: ignore[attr-defined]
    )
    result = await promotions_service.price(buyer, "self", datetime.now(UTC), quote.lines)
    assert result is not None  # 2 × 2999.00 reaches 满 3000 减 300
    assert result.promotion_discount_fen == 30_000
    assert result.payable_fen == quote.payable_fen - 30_000


async def test_the_demo_puts_a_coupon_in_every_wallet_and_one_to_claim() -> None:
    from backend.coupons.models import Coupon, CouponTemplate

    accounts = await seed_demo(SANDBOX_APPID)
    assert accounts is not None and len(accounts.coupons) == 2
    stores = await Store.filter(brand_id=accounts.brand_id).count()
    assert await Coupon.filter(brand_id=accounts.brand_id).count() == stores
    claimable = await CouponTemplate.get(brand_id=accounts.brand_id, claimable=True)
    assert (claimable.total_quantity, claimable.issued_count) == (500, 0)


async def test_the_demo_complaints_stand_at_every_step_of_the_workflow(deps) -> None:
    from backend.complaints.models import Complaint

    accounts = await seed_demo(SANDBOX_APPID, deps)
    assert accounts is not None and accounts.complaints == 7
    statuses = (
        await Complaint.filter(brand_id=accounts.brand_id)
        .order_by("id")
        .values_list("status", flat=True)
    )
    assert statuses == [
        "new",
        "new",
        "acknowledged",
        "assigned",
        "responded",
        "resolved",
        "closed",
    ]
    # Their text went unchecked (no WeChat account) and was approved by the brand.
    assert set(
        await Complaint.filter(brand_id=accounts.brand_id).values_list("content_review", flat=True)
    ) == {"approved"}
    closed = await Complaint.get(brand_id=accounts.brand_id, status="closed")
    assert closed.rating == 5


async def test_the_first_distributor_has_orders_at_every_step_on_its_desk(deps) -> None:
    from backend.ordering.models import Order
    from backend.org.models import Distributor

    accounts = await seed_demo(SANDBOX_APPID, deps)
    assert accounts is not None and accounts.desk_orders == 13
    first = await Distributor.filter(brand_id=accounts.brand_id).order_by("id").first()
    assert first is not None
    statuses = await Order.filter(distributor_id=first.id).values_list("status", flat=True)
    assert set(statuses) == {
        "pending_payment",
        "paid",
        "accepted",
        "shipped",
        "delivered",
        "completed",
        "cancelled",
    }
    assert statuses.count("paid") >= 4  # a queue to accept


async def test_the_demo_shows_every_feature(deps, settings, client, sandbox_client) -> None:
    """What the mini-program's and the console's pages show a newcomer is there: the mall,
    the wheel, the owner's points and spin, complaints with photos and an order, resolved
    and closed ones the queue can filter, and a crowd invited to the live session."""
    from backend.livestream.models import LiveInvitation, LiveSession

    accounts = await seed_demo(SANDBOX_APPID, deps)
    assert accounts is not None
    owner = await wechat_login(client, sandbox_client, DEMO_OWNER_PERSONA)
    assert owner["identity"]["role"] == "store_owner"
    as_owner = bearer(owner)

    items = (await client.get("/api/v1/mall/items", headers=as_owner)).json()["items"]
    assert len(items) == 4 and {item["physical"] for item in items} == {True, False}
    assert all(item["stock"] > 0 and item["points_price"] > 0 for item in items)
    [wheel] = (await client.get("/api/v1/lottery/wheels", headers=as_owner)).json()["items"]
    assert wheel["name"] == accounts.wheel and len(wheel["prizes"]) == 6
    assert {prize["kind"] for prize in wheel["prizes"]} == {"points", "goods", "trip", "nothing"}
    assert wheel["chances"] == 1  # the owner's paid order unlocked one spin
    accounts_of_owner = (await client.get("/api/v1/ledger/accounts", headers=as_owner)).json()
    [points] = [a for a in accounts_of_owner["items"] if a["kind"] == "points"]
    cheapest = min(item["points_price"] for item in items)
    assert points["balance"] == accounts.owner_points >= cheapest  # enough to redeem a gift
    brand = await staff_headers(client, "brand_admin", DEMO_PASSWORD)
    # The brand's back office has a gift and a prize to send (read before the owner's own
    # spin below, which may win one more prize to deliver).
    to_send = (await client.get("/api/v1/mall/redemptions?status=pending", headers=brand)).json()
    assert [r["delivery"]["name"] for r in to_send["items"]] == ["周丽"]
    prizes = (await client.get("/api/v1/lottery/spins?status=to_deliver", headers=brand)).json()
    assert [s["prize"]["name"] for s in prizes["items"]] == ["定制水杯"]

    spun = await client.post(
        f"/api/v1/lottery/wheels/{wheel['id']}/spin", headers=idempotent(owner)
    )
    assert spun.status_code in (200, 201), spun.text
    for status in ("resolved", "closed"):
        listed = await client.get("/api/v1/complaints", params={"status": status}, headers=brand)
        assert len(listed.json()["items"]) == 1, status
    everything = (await client.get("/api/v1/complaints", headers=brand)).json()["items"]
    with_order = [c for c in everything if c["order_id"] is not None]
    assert {c["category"] for c in with_order} == {"damaged", "wrong_goods"}
    for listed in with_order:
        complaint = (await client.get(f"/api/v1/complaints/{listed['id']}", headers=brand)).json()
        assert complaint["photos"], complaint["category"]
        for photo in complaint["photos"]:
            # Stored through the real photo path: a cleaned JPEG in the media folder.
            key = photo["url"].removeprefix(settings.storage.public_url + "/")
            stored = settings.storage.local_dir / key
            assert stored.read_bytes()[:3] == b"\xff\xd8\xff"
        order = (await client.get(f"/api/v1/orders/{listed['order_id']}", headers=brand)).json()
        assert order["status"] == "delivered" and order["store_id"] == listed["store_id"]

    session = await LiveSession.get(title=accounts.live_session)
    assert accounts.live_invited == session.invited_count >= 30
    assert await LiveInvitation.filter(session_id=session.id).count() == session.invited_count

    # Display programs: one open to the owner, one the owner signed with a check open now,
    # and a review queue with a photo forwarded from another store already failed.
    [open_one] = (await client.get("/api/v1/display/open", headers=as_owner)).json()["items"]
    assert open_one["name"] in accounts.display_programs
    [signed] = (await client.get("/api/v1/display/mine", headers=as_owner)).json()["items"]
    assert signed["passed_checks"] == 2 and signed["next_check"]["can_submit"]
    queue = (await client.get("/api/v1/display/reviews", headers=brand)).json()["items"]
    assert len(queue) == 3 and all(item["photos"] and item["reasons"] for item in queue)
    counts = (await client.get("/api/v1/display/reviews/counts", headers=brand)).json()
    assert counts["review"] == 3
    program = (await client.get(f"/api/v1/display/programs/{open_one['id']}", headers=brand)).json()
    figures = await client.get(f"/api/v1/display/programs/{open_one['id']}/figures", headers=brand)
    assert figures.json()["failed"] == 1 and figures.json()["rejected"] == 1
    assert program["sample_photos"] and program["signed_count"] == 6


async def test_the_demo_staff_are_people_with_names(client) -> None:
    """The console's header reads "王敏 · 品牌管理员", not the role twice."""
    accounts = await seed_demo(SANDBOX_APPID)
    assert accounts is not None
    names = {}
    for username in ("brand_admin", "brand_ops", "dist1_admin", "dist2_admin", "dist3_admin"):
        headers = await staff_headers(client, username, DEMO_PASSWORD)
        names[username] = (await client.get("/api/v1/me", headers=headers)).json()["display_name"]
    assert names == {
        "brand_admin": "王敏",
        "brand_ops": "陈立",
        "dist1_admin": "周婷",
        "dist2_admin": "孙浩",
        "dist3_admin": "黄丽",
    }


async def test_the_demo_codes_show_every_step_from_batch_to_redeemed_coupon(deps) -> None:
    from backend.codes.models import (
        BatchStatus,
        CodeBatch,
        ConsumerCoupon,
        DiversionAlert,
        StoreCodeStock,
    )
    from backend.codes.tokens import token_in

    accounts = await seed_demo(SANDBOX_APPID, deps)
    assert accounts is not None and len(accounts.code_batches) == 3
    assert {b.status for b in await CodeBatch.filter(brand_id=accounts.brand_id)} == {
        BatchStatus.READY.value
    }
    owner_store = await Store.get(brand_id=accounts.brand_id, name=accounts.owner_store)
    rows = await StoreCodeStock.filter(store_id=owner_store.id)
    # A purifier; two boxes of 10 filters, 5 sold (the redeemed coupon's item among them).
    assert sorted((s.received, s.sold) for s in rows) == [(1, 0), (20, 5)]
    alert = await DiversionAlert.get(brand_id=accounts.brand_id)
    assert alert.reason == "other_distributor"
    coupons = await ConsumerCoupon.filter(brand_id=accounts.brand_id).order_by("id")
    assert [c.status for c in coupons] == ["redeemed", "issued"]
    assert token_in(accounts.consumer_code_url) is not None
