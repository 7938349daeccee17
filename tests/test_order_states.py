"""Every combination of status, action and actor against the transition table."""

from __future__ import annotations

import itertools

import pytest

from backend.ordering.models import OrderStatus
from backend.ordering.states import (
    TRANSITIONS,
    Action,
    ActionNotAllowed,
    Actor,
    IllegalTransition,
    next_status,
)

ALL = list(itertools.product(OrderStatus, Action, Actor))


@pytest.mark.parametrize(("status", "action", "actor"), ALL)
def test_every_combination_is_allowed_only_by_the_table(status, action, actor) -> None:
    rule = TRANSITIONS.get((action, status))
    if rule is None:
        with pytest.raises(IllegalTransition):
            next_status(status, action, actor)
    elif actor not in rule[1]:
        with pytest.raises(ActionNotAllowed):
            next_status(status, action, actor)
    else:
        assert next_status(status, action, actor) == rule[0]


def test_finished_orders_never_move() -> None:
    for status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        assert not [key for key in TRANSITIONS if key[1] == status]


def test_only_the_system_marks_an_order_paid_by_wechat() -> None:
    assert TRANSITIONS[(Action.PAY, OrderStatus.PENDING_PAYMENT)][1] == {Actor.SYSTEM}


def test_payment_is_taken_only_while_the_order_waits_for_it() -> None:
    """record_payment updates from pending_payment without reading the status first: that is
    right only while no other status accepts a payment."""
    for action in (Action.PAY, Action.RECORD_OFFLINE_PAYMENT):
        sources = {current for (act, current) in TRANSITIONS if act == action}
        assert sources == {OrderStatus.PENDING_PAYMENT}
