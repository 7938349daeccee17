"""The store sets (backend/analytics/storesets.py): which stores had a counted order in a day
or a month, all of them and by store tag, derived from the order facts and the stores' tags
as they are now. Exact rows after orders and after cancellations (a store leaves a day's set
with its only order of the day), active and dormant stores and the tag breakdown read from
them, tag changes taken in by the minute job (and the figures lagging until it ran), a
distributor's own figures, and the marks a change leaves, keeps or does not leave."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from backend.analytics import bitsets, rollups, storesets
from backend.analytics.models import StoreSet, TagChange
from backend.identity.models import Role
from backend.org.models import Store
from tests.factories import bearer, make_shop, make_staff, make_store, staff_headers, store_owner
from tests.test_analytics_sales import (
    FILTERS,
    WATER,
    Sales,
    figures,
    get,
    orders_of_the_fortnight,
    scenario,
    sold,
)

# (period, key, channel) → (stores, orders, units, GMV)
Rows = dict[tuple[str, str, str], tuple[list[int], int, int, int]]


async def set_rows(brand_id: int, grain: str, dim: str, distributor_id: int = 0) -> Rows:
    rows = await StoreSet.filter(
        brand_id=brand_id, grain=grain, dim=dim, distributor_id=distributor_id
    )
    return {
        (str(r.period), r.key, r.channel): (
            sorted(bitsets.unpack(r.stores)),
            r.orders,
            r.units,
            r.gmv_fen,
        )
        for r in rows
    }


def by_month(days: Rows) -> Rows:
    """Day rows united into their months', as the month rows must be."""
    stores: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (day, key, channel), (ids, *measures) in days.items():
        month = (str(date.fromisoformat(day).replace(day=1)), key, channel)
        stores[month] |= set(ids)
        sums[month] = [a + b for a, b in zip(sums[month], measures, strict=True)]
    return {month: (sorted(stores[month]), *sums[month]) for month in stores}  # type: ignore[misc]


@pytest.fixture
async def fortnight(client, sandbox_client, deps) -> tuple[Sales, dict[str, int]]:
    sales = await scenario(client, sandbox_client)
    placed = await orders_of_the_fortnight(client, sandbox_client, sales)
    await rollups.refresh(deps)
    # The scenario tagged s1 and s2 before they ordered: the minute job takes the marks in.
    assert await rollups.refresh_tags(deps) == 2
    return sales, placed


def ago(s: Sales, days: int) -> str:
    return str(s.today - timedelta(days=days))


async def retag(
    client: httpx.AsyncClient, s: Sales, store_ids: list[int], **change: list[str]
) -> None:
    response = await client.post(
        "/api/v1/stores/bulk/tags", json={"store_ids": store_ids, **change}, headers=s.brand
    )
    assert response.status_code == 200, response.text


async def marked() -> dict[int, int]:
    return dict(await TagChange.all().values_list("store_id", "version"))  # type: ignore[arg-type]


async def tag_figures(
    client: httpx.AsyncClient, s: Sales, headers: dict[str, str] | None = None, **query: Any
) -> dict[str, tuple[Any, ...]]:
    answer = await get(client, "breakdown", headers or s.brand, dim="tag", **s.period, **query)
    names = ("key", "orders", "gmv_fen", "stores", "previous_gmv_fen")
    return {row[0]: row[1:] for row in figures(answer["rows"], *names)}


# ---- the rows -------------------------------------------------------------------------------


async def test_each_day_holds_the_stores_that_ordered_and_a_month_its_days(fortnight) -> None:
    s, _ = fortnight
    brand_id = s.shop.tenant.brand.id
    d1, d2 = s.shop.tenant.distributor.id, s.shop.tenant.other_distributor.id
    s1, s2, s3 = s.s1.id, s.s2.id, s.s3.id
    every = await set_rows(brand_id, "day", "all")
    assert every == {
        (ago(s, 1), "", ""): ([s1], 2, 12, 2 * WATER + FILTERS),  # two orders, one store
        (ago(s, 2), "", ""): ([s2], 1, 1, WATER),
        (ago(s, 3), "", ""): ([s3], 1, 1, WATER),
        (ago(s, 10), "", ""): ([s1], 1, 1, WATER),
    }
    assert await set_rows(brand_id, "day", "all", d1) == {
        key: row for key, row in every.items() if key[0] != ago(s, 3)
    }
    assert await set_rows(brand_id, "day", "all", d2) == {(ago(s, 3), "", ""): ([s3], 1, 1, WATER)}
    tags = await set_rows(brand_id, "day", "tag")
    assert tags == {
        (ago(s, 1), "连锁", "self"): ([s1], 2, 12, 2 * WATER + FILTERS),
        (ago(s, 2), "连锁", "proxy"): ([s2], 1, 1, WATER),  # placed by its salesperson
        (ago(s, 2), "新店", "proxy"): ([s2], 1, 1, WATER),
        (ago(s, 3), "", "self"): ([s3], 1, 1, WATER),  # no tag at all
        (ago(s, 10), "连锁", "self"): ([s1], 1, 1, WATER),
    }
    assert await set_rows(brand_id, "month", "all") == by_month(every)
    assert await set_rows(brand_id, "month", "tag") == by_month(tags)
    assert await set_rows(brand_id, "month", "tag", d2) == by_month(
        {key: row for key, row in tags.items() if key[0] == ago(s, 3)}
    )
    # The other brand's order is in its own brand's rows only.
    ours = await StoreSet.filter(brand_id=brand_id).values_list("stores", flat=True)
    assert set(bitsets.union(ours)) == {s1, s2, s3}  # type: ignore[arg-type]
    assert await StoreSet.exclude(brand_id=brand_id).filter(grain="day", dim="all").count() == 2


