"""The life of an order as a table: which action, by whom, moves it from which status to which.

Pure: the service asks `next_status` and then writes the change with a guarded UPDATE
(`WHERE status = <from>`), so two concurrent actions can never both apply.
"""

from __future__ import annotations

from enum import StrEnum

from backend.kernel.errors import Conflict, Forbidden
from backend.ordering.models import OrderStatus as S


class Actor(StrEnum):
    STORE = "store"
    SALESPERSON = "salesperson"
    DISTRIBUTOR = "distributor"
    BRAND = "brand"
    SYSTEM = "system"


class Action(StrEnum):
    PAY = "pay"
    RECORD_OFFLINE_PAYMENT = "record_offline_payment"
    CANCEL = "cancel"
    ACCEPT = "accept"
    SHIP = "ship"
    DELIVER = "deliver"
    SIGN = "sign"
    EXPIRE = "expire"


# (action, from) -> (to, who may do it)
TRANSITIONS: dict[tuple[Action, S], tuple[S, frozenset[Actor]]] = {
    (Action.PAY, S.PENDING_PAYMENT): (S.PAID, frozenset({Actor.SYSTEM})),
    (Action.RECORD_OFFLINE_PAYMENT, S.PENDING_PAYMENT): (S.PAID, frozenset({Actor.DISTRIBUTOR})),
    # Unpaid, no money moved: the distributor may close it too (the store asked by phone, or
    # refused a cash-on-delivery order); once paid only the store withdraws it.
    (Action.CANCEL, S.PENDING_PAYMENT): (
        S.CANCELLED,
        frozenset({Actor.STORE, Actor.SALESPERSON, Actor.DISTRIBUTOR}),
    ),
    (Action.EXPIRE, S.PENDING_PAYMENT): (S.CANCELLED, frozenset({Actor.SYSTEM})),
    # Paid but not yet accepted: the store may still withdraw; payments refunds it in full.
    (Action.CANCEL, S.PAID): (S.CANCELLED, frozenset({Actor.STORE})),
    (Action.ACCEPT, S.PAID): (S.ACCEPTED, frozenset({Actor.DISTRIBUTOR})),
    (Action.SHIP, S.ACCEPTED): (S.SHIPPED, frozenset({Actor.DISTRIBUTOR})),
    (Action.DELIVER, S.SHIPPED): (S.DELIVERED, frozenset({Actor.DISTRIBUTOR})),
    (Action.SIGN, S.SHIPPED): (S.COMPLETED, frozenset({Actor.STORE})),
    (Action.SIGN, S.DELIVERED): (S.COMPLETED, frozenset({Actor.STORE})),
}

# Leaving these statuses gives the reserved stock back.
RELEASES_STOCK = frozenset(
    {
        (Action.CANCEL, S.PENDING_PAYMENT),
        (Action.CANCEL, S.PAID),
        (Action.EXPIRE, S.PENDING_PAYMENT),
    }
)

STATUS_NAMES = {
    S.PENDING_PAYMENT: "待付款",
    S.PAID: "待接单",
    S.ACCEPTED: "待发货",
    S.SHIPPED: "已发货",
    S.DELIVERED: "已送达",
    S.COMPLETED: "已完成",
    S.CANCELLED: "已取消",
}


class IllegalTransition(Conflict):
    code = "order.illegal_transition"
    message = "订单当前状态不允许此操作"


class ActionNotAllowed(Forbidden):
    code = "order.action_not_allowed"
    message = "您不能对该订单执行此操作"


def next_status(current: S, action: Action, actor: Actor) -> S:
    rule = TRANSITIONS.get((action, current))
    if rule is None:
        raise IllegalTransition(
            f"订单{STATUS_NAMES[current]}，不能{ACTION_NAMES[action]}",
            details={"status": current.value, "action": action.value},
        )
    target, allowed = rule
    if actor not in allowed:
        raise ActionNotAllowed(details={"action": action.value})
    return target


def permitted(current: S, action: Action, actor: Actor) -> bool:
    """Whether `next_status` would let `actor` take `action` from `current` (what a client
    may offer; the guarded update still decides)."""
    rule = TRANSITIONS.get((action, current))
    return rule is not None and actor in rule[1]


ACTION_NAMES = {
    Action.PAY: "支付",
    Action.RECORD_OFFLINE_PAYMENT: "登记线下收款",
    Action.CANCEL: "取消",
    Action.ACCEPT: "接单",
    Action.SHIP: "发货",
    Action.DELIVER: "标记送达",
    Action.SIGN: "签收",
    Action.EXPIRE: "超时关闭",
}
