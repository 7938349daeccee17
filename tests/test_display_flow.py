"""A display program end to end, through the HTTP API only, as its people use it: the brand
writes and publishes a program (a voucher per passed check, cash for completing it), a store
owner finds it, signs, takes photos at the store inside each check's window and submits them;
the built-in recogniser leaves them to a person; the brand approves; the vouchers land in the
store's wallet, the cash on its statement, the figures and exports count them and the ledger
still adds up. The signed document is the store's and the brand's, nobody else's."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx

from backend.ledger import service as ledger_service
from tests.factories import (
    Shop,
    bearer,
    distributor_admin,
    idempotent,
    make_shop,
    make_store,
    make_tenant,
    staff_headers,
    store_owner,
)
from tests.test_display_photos import METRES_PER_DEGREE, STORE_AT, photo
from tests.test_display_programs import AGREEMENT, exchange_template

API = "/api/v1/display"
VOUCHER_FEN = 3_000
COMPLETION_FEN = 800


async def brand_headers(client: httpx.AsyncClient, shop: Shop) -> dict[str, str]:
    return await staff_headers(client, shop.tenant.admin_username)


def program_body(shop: Shop, now: Any, template_id: int) -> dict[str, Any]:
    """Two weekly checks from tomorrow, two days each, two photos a check."""
    return {
        "name": "冰柜陈列有礼",
        "standard": "冰柜第一层整层陈列滤芯，价签朝外",
        "sample_photos": [{"url": "https://img.example/sample.jpg", "width": 800, "height": 600}],
        "sku_ids": [shop.filters],
        "audience": {"distributor_ids": [], "region_ids": [], "tiers": [], "tags": []},
        "signup_from": (now - timedelta(hours=1)).isoformat(),
        "signup_until": (now + timedelta(days=2)).isoformat(),
        "first_check_at": (now + timedelta(days=1)).isoformat(),
        "check_count": 2,
        "check_interval_days": 7,
        "check_window_days": 2,
        "photos_required": 2,
        "distance_limit_m": 300,
        "check_reward": {
            "kind": "voucher",
            "amount": 1,
            "template_id": template_id,
            "value_fen": VOUCHER_FEN,
        },
        "completion_reward": {"kind": "cash", "amount": COMPLETION_FEN},
        "budget_fen": 100_000,
        "max_stores": 5,
        "agreement_text": AGREEMENT,
    }


async def take_photos(
    client: httpx.AsyncClient, owner: dict[str, Any], now: Any, *seeds: int
) -> list[int]:
    """Photos taken a few minutes ago about 20 m from the store, as the camera page sends."""
    ids = []
    for seed in seeds:
        response = await client.post(
            f"{API}/photos",
            files={"file": ("shelf.jpg", photo(seed), "image/jpeg")},
            data={
                "taken_at": (now - timedelta(minutes=5)).isoformat(),
                "latitude": str(STORE_AT[0] + 20 / METRES_PER_DEGREE),
                "longitude": str(STORE_AT[1]),
            },
            headers=bearer(owner),
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def submit_and_approve(
    client: httpx.AsyncClient,
    owner: dict[str, Any],
    brand: dict[str, str],
    check_id: int,
    photo_ids: list[int],
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/checks/{check_id}/submissions",
        json={"photo_ids": photo_ids},
        headers=idempotent(owner),
    )
    assert response.status_code == 201, response.text
    submitted = response.json()
    # The built-in recogniser always leaves the display itself to a person.
    assert (submitted["status"], submitted["verdict"]) == ("review", "review")
    assert [r["code"] for r in submitted["reasons"]] == ["needs_person"]
    assert all(p["distance_m"] is not None and p["distance_m"] < 50 for p in submitted["photos"])
    queue = await client.get(f"{API}/reviews", headers=brand)
    assert [item["id"] for item in queue.json()["items"]] == [submitted["id"]]
    approved = await client.post(
        f"{API}/submissions/{submitted['id']}/approve", json={"note": "陈列达标"}, headers=brand
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "passed"
    return dict(approved.json())


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_a_program_from_writing_to_the_last_reward(client, sandbox_client, deps) -> None:
    shop = await make_shop()
    tenant = shop.tenant
    store = await make_store(tenant, latitude=STORE_AT[0], longitude=STORE_AT[1])
    brand = await brand_headers(client, shop)
    template_id = await exchange_template(client, shop)
    now = deps.clock.now()

    # The brand writes the program once, however often the request is sent again.
    key = {**brand, "Idempotency-Key": "program-1"}
    made = await client.post(
        f"{API}/programs", json=program_body(shop, now, template_id), headers=key
    )
    assert made.status_code == 201, made.text
    again = await client.post(
        f"{API}/programs", json=program_body(shop, now, template_id), headers=key
    )
    assert (again.status_code, again.json()["id"]) == (201, made.json()["id"])
    listed = await client.get(f"{API}/programs", headers=brand)
    assert [p["id"] for p in listed.json()["items"]] == [made.json()["id"]]
    program_id = made.json()["id"]
    published = await client.post(f"{API}/programs/{program_id}/publish", headers=brand)
    assert published.status_code == 200, published.text
    program = published.json()
    assert program["check_reward"]["text"] == "兑换券 1 张（价值 ¥30.00）"
    check_ids = [c["id"] for c in program["checks"]]

    # The store owner finds it open and signs the version they read.
    owner = await store_owner(client, sandbox_client, store)
    opened = await client.get(f"{API}/open", headers=bearer(owner))
    [offer] = opened.json()["items"]
    assert (offer["id"], offer["state"], offer["places_left"]) == (program_id, "open", 5)
    signed = await client.post(
        f"{API}/programs/{program_id}/sign",
        json={
            "signer_name": "张老板",
            "agreement_version": offer["agreement_version"],
            "agreed": True,
        },
        headers=idempotent(owner),
    )
    assert signed.status_code == 201, signed.text
    signing_id = signed.json()["id"]
    assert (await client.get(f"{API}/open", headers=bearer(owner))).json()["items"] == []

    # The first check opens tomorrow: photos, submit, review, approve.
    deps.clock.advance(days=1, hours=2)
    now = deps.clock.now()
    owner = await store_owner(client, sandbox_client, store)  # the tokens' life has passed
    brand = await brand_headers(client, shop)
    first = await submit_and_approve(
        client, owner, brand, check_ids[0], await take_photos(client, owner, now, 11, 12)
    )
    assert first["reward"]["kind"] == "voucher" and len(first["reward"]["coupon_ids"]) == 1

    wallet = (await client.get("/api/v1/coupons/wallet", headers=bearer(owner))).json()["items"]
    assert [(c["id"], c["source"], c["template_id"]) for c in wallet] == [
        (first["reward"]["coupon_ids"][0], "display", template_id)
    ]
    figures = (await client.get(f"{API}/programs/{program_id}/figures", headers=brand)).json()
    assert (figures["signed"], figures["submitted"], figures["passed"]) == (1, 1, 1)
    assert (figures["cost_fen"], figures["spent_fen"]) == (VOUCHER_FEN, VOUCHER_FEN)
    shown = (await client.get(f"{API}/programs/{program_id}", headers=brand)).json()
    assert shown["spent_fen"] == VOUCHER_FEN
    assert await ledger_service.unbalanced_accounts() == []

    # The last check a week later: its voucher and the completion's cash.
    deps.clock.advance(days=7)
    now = deps.clock.now()
    owner = await store_owner(client, sandbox_client, store)
    brand = await brand_headers(client, shop)
    last = await submit_and_approve(
        client, owner, brand, check_ids[1], await take_photos(client, owner, now, 13, 14)
    )
    assert len(last["reward"]["coupon_ids"]) == 1
    accounts = (await client.get("/api/v1/ledger/accounts", headers=bearer(owner))).json()
    [cash] = [a for a in accounts["items"] if a["kind"] == "cash"]
    assert cash["balance"] == COMPLETION_FEN
    entries = await client.get(
        f"/api/v1/ledger/accounts/{cash['id']}/entries", headers=bearer(owner)
    )
    [entry] = entries.json()["items"]
    assert (entry["amount"], entry["cause"]) == (COMPLETION_FEN, "display")
    assert await ledger_service.unbalanced_accounts() == []
    wallet = (await client.get("/api/v1/coupons/wallet", headers=bearer(owner))).json()["items"]
    assert len(wallet) == 2

    # The store's page of its signing: both checks passed, three rewards, completed.
    detail = (await client.get(f"{API}/mine/{signing_id}", headers=bearer(owner))).json()
    assert detail["status"] == "completed" and detail["passed_checks"] == 2
    assert [c["state"] for c in detail["checks"]] == ["passed", "passed"]
    assert [c["can_submit"] for c in detail["checks"]] == [False, False]
    assert sorted((r["check_seq"], r["kind"]) for r in detail["rewards"]) == [
        (0, "cash"),
        (1, "voucher"),
        (2, "voucher"),
    ]
    assert detail["reward_totals"] == {"points": 0, "cash_fen": COMPLETION_FEN, "vouchers": 2}
    assert detail["checks"][1]["submission"]["reward"]["check_seq"] == 2
    # Its photos say how far from the store they were taken, as the submission itself does.
    shown = detail["checks"][1]["submission"]["photos"]
    assert [p["distance_m"] for p in shown] == [p["distance_m"] for p in last["photos"]]
    assert all(0 < p["distance_m"] < 50 for p in shown)
    figures = (await client.get(f"{API}/programs/{program_id}/figures", headers=brand)).json()
    cost = 2 * VOUCHER_FEN + COMPLETION_FEN
    assert (figures["passed"], figures["cost_fen"], figures["spent_fen"]) == (2, cost, cost)

    # The signed document: the store's and the brand's; 404 to another store or brand.
    document = f"{API}/signings/{signing_id}/document"
    mine = await client.get(document, headers=bearer(owner))
    assert mine.status_code == 200, mine.text
    assert mine.json()["signer_name"] == "张老板"
    assert mine.json()["agreement_text"] == AGREEMENT
    assert (await client.get(document, headers=brand)).json() == mine.json()
    neighbour = await store_owner(client, sandbox_client, await make_store(tenant))
    other = await make_tenant()
    stranger = await staff_headers(client, other.admin_username)
    for headers in (bearer(neighbour), stranger):
        refused = await client.get(document, headers=headers)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "display.signing_not_found"

    # The exports hold the signing, both submissions and the three rewards.
    export = f"{API}/programs/{program_id}/export"
    signings = csv_rows(await client.get(f"{export}?what=signings", headers=brand))
    submissions = csv_rows(await client.get(f"{export}?what=submissions", headers=brand))
    rewards = csv_rows(await client.get(f"{export}?what=rewards", headers=brand))
    assert (len(signings), len(submissions), len(rewards)) == (2, 3, 4)
    xlsx = await client.get(f"{export}?what=rewards&format=xlsx", headers=brand)
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")

    # The store spends a display voucher on an order of its own; once the distributor has
    # delivered it, the voucher is the distributor's to claim through the voucher claims (核销)
    # like any exchange voucher, and only once.
    voucher_id = first["reward"]["coupon_ids"][0]
    order = await client.post(
        "/api/v1/orders",
        json={"lines": [{"sku_id": shop.filters, "quantity": 10}], "coupon_id": voucher_id},
        headers=idempotent(owner),
    )
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    distributor = await distributor_admin(client, shop)
    url = f"/api/v1/orders/{order_id}"
    assert (await client.post(f"{url}/offline-payment", json={}, headers=distributor)).is_success
    assert (await client.post(f"{url}/accept", headers=distributor)).is_success
    shipped = await client.post(f"{url}/ship", json={"logistics_note": "自送"}, headers=distributor)
    assert shipped.is_success, shipped.text
    delivered = await client.post(f"{url}/deliver", headers=distributor)
    assert delivered.json()["status"] == "delivered", delivered.text
    claimable = (await client.get("/api/v1/coupons/claims/claimable", headers=distributor)).json()
    [item] = claimable["items"]
    assert (item["coupon_id"], item["order_id"]) == (voucher_id, order_id)
    assert item["amount_fen"] > 0
    claimed = await client.post(
        "/api/v1/coupons/claims",
        json={"note": "陈列奖励兑换券"},
        headers={**distributor, "Idempotency-Key": "display-claim"},
    )
    assert claimed.status_code == 201, claimed.text
    assert (claimed.json()["vouchers"], claimed.json()["amount_fen"]) == (1, item["amount_fen"])
    again = await client.get("/api/v1/coupons/claims/claimable", headers=distributor)
    assert again.json()["items"] == []