async def test_a_cancelled_order_takes_its_store_out_of_the_day_when_it_was_its_only_one(
    client, deps, fortnight
) -> None:
    s, placed = fortnight
    brand_id = s.shop.tenant.brand.id
    for order_id, owner in ((placed["o4"], s.s3), (placed["o1"], s.s1)):
        cancelled = await client.post(
            f"/api/v1/orders/{order_id}/cancel",
            json={"reason": "不要了"},
            headers=bearer(s.owners[owner.id]),
        )
        assert cancelled.status_code == 200, cancelled.text
    await rollups.refresh(deps)
    every = await set_rows(brand_id, "day", "all")
    # s3's only order gone: its day has no row left; s1 keeps yesterday with its other order.
    assert every == {
        (ago(s, 1), "", ""): ([s.s1.id], 1, 10, FILTERS),
        (ago(s, 2), "", ""): ([s.s2.id], 1, 1, WATER),
        (ago(s, 10), "", ""): ([s.s1.id], 1, 1, WATER),
    }
    assert await set_rows(brand_id, "day", "all", s.shop.tenant.other_distributor.id) == {}
    assert await set_rows(brand_id, "month", "all") == by_month(every)
    assert (ago(s, 3), "", "self") not in await set_rows(brand_id, "day", "tag")
    stores = await get(client, "stores", s.brand, **s.period)
    assert (stores["active"], stores["new"], stores["previous"]["active"]) == (2, 1, 1)
    assert await tag_figures(client, s) == {
        "连锁": (2, FILTERS + WATER, 2, WATER),
        "新店": (1, WATER, 1, 0),
    }


# ---- the dashboards over them ---------------------------------------------------------------


async def test_active_and_dormant_stores_by_scope(client, sandbox_client, deps, fortnight) -> None:
    s, _ = fortnight
    tenant = s.shop.tenant
    # A store of the other distributor last ordered 70 days ago: dormant after 60 days.
    s4 = await make_store(tenant, distributor=tenant.other_distributor)
    await sold(client, s, await store_owner(client, sandbox_client, s4), [(s.shop.water, 1)], 70)
    await rollups.refresh(deps)
    brand = await get(client, "stores", s.brand, **s.period)
    assert (brand["active"], brand["new"], brand["dormant"], brand["total"]) == (3, 2, 1, 4)
    assert (brand["previous"]["active"], brand["previous"]["dormant"]) == (1, 1)
    # Each month counts its own stores once: over the fortnight s1 ordered three times.
    fortnight_period = {"start": ago(s, 13), "end": str(s.today)}
    both = await get(client, "stores", s.brand, **fortnight_period)
    assert both["active"] == 3
    months = {month["month"]: month["active"] for month in both["trend"]}
    by_month_expected: dict[str, set[int]] = defaultdict(set)
    for store, days in ((s.s1.id, (1, 10)), (s.s2.id, (2,)), (s.s3.id, (3,))):
        for n in days:
            by_month_expected[str((s.today - timedelta(days=n)).replace(day=1))].add(store)
    assert months == {month: len(found) for month, found in by_month_expected.items()} | {
        month: 0 for month in months if month not in by_month_expected
    }
    mine = s.payers[tenant.distributor.id]
    theirs = s.payers[tenant.other_distributor.id]
    own = await get(client, "stores", mine, **s.period)
    assert (own["active"], own["dormant"], own["total"]) == (2, 0, 2)
    other = await get(client, "stores", theirs, **s.period)
    assert (other["active"], other["dormant"], other["total"]) == (1, 1, 2)
    # Judged at an end 71 days ago, s4's order was still to come: nobody was dormant.
    past = {"start": ago(s, 77), "end": ago(s, 71)}
    assert (await get(client, "stores", s.brand, **past))["dormant"] == 0


