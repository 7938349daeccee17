"""The behaviour reports' day sums (backend/analytics/event_days.py): exact figures from the
rows the job sums (a user on two days counted once, terms folded to lower case with their
first spelling, searches that found nothing, a distributor's stores), a late event summing
its own day again, a batch landing while a day is summed kept for the next run, finished
months summed into month rows that answer as the days did, and a rebuild that gives the
rows the job gave."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.analytics import event_days
from backend.analytics.models import BehaviourEvent, EventDay, EventDayMark
from backend.org.models import Store
from tests.conftest import ON_POSTGRES
from tests.factories import staff_headers
from tests.test_analytics_behaviour import CHINA, World, _send, _world, event

FUNNEL = "/api/v1/analytics/funnel"
TERMS = "/api/v1/analytics/search-terms"
PAGES = "/api/v1/analytics/pages"
# 12:00 in China on 3 March 2031: the days before it reach back into February.
NOON = datetime(2031, 3, 3, 4, tzinfo=UTC)


def at_noon(deps: Any, moment: datetime = NOON) -> None:
    """Put the services' clock at `moment` (it goes on ticking from there)."""
    deps.clock.offset = moment - datetime.now(UTC)


def china(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


async def _report(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    start: date,
    end: date,
    **more: str,
) -> Any:
    params = {"start": start.isoformat(), "end": end.isoformat(), **more}
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _funnel(body: Any) -> list[tuple[str, int, int, int]]:
    return [(s["kind"], s["users"], s["stores"], s["events"]) for s in body["steps"]]


async def _february(client: httpx.AsyncClient, world: World) -> None:
    """Days at the end of February 2031 and the start of March, from three users."""
    a, b = world.ours
    feb25, feb27, feb28 = (china(date(2031, 2, d)) for d in (25, 27, 28))
    mar2 = china(date(2031, 3, 2))
    await _send(
        client,
        a,
        [
            event("page_view", feb25, page="pages/home/index"),
            event("page_view", feb27, page="pages/home/index"),  # the same user, another day
            event("search", feb25, term="RO", results=3),
            event("search", feb27, term="ro", results=0),
            event("product_view", feb27, product_id=1),
            event("order", feb28),
            event("page_view", mar2, page="pages/catalog/index"),
        ],
    )
    await _send(
        client,
        b,
        [
            event("page_view", feb28, page="pages/home/index"),
            event("search", feb28, term="Ro", results=0),
            event("search", feb28, term="滤芯", results=5),
        ],
    )
    await _send(
        client,
        world.theirs,
        [
            event("page_view", feb27, page="pages/catalog/index"),
            event("search", feb27, term="滤芯", results=0),
        ],
    )


FEB = (date(2031, 2, 1), date(2031, 2, 28))
BRAND_FEB = [
    ("page_view", 3, 3, 4),
    ("product_view", 1, 1, 1),
    ("add_to_cart", 0, 0, 0),
    ("checkout", 0, 0, 0),
    ("order", 1, 1, 1),
]
BRAND_FEB_TERMS = [
    {"term": "RO", "searches": 3, "users": 2, "zero_results": 2, "zero_pct": 66.7},
    {"term": "滤芯", "searches": 2, "users": 2, "zero_results": 1, "zero_pct": 50.0},
]
BRAND_FEB_PAGES = [("pages/home/index", 3, 2, 2), ("pages/catalog/index", 1, 1, 1)]


async def _february_as_expected(client: httpx.AsyncClient, world: World) -> None:
    funnel = await _report(client, FUNNEL, world.brand, *FEB)
    assert _funnel(funnel) == BRAND_FEB
    terms = await _report(client, TERMS, world.brand, *FEB)
    assert terms["items"] == BRAND_FEB_TERMS
    assert terms["total"] == {"searches": 5, "terms": 2, "zero_results": 3, "zero_pct": 60.0}
    zero = await _report(client, TERMS, world.brand, *FEB, zero="true", limit="1")
    assert [item["term"] for item in zero["items"]] == ["RO"]
    pages = await _report(client, PAGES, world.brand, *FEB)
    assert [(p["page"], p["views"], p["users"], p["stores"]) for p in pages["items"]] == (
        BRAND_FEB_PAGES
    )
    # One distributor: the two stores of the tenant's own.
    mine = {"distributor_id": str(world.tenant.distributor.id)}
    scoped = await _report(client, FUNNEL, world.brand, *FEB, **mine)
    assert [s["users"] for s in scoped["steps"]] == [2, 1, 0, 0, 1]
    scoped_terms = await _report(client, TERMS, world.brand, *FEB, **mine)
    assert [(t["term"], t["searches"], t["users"]) for t in scoped_terms["items"]] == [
        ("RO", 3, 2),
        ("滤芯", 1, 1),
    ]
    # February and two days of March: the month and the days at the edge together.
    longer = await _report(client, PAGES, world.brand, FEB[0], date(2031, 3, 2))
    assert [(p["page"], p["views"], p["users"]) for p in longer["items"]] == [
        ("pages/home/index", 3, 2),
        ("pages/catalog/index", 2, 2),
    ]


async def _rows() -> list[tuple[Any, ...]]:
    return sorted(
        (
            r.brand_id,
            r.distributor_id,
            r.kind,
            r.grain,
            r.day,
            r.key,
            r.events,
            r.zero_results,
            r.term,
            bytes(r.users),
            bytes(r.stores),
        )
        for r in await EventDay.all()
    )


async def test_figures_are_exact_by_day_and_by_finished_month(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    at_noon(deps)
    world = await _world(client, sandbox_client)
    await _february(client, world)
    # Nothing is summed until the job runs: the reports lag by its period.
    assert _funnel(await _report(client, FUNNEL, world.brand, *FEB))[0] == ("page_view", 0, 0, 0)
    assert await event_days.refresh(deps) == 4  # Feb 25, 27, 28 and Mar 2
    assert await EventDayMark.all().count() == 0
    assert await EventDay.filter(grain="month").count() == 0  # February may still change
    await _february_as_expected(client, world)
    assert await event_days.refresh(deps) == 0  # nothing marked since

    # Two weeks on February can change no more: its days are summed into month rows, which
    # answer as the days did.
    at_noon(deps, NOON + timedelta(days=12))
    world.brand = await staff_headers(client, world.tenant.admin_username)  # signed in again
    assert await event_days.refresh(deps) == 0
    months = await EventDay.filter(grain="month").values_list("day", flat=True)
    assert set(months) == {date(2031, 2, 1)}
    await _february_as_expected(client, world)

    # A rebuild from the raw events gives the rows the job gave, months included.
    before = await _rows()
    summed = await event_days.rebuild(deps)
    assert (summed.days, summed.months) == (4, [date(2031, 2, 1)])
    assert await _rows() == before

    # A February day summed again (an event written by hand) sums the month again with it.
    owner = world.tenant.store
    feb26 = china(date(2031, 2, 26))
    await BehaviourEvent.create(
        brand_id=world.tenant.brand.id,
        store_id=owner.id,
        user_id=999_999,
        kind="order",
        client_id="by-hand",
        occurred_at=feb26,
        day=feb26.date(),
        received_at=feb26,
    )
    await event_days.mark(world.tenant.brand.id, [feb26.date()], deps.clock.now())
    assert await event_days.refresh(deps) == 1
    funnel = await _report(client, FUNNEL, world.brand, *FEB)
    assert _funnel(funnel)[-1] == ("order", 2, 1, 2)


async def test_a_late_event_sums_its_own_day_again(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    today = now.astimezone(CHINA).date()
    await _send(client, world.ours[0], [event("search", now, term="滤芯", results=1)])
    assert await event_days.refresh(deps) == 1
    # A phone that was offline sends a search of three days ago.
    late = now - timedelta(days=3)
    await _send(client, world.ours[1], [event("search", late, term="滤芯", results=0)])
    marked = await EventDayMark.all().values_list("day", flat=True)
    assert marked == [late.astimezone(CHINA).date()]
    assert await event_days.refresh(deps) == 1  # that day alone
    body = await _report(client, TERMS, world.brand, today - timedelta(days=6), today)
    assert body["items"] == [
        {"term": "滤芯", "searches": 2, "users": 2, "zero_results": 1, "zero_pct": 50.0}
    ]


async def test_a_batch_landing_while_its_day_is_summed_is_not_lost(
    client: httpx.AsyncClient,
    sandbox_client: httpx.AsyncClient,
    deps: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    today = now.astimezone(CHINA).date()
    await _send(client, world.ours[0], [event("page_view", now, page="pages/home/index")])
    # The batch goes from outside the job's transaction, as another request would.
    outside = contextvars.copy_context()
    summing = event_days._sum_day
    landed: list[asyncio.Task[Any]] = []

    async def sum_while_a_batch_lands(brand_id: int, day: date) -> int:
        changed = await summing(brand_id, day)  # the day's events are read
        batch = [event("page_view", deps.clock.now(), page="pages/home/index")]
        landed.append(
            asyncio.create_task(_send(client, world.ours[1], batch), context=outside.copy())
        )
        if ON_POSTGRES:
            await landed[0]  # committed, mark and all, before the job deletes its mark
        return changed

    monkeypatch.setattr(event_days, "_sum_day", sum_while_a_batch_lands)
    assert await event_days.refresh(deps) == 1
    await landed[0]  # SQLite: it waited for the job's transaction to end
    monkeypatch.undo()
    assert await EventDayMark.filter(day=today).count() == 1  # the batch's mark stays
    before = await _report(client, FUNNEL, world.brand, today, today)
    assert _funnel(before)[0] == ("page_view", 1, 1, 1)  # summed before the batch landed
    assert await event_days.refresh(deps) == 1
    after = await _report(client, FUNNEL, world.brand, today, today)
    assert _funnel(after)[0] == ("page_view", 2, 2, 2)
    assert await EventDayMark.all().count() == 0


async def test_a_day_is_filed_under_the_distributor_its_stores_had_when_summed(
    client: httpx.AsyncClient, sandbox_client: httpx.AsyncClient, deps: Any
) -> None:
    world = await _world(client, sandbox_client)
    now = deps.clock.now()
    today = now.astimezone(CHINA).date()
    yesterday = today - timedelta(days=1)
    second = world.ours[1]
    await _send(
        client, second, [event("page_view", now - timedelta(days=1), page="pages/home/index")]
    )
    assert await event_days.refresh(deps) == 1
    # The store moves to the other distributor; its next day is filed there, its past stays.
    store_id = (await BehaviourEvent.first()).store_id  # type: ignore[union-attr]
    await Store.filter(id=store_id).update(distributor_id=world.tenant.other_distributor.id)
    await _send(client, second, [event("page_view", now, page="pages/home/index")])
    assert await event_days.refresh(deps) == 1
    users = {}
    for distributor in (world.tenant.distributor, world.tenant.other_distributor):
        scope = {"distributor_id": str(distributor.id)}
        for day in (yesterday, today):
            body = await _report(client, FUNNEL, world.brand, day, day, **scope)
            users[(distributor.id, day)] = body["steps"][0]["users"]
    assert users == {
        (world.tenant.distributor.id, yesterday): 1,
        (world.tenant.distributor.id, today): 0,
        (world.tenant.other_distributor.id, yesterday): 0,
        (world.tenant.other_distributor.id, today): 1,
    }
    whole = await _report(client, FUNNEL, world.brand, yesterday, today)
    assert _funnel(whole)[0] == ("page_view", 1, 1, 2)  # one user on two days
