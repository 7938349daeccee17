"""The composition root's wiring: ports plugged in and event handlers registered, in one place.

Domains depend on each other one way (tests/test_architecture.py). Where a lower domain
needs to ask a higher one something, it declares a `Port` (backend/kernel/ports.py) that is
plugged here; where others react to what a domain did, the domain records an event
(backend/kernel/events.py) and the reactions are registered here (backend/infra/events.py),
never by importing a module for its side effects. backend/app.py calls `wire()` when it is
imported, and every process imports it (the API, realtime, the CLI and tests), so every
process is wired the same way, whichever domains it happens to import itself.
"""

from __future__ import annotations

from backend.analytics import storesets as analytics_storesets
from backend.codes import diversion as codes_diversion
from backend.complaints import service as complaints_service
from backend.coupons import service as coupons_service
from backend.identity import service as identity_service
from backend.infra import events
from backend.kernel.events import (
    ComplaintFiled,
    ComplaintStepTaken,
    DiversionAlertRaised,
    LiveSessionEnded,
    LiveSessionStarted,
    LiveStreamChanged,
    OrderCancelled,
    OrderPlaced,
    StoreTagsChanged,
)
from backend.livestream import service as livestream_service
from backend.ordering import service as ordering_service
from backend.org import service as org_service
from backend.payments import service as payments_service


def plug_ports() -> None:
    """What lower domains ask higher ones (queries, not reactions)."""
    identity_service.PHONE_PROVEN.plug(org_service.claim_salesperson_profiles)
    org_service.ORDERS.plug(ordering_service)
    coupons_service.ORDERS.plug(ordering_service)
    ordering_service.MONEY.plug(payments_service)
    # 售后: the orders with a refund that did not fail, or an open complaint.
    ordering_service.AFTER_SALE_SOURCES.plug(
        (payments_service.orders_with_refunds, complaints_service.orders_with_open_complaints)
    )


def register_handlers() -> None:
    """Who reacts to which event, and whether with the change or after its commit."""
    # An order that costs nothing is paid in its placing transaction.
    events.on(OrderPlaced, payments_service.pay_if_free, phase=events.IN_TRANSACTION)
    # A cancelled live order's quantity goes back on sale with the cancel; the room hears
    # of it once that has committed.
    events.on(OrderCancelled, livestream_service.give_back_live_stock, phase=events.IN_TRANSACTION)
    events.on(OrderCancelled, livestream_service.tell_room_of_cancel, phase=events.AFTER_COMMIT)
    # An order placed in a live room moves the room's ticker once it has committed.
    events.on(OrderPlaced, livestream_service.tell_room_of_order, phase=events.AFTER_COMMIT)
    # The room hears of the host's start, end (with its rains' results) and stream once
    # they have committed.
    events.on(LiveSessionStarted, livestream_service.tell_room_of_start, phase=events.AFTER_COMMIT)
    events.on(LiveSessionEnded, livestream_service.tell_room_of_end, phase=events.AFTER_COMMIT)
    events.on(LiveStreamChanged, livestream_service.tell_room_of_stream, phase=events.AFTER_COMMIT)
    # A complaint's notifications and the store's subscribe message (a durable job) are
    # written with the step; the consoles hear of it once it has committed.
    events.on(ComplaintFiled, complaints_service.ask_for_review, phase=events.IN_TRANSACTION)
    events.on(ComplaintFiled, complaints_service.announce_filing, phase=events.AFTER_COMMIT)
    events.on(ComplaintStepTaken, complaints_service.notify_of_breach, phase=events.IN_TRANSACTION)
    events.on(ComplaintStepTaken, complaints_service.tell_store, phase=events.IN_TRANSACTION)
    events.on(ComplaintStepTaken, complaints_service.announce_step, phase=events.AFTER_COMMIT)
    # A new diversion alert tells the brand's staff and the shipped-to distributor's once
    # its scan has committed (a refused or rolled-back scan raised nothing).
    events.on(DiversionAlertRaised, codes_diversion.notify_of_alert, phase=events.AFTER_COMMIT)
    # Figures filed under store tags are derived again by a minute job: the stores whose
    # tags changed are marked with the change, so a mark is never lost nor left by a rollback.
    events.on(StoreTagsChanged, analytics_storesets.note_tag_change, phase=events.IN_TRANSACTION)


def wire() -> None:
    """Plug every port and register every handler; running it again changes nothing."""
    plug_ports()
    register_handlers()