async def test_a_tag_change_shows_once_the_job_ran_and_marks_only_real_changes(
    client, deps, fortnight
) -> None:
    s, _ = fortnight
    before = {
        "连锁": (3, 3 * WATER + FILTERS, 2, WATER),
        "新店": (1, WATER, 1, 0),
        "": (1, WATER, 1, 0),
    }
    assert await tag_figures(client, s) == before
    # s1 is no longer 连锁, s3 becomes 旗舰: their past orders go with their tags of today.
    await retag(client, s, [s.s1.id], remove=["连锁"])
    await retag(client, s, [s.s3.id], add=["旗舰"])
    assert await marked() == {s.s1.id: 1, s.s3.id: 1}
    assert await tag_figures(client, s) == before  # until the job has run (within a minute)
    assert await rollups.refresh_tags(deps) == 2
    assert await marked() == {}
    after = {
        "": (2, 2 * WATER + FILTERS, 1, WATER),  # s1, untagged now, with its week before
        "连锁": (1, WATER, 1, 0),
        "新店": (1, WATER, 1, 0),
        "旗舰": (1, WATER, 1, 0),
    }
    assert await tag_figures(client, s) == after
    answer = await get(client, "breakdown", s.brand, dim="tag", **s.period)
    assert answer["rows"][0]["name"] == "无标签"
    assert answer["total"]["gmv_fen"] == 4 * WATER + FILTERS
    proxy = {"连锁": (1, WATER, 1, 0), "新店": (1, WATER, 1, 0)}
    assert await tag_figures(client, s, channel="proxy") == proxy
    assert await rollups.refresh_tags(deps) == 0  # nothing marked: nothing to do
    assert await tag_figures(client, s) == after
    # The distributors see their own stores under their tags of today.
    mine = await tag_figures(client, s, s.payers[s.shop.tenant.distributor.id])
    assert mine == {key: after[key] for key in ("", "连锁", "新店")}
    theirs = await tag_figures(client, s, s.payers[s.shop.tenant.other_distributor.id])
    assert theirs == {"旗舰": (1, WATER, 1, 0)}

    # Saving a store with the tags it has changes nothing and marks nothing.
    same = await client.patch(
        f"/api/v1/stores/{s.s2.id}", json={"tags": ["新店", "连锁"]}, headers=s.brand
    )
    assert same.status_code == 200, same.text
    assert await marked() == {}
    # A refused change (a store of another brand among them) marks nothing either.
    stranger = (await make_shop()).tenant.store
    refused = await client.post(
        "/api/v1/stores/bulk/tags",
        json={"store_ids": [s.s2.id, stranger.id], "add": ["县城"]},
        headers=s.brand,
    )
    assert refused.status_code == 404, refused.text
    assert await marked() == {}
    # Edited then tagged again before the job: one mark, at its second version.
    edited = await client.patch(f"/api/v1/stores/{s.s2.id}", json={"tags": []}, headers=s.brand)
    assert edited.status_code == 200, edited.text
    await retag(client, s, [s.s2.id], add=["县城"])
    assert await marked() == {s.s2.id: 2}
    await rollups.refresh_tags(deps)
    assert (await tag_figures(client, s))["县城"] == (1, WATER, 1, 0)
    assert "新店" not in await tag_figures(client, s)


async def test_a_store_marked_again_while_the_job_ran_stays_marked(client, deps, fortnight) -> None:
    s, _ = fortnight
    brand_id = s.shop.tenant.brand.id
    await retag(client, s, [s.s1.id, s.s3.id], add=["县城"])
    taken = (await storesets.tag_changes())[brand_id]
    assert taken == {s.s1.id: 1, s.s3.id: 1}
    # Tagged again after the job read its marks, before it took them in.
    await retag(client, s, [s.s3.id], add=["五金店"])
    await storesets.clear_tag_changes(taken)
    assert await marked() == {s.s3.id: 2}
    await rollups.refresh_tags(deps)
    assert (await tag_figures(client, s))["五金店"] == (1, WATER, 1, 0)
    assert await marked() == {}


async def test_the_rfm_tiers_mark_their_stores_and_show_by_tag(client, deps, fortnight) -> None:
    s, _ = fortnight
    tenant = s.shop.tenant
    applied = await client.post("/api/v1/analytics/stores/rfm/apply", headers=s.brand)
    assert applied.status_code == 200, applied.text
    tiered = set(
        await Store.filter(brand_id=tenant.brand.id, tags__tag__startswith="RFM·").values_list(
            "id", flat=True
        )
    )
    assert {s.s1.id, s.s2.id, s.s3.id} <= tiered
    assert set(await marked()) == tiered
    await rollups.refresh_tags(deps)
    rows = await tag_figures(client, s)
    rfm = {key: row for key, row in rows.items() if key.startswith("RFM·")}
    # Every store that ordered has exactly one tier: the tiers share the week's orders.
    assert sum(row[0] for row in rfm.values()) == 4
    assert sum(row[1] for row in rfm.values()) == 4 * WATER + FILTERS
    assert sum(row[2] for row in rfm.values()) == 3


async def test_distributor_staff_cannot_widen_their_store_counts(client, fortnight) -> None:
    s, placed = fortnight
    tenant = s.shop.tenant
    staff = await staff_headers(
        client, await make_staff(tenant.brand.id, Role.DISTRIBUTOR_STAFF, tenant.distributor.id)
    )
    asked = await get(
        client, "stores", staff, distributor_id=tenant.other_distributor.id, **s.period
    )
    assert (asked["active"], asked["total"]) == (2, 2)
    tags = await tag_figures(client, s, staff, distributor_id=placed["their_distributor"])
    assert tags == {"连锁": (3, 3 * WATER + FILTERS, 2, WATER), "新店": (1, WATER, 1, 0)}
