"""What the console's promotion pages read besides the rule: the tabs' counts, the SKU picker,
the budget day by day, the results export, the simulator's names for what did not apply and
the idempotent create; all for brand staff only, each brand seeing its own."""

from __future__ import annotations

import csv
import io
import zipfile

import httpx

from backend.promotions.models import Promotion
from tests.factories import bearer, distributor_admin, idempotent, make_shop, store_owner
from tests.test_promotions_admin import API, admin, created, reduction
from tests.test_promotions_ordering import ordered, running

# The brand's SKUs that a rule may name: catalog's list, shared with the coupon pages.
SKU_OPTIONS = "/api/v1/catalog/sku-options"


async def test_counts_skus_and_the_idempotent_create(client: httpx.AsyncClient) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    draft = await created(client, headers, reduction(name="草稿活动"))
    await running(client, shop, reduction(name="进行中活动"))

    counts = (await client.get(f"{API}/counts", headers=headers)).json()
    assert counts == {
        "total": 2,
        "by_status": {"draft": 1, "active": 1, "paused": 0, "ended": 0},
    }

    # The picker finds the brand's SKUs by product or SKU name, paged by id.
    found = (await client.get(SKU_OPTIONS, params={"q": "滤芯"}, headers=headers)).json()
    assert [(s["id"], s["product_name"], s["name"]) for s in found["items"]] == [
        (shop.filters, "澜泉 RO 净水器", "滤芯")
    ]
    first = (await client.get(SKU_OPTIONS, params={"limit": 2}, headers=headers)).json()
    assert [s["id"] for s in first["items"]] == [shop.water, shop.filters]
    rest = await client.get(SKU_OPTIONS, params={"after": first["next_after"]}, headers=headers)
    assert [s["id"] for s in rest.json()["items"]] == [shop.unsold]

    # The same key twice creates one promotion; the same key with another body is refused.
    keyed = {**headers, "Idempotency-Key": "promo-create-1"}
    body = reduction(name="只建一次")
    once = await client.post(API, json=body, headers=keyed)
    again = await client.post(API, json=body, headers=keyed)
    assert once.status_code == again.status_code == 201
    assert once.json()["id"] == again.json()["id"]
    other = await client.post(API, json={**body, "name": "另一个"}, headers=keyed)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency.key_reused"
    assert await Promotion.filter(name="只建一次").count() == 1
    assert await Promotion.filter(name="另一个").count() == 0
    assert draft["status"] == "draft"


async def test_the_budget_by_day_and_the_results_export(client, sandbox_client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    promotion = await running(client, shop, reduction(name="满3000减300", budget_fen=100_000))
    idle = await created(client, headers, reduction(name="=没人用的草稿"))
    owner = await store_owner(client, sandbox_client, shop.tenant.store)
    kept = await ordered(client, owner, shop)
    dropped = await ordered(client, owner, shop)
    cancelled = await client.post(
        f"/api/v1/orders/{dropped['id']}/cancel", json={"reason": "重下"}, headers=idempotent(owner)
    )
    assert cancelled.status_code == 200, cancelled.text
    assert kept["promotion_discount_fen"] == 30_000

    daily = (await client.get(f"{API}/{promotion['id']}/budget/daily", headers=headers)).json()
    assert (daily["budget_fen"], daily["committed_fen"]) == (100_000, 30_000)
    assert (daily["orders"], daily["stores"]) == (1, 1)  # the cancelled order gave it back
    (today,) = daily["days"]
    assert (today["taken_fen"], today["given_back_fen"], today["committed_fen"]) == (
        60_000,
        30_000,
        30_000,
    )

    exported = await client.get(f"{API}/export", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["活动编号", "活动名称", "奖励形式", "状态"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(promotion["id"])][1:4] == ["满3000减300", "满减", "进行中"]
    assert by_id[str(promotion["id"])][6:] == ["1", "1", "300.00", "1000.00", "700.00"]
    # A name a spreadsheet would run as a formula stays text.
    assert by_id[str(idle["id"])][1] == "'=没人用的草稿"
    assert by_id[str(idle["id"])][6:] == ["0", "0", "0.00", "不限", "不限"]

    drafts = await client.get(
        f"{API}/export", params={"status": "draft", "format": "xlsx"}, headers=headers
    )
    assert drafts.status_code == 200
    assert drafts.headers["content-disposition"].endswith('.xlsx"')
    sheet = zipfile.ZipFile(io.BytesIO(drafts.content)).read("xl/sharedStrings.xml").decode()
    assert "=没人用的草稿" in sheet and "满3000减300" not in sheet


async def test_the_simulator_names_what_did_not_apply(client: httpx.AsyncClient) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    draft = await created(client, headers, reduction(name="满3000减300（草稿）"))
    cart = {
        "store_id": shop.tenant.store.id,
        "lines": [{"sku_id": shop.water, "quantity": 1}],
        "also_promotion_ids": [draft["id"]],
    }
    simulated = await client.post(f"{API}/simulate", json=cart, headers=headers)
    assert simulated.status_code == 200, simulated.text
    (skipped,) = simulated.json()["promotions"]["skipped"]
    assert skipped == {
        "promotion_id": draft["id"],
        "name": "满3000减300（草稿）",
        "code": "promo.condition_unmet",
        "message": skipped["message"],
    }
    assert skipped["message"]  # in Chinese, from the engine


async def test_only_the_brands_own_staff_reach_these(client, sandbox_client) -> None:
    shop = await make_shop()
    headers = await admin(client, shop)
    promotion = await created(client, headers, reduction())
    distributor = await distributor_admin(client, shop)
    owner = bearer(await store_owner(client, sandbox_client, shop.tenant.store))
    for path in ("/counts", "/export", f"/{promotion['id']}/budget/daily"):
        for outsider in (distributor, owner):
            refused = await client.get(f"{API}{path}", headers=outsider)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "auth.role_required"
        refused = await client.get(SKU_OPTIONS, headers=outsider)
        assert refused.status_code == 403
    refused = await client.post(
        API, json=reduction(name="经销商建的"), headers={**distributor, "Idempotency-Key": "k1"}
    )
    assert refused.status_code == 403
    assert await Promotion.filter(name="经销商建的").count() == 0

    stranger = await admin(client, await make_shop())
    foreign = await client.get(f"{API}/{promotion['id']}/budget/daily", headers=stranger)
    assert foreign.status_code == 404
    assert (await client.get(f"{API}/counts", headers=stranger)).json()["total"] == 0
    exported = await client.get(f"{API}/export", headers=stranger)
    assert len(exported.content.decode("utf-8-sig").strip().splitlines()) == 1  # headers only
    skus = (await client.get(SKU_OPTIONS, params={"q": "滤芯"}, headers=stranger)).json()
    assert shop.filters not in [s["id"] for s in skus["items"]]

    bad = await client.get(f"{API}/export", params={"format": "pdf"}, headers=headers)
    assert bad.status_code == 422
