"""Domain events: handlers inside the recording transaction or after its commit, and the one
place they are registered (backend/wiring.py), never a module's import."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from backend.analytics import storesets as analytics_storesets
from backend.codes import diversion as codes_diversion
from backend.complaints import service as complaints_service
from backend.complaints.models import Complaint, ComplaintStatus
from backend.infra import events, sql
from backend.infra.models import JobRecord
from backend.kernel.events import (
    ComplaintFiled,
    ComplaintStepTaken,
    DeliverySigned,
    DiversionAlertRaised,
    LiveSessionEnded,
    LiveSessionStarted,
    LiveStreamChanged,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    StoreTagsChanged,
)
from backend.livestream import service as livestream_service
from backend.livestream.models import LiveSession
from backend.notifications import service as notifications_service
from backend.ordering import service as ordering_service
from backend.org.models import Store
from backend.payments import service as payments_service
from tests.factories import bearer, make_store, make_tenant
from tests.test_architecture import BACKEND, DOMAINS, ROOT
from tests.test_complaints import filed, parties, step
from tests.test_live_sessions import API as LIVE_API
from tests.test_live_sessions import distributor_admin, make_shop, scheduled, session_body
from tests.test_payments import paid_order


@dataclass(frozen=True)
class Renamed:
    store_id: int


async def _name_of(store_id: int) -> str:
    return (await Store.get(id=store_id)).name


async def test_in_transaction_handlers_commit_with_the_change_and_after_commit_ones_follow(
    deps,
) -> None:
    store = await make_store(await make_tenant())
    registry = events.Registry()
    happened: list[str] = []

    async def with_it(_deps: Any, renamed: Renamed) -> None:
        await sql.execute("UPDATE stores SET phone = '13900000000' WHERE id = $1", renamed.store_id)
        happened.append("with the change")

    async def after_it(_deps: Any, renamed: Renamed) -> None:
        # Another connection sees what the transaction wrote: it has committed.
        happened.append(f"after commit: {await _name_of(renamed.store_id)}")

    registry.on(Renamed, with_it)
    registry.on(Renamed, after_it, phase=events.AFTER_COMMIT)
    async with sql.atomic():
        await sql.execute("UPDATE stores SET name = '新名' WHERE id = $1", store.id)
        await registry.record(deps, Renamed(store.id))
        happened.append("end of the block")
    assert happened == ["with the change", "end of the block", "after commit: 新名"]
    assert (await Store.get(id=store.id)).phone == "13900000000"


async def test_a_rolled_back_change_runs_no_after_commit_handler(deps) -> None:
    store = await make_store(await make_tenant())
    registry = events.Registry()
    happened: list[str] = []

    async def after_it(_deps: Any, renamed: Renamed) -> None:
        happened.append("after commit")

    registry.on(Renamed, after_it, phase=events.AFTER_COMMIT)
    with pytest.raises(RuntimeError):
        async with sql.atomic():
            await sql.execute("UPDATE stores SET name = '新名' WHERE id = $1", store.id)
            await registry.record(deps, Renamed(store.id))
            raise RuntimeError("refused")
    assert happened == []
    assert await _name_of(store.id) == store.name


async def test_a_failing_in_transaction_handler_rolls_the_change_back(deps) -> None:
    store = await make_store(await make_tenant())
    registry = events.Registry()

    async def refuses(_deps: Any, renamed: Renamed) -> None:
        raise RuntimeError("stock can not go back")

    registry.on(Renamed, refuses)
    with pytest.raises(RuntimeError):
        async with sql.atomic():
            await sql.execute("UPDATE stores SET name = '新名' WHERE id = $1", store.id)
            await registry.record(deps, Renamed(store.id))
    assert await _name_of(store.id) == store.name


async def test_a_failing_after_commit_handler_is_logged_and_the_change_stays(deps, caplog) -> None:
    store = await make_store(await make_tenant())
    registry = events.Registry()
    happened: list[str] = []

    async def fails(_deps: Any, renamed: Renamed) -> None:
        raise RuntimeError("push refused")

    async def follows(_deps: Any, renamed: Renamed) -> None:
        happened.append("told")

    registry.on(Renamed, fails, phase=events.AFTER_COMMIT)
    registry.on(Renamed, follows, phase=events.AFTER_COMMIT)
    async with sql.atomic():
        await sql.execute("UPDATE stores SET name = '新名' WHERE id = $1", store.id)
        await registry.record(deps, Renamed(store.id))
    assert await _name_of(store.id) == "新名"
    assert happened == ["told"]  # one handler's failure holds back no other
    assert "after-commit callback failed" in caplog.text


def test_registering_a_handler_twice_calls_it_once() -> None:
    registry = events.Registry()

    async def handler(_deps: Any, renamed: Renamed) -> None: ...

    registry.on(Renamed, handler)
    registry.on(Renamed, handler)
    assert registry.handlers(Renamed, events.IN_TRANSACTION) == (handler,)
    with pytest.raises(ValueError, match="phase"):
        registry.on(Renamed, handler, phase="later")  # type: ignore[arg-type]


def test_the_composition_root_registers_every_reaction() -> None:
    """The process the tests run in imported backend.app, as every process does: live stock
    goes back with any cancel, whichever module cancelled it, and 0-fen orders are paid."""
    assert events.REGISTRY.registered() == {
        (OrderPlaced, events.IN_TRANSACTION): (payments_service.pay_if_free,),
        (OrderPlaced, events.AFTER_COMMIT): (livestream_service.tell_room_of_order,),
        (OrderCancelled, events.IN_TRANSACTION): (livestream_service.give_back_live_stock,),
        (OrderCancelled, events.AFTER_COMMIT): (livestream_service.tell_room_of_cancel,),
        (ComplaintFiled, events.IN_TRANSACTION): (complaints_service.ask_for_review,),
        (ComplaintFiled, events.AFTER_COMMIT): (complaints_service.announce_filing,),
        (ComplaintStepTaken, events.IN_TRANSACTION): (
            complaints_service.notify_of_breach,
            complaints_service.tell_store,
        ),
        (ComplaintStepTaken, events.AFTER_COMMIT): (complaints_service.announce_step,),
        (LiveSessionStarted, events.AFTER_COMMIT): (livestream_service.tell_room_of_start,),
        (LiveSessionEnded, events.AFTER_COMMIT): (livestream_service.tell_room_of_end,),
        (LiveStreamChanged, events.AFTER_COMMIT): (livestream_service.tell_room_of_stream,),
        (DiversionAlertRaised, events.AFTER_COMMIT): (codes_diversion.notify_of_alert,),
        (StoreTagsChanged, events.IN_TRANSACTION): (analytics_storesets.note_tag_change,),
    }
    # OrderPaid has no in-transaction handler, so the payment's one statement may settle it.
    assert events.handlers(OrderPaid, events.IN_TRANSACTION) == ()
    assert ordering_service.AFTER_SALE_SOURCES() == (
        payments_service.orders_with_refunds,
        complaints_service.orders_with_open_complaints,
    )


_IMPORT_EVERY_DOMAIN = """
import importlib, json, pathlib, sys
from backend.infra import events
from backend.kernel.ports import PortNotPlugged
from backend.ordering import service as ordering_service
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/*.py")):
    if path.parent.name in json.loads(sys.argv[2]):
        importlib.import_module(f"backend.{path.parent.name}.{path.stem}")
try:
    ordering_service.AFTER_SALE_SOURCES()
    plugged = True
except PortNotPlugged:
    plugged = False
print(json.dumps({"registered": len(events.REGISTRY.registered()), "plugged": plugged,
                  "app": "backend.app" in sys.modules, "wiring": "backend.wiring" in sys.modules}))
"""


def test_importing_every_domain_module_registers_nothing() -> None:
    """No module registers a reaction or plugs a port when imported: a process that cancels
    orders without going through the composition root would otherwise lose some of them
    depending on what it happened to import."""
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_DOMAIN, str(BACKEND), json.dumps(DOMAINS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome == {"registered": 0, "plugged": False, "app": False, "wiring": False}


@pytest.fixture
def pushed(deps, monkeypatch) -> list[tuple[str, Any]]:
    """What the API pushes to clients from now on (the realtime server is not running)."""
    sent: list[tuple[str, Any]] = []

    async def emit(event: str, data: Any, *, rooms: list[str], namespace: str) -> None:
        sent.append((event, data))

    monkeypatch.setattr(deps.broadcast, "emit", emit)
    return sent


async def _jobs_of(complaint_id: int) -> int:
    """Subscribe messages about the complaint waiting as jobs."""
    page = f"pages/complaint/index?id={complaint_id}"
    deferred = await JobRecord.filter(task=notifications_service.SUBSCRIBE_TASK)
    return sum(job.args["page"] == page for job in deferred)


async def test_a_complaint_step_that_rolls_back_pushes_nothing_and_defers_no_job(
    client, sandbox_client, pushed
) -> None:
    """The store's message is a job written by an in-transaction handler and the consoles'
    push an after-commit one: a step refused after both ran leaves neither."""
    _shop, brand, _distributor, owner = await parties(client, sandbox_client)
    complaint_id = (await filed(client, owner))["id"]
    jobs_before = await _jobs_of(complaint_id)
    pushed.clear()

    async def refuses(_deps: Any, _step: ComplaintStepTaken) -> None:
        raise complaints_service.StatusChanged()  # after tell_store deferred its job

    events.on(ComplaintStepTaken, refuses, phase=events.IN_TRANSACTION)
    try:
        response = await step(client, brand, complaint_id, "acknowledge")
    finally:
        events.off(ComplaintStepTaken, refuses, phase=events.IN_TRANSACTION)
    assert response.status_code == 409, response.text
    assert pushed == []
    assert await _jobs_of(complaint_id) == jobs_before
    assert (await Complaint.get(id=complaint_id)).status == ComplaintStatus.NEW


async def test_a_committed_complaint_step_pushes_once_and_defers_its_job(
    client, sandbox_client, pushed
) -> None:
    _shop, brand, _distributor, owner = await parties(client, sandbox_client)
    complaint_id = (await filed(client, owner))["id"]
    assert pushed == [("complaint.changed", {"id": complaint_id, "change": "filed"})]
    jobs_before = await _jobs_of(complaint_id)
    pushed.clear()
    response = await step(client, brand, complaint_id, "acknowledge")
    assert response.status_code == 200, response.text
    assert pushed == [("complaint.changed", {"id": complaint_id, "change": "acknowledge"})]
    assert await _jobs_of(complaint_id) == jobs_before + 1


async def test_shipping_and_signing_an_order_are_recorded_once_committed(
    client, sandbox_client, live_api
) -> None:
    _, owner, order, distributor = await paid_order(client, sandbox_client)
    url = f"/api/v1/orders/{order['id']}"
    seen: list[object] = []

    async def saw(_deps: Any, event: object) -> None:
        seen.append(event)

    for kind in (OrderShipped, DeliverySigned):
        events.on(kind, saw, phase=events.AFTER_COMMIT)
    try:
        assert (await client.post(f"{url}/accept", headers=distributor)).status_code == 200
        shipment = {"logistics_note": "经销商自送"}
        shipped = await client.post(f"{url}/ship", json=shipment, headers=distributor)
        assert shipped.status_code == 200, shipped.text
        signed = await client.post(f"{url}/sign", json={}, headers=bearer(owner))
        assert signed.status_code == 200, signed.text
    finally:
        for kind in (OrderShipped, DeliverySigned):
            events.off(kind, saw, phase=events.AFTER_COMMIT)
    assert [(type(event), event.order_id) for event in seen] == [  # type: ignore[attr-defined]
        (OrderShipped, order["id"]),
        (DeliverySigned, order["id"]),
    ]


STREAM = "https://live.example.com/hls/1.m3u8"


async def test_the_room_hears_the_hosts_start_stream_and_end_once_committed(
    client, deps, pushed
) -> None:
    """What a route used to push by hand, after-commit handlers push now: the same pushes,
    from the rows as committed."""
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    url = f"{LIVE_API}/{session['id']}"
    pushed.clear()
    assert (await client.post(f"{url}/start", headers=host)).status_code == 200
    assert pushed == [("session", {"status": "live"})]
    changed = await client.patch(url, json={"stream_url": STREAM}, headers=host)
    assert changed.status_code == 200, changed.text
    assert pushed[1:] == [("stream", {"stream_url": STREAM})]
    assert (await client.post(f"{url}/end", headers=host)).status_code == 200
    version = pushed[-1][1]["version"]
    assert pushed[2:] == [
        ("viewers", {"count": 0, "version": version}),
        ("session", {"status": "ended", "card": None, "version": version}),
    ]


@pytest.mark.parametrize(
    ("kind", "path", "before", "method"),
    [
        (LiveSessionStarted, "/start", "scheduled", "post"),
        (LiveStreamChanged, "", "scheduled", "patch"),
        (LiveSessionEnded, "/end", "live", "post"),
    ],
)
async def test_a_host_change_that_rolls_back_tells_the_room_nothing(
    client, deps, pushed, kind, path, before, method
) -> None:
    """A handler failing inside the transaction rolls the change back: no push went out,
    and the session is as it was."""
    shop = await make_shop()
    host = await distributor_admin(client, shop)
    session = await scheduled(client, host, session_body(shop, deps))
    url = f"{LIVE_API}/{session['id']}"
    if before == "live":
        assert (await client.post(f"{url}/start", headers=host)).status_code == 200
    pushed.clear()

    async def refuses(_deps: Any, _event: object) -> None:
        raise livestream_service.SessionStatusChanged("测试：拒绝")

    events.on(kind, refuses, phase=events.IN_TRANSACTION)
    try:
        body = {"stream_url": STREAM} if method == "patch" else None
        response = await client.request(method.upper(), f"{url}{path}", json=body, headers=host)
    finally:
        events.off(kind, refuses, phase=events.IN_TRANSACTION)
    assert response.status_code == 409, response.text
    assert pushed == []
    unchanged = await LiveSession.get(id=session["id"])
    assert (unchanged.status, unchanged.stream_url) == (before, session["stream_url"])
