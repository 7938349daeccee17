"""The life of a complaint as a table: which action, by whom, moves it from which status to
which. Pure: the service writes each move with a guarded UPDATE (WHERE status = <from>).

new → acknowledged (brand) → assigned to a distributor (brand) → responded (distributor)
→ resolved (brand) → closed when the store confirms, or reopened by the store within the
reopening window (then back to the brand: acknowledged again) → … ; the brand may close a
resolved complaint once the window has passed.
"""

from __future__ import annotations

from enum import StrEnum

from backend.complaints.models import ComplaintStatus as S
from backend.kernel.errors import Conflict, Forbidden


class Actor(StrEnum):
    STORE = "store"
    DISTRIBUTOR = "distributor"
    BRAND = "brand"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    RESPOND = "respond"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    CLOSE = "close"


# (action, from) -> (to, who may do it)
TRANSITIONS: dict[tuple[Action, S], tuple[S, Actor]] = {
    (Action.ACKNOWLEDGE, S.NEW): (S.ACKNOWLEDGED, Actor.BRAND),
    (Action.ACKNOWLEDGE, S.REOPENED): (S.ACKNOWLEDGED, Actor.BRAND),
    (Action.ASSIGN, S.ACKNOWLEDGED): (S.ASSIGNED, Actor.BRAND),
    (Action.RESPOND, S.ASSIGNED): (S.RESPONDED, Actor.DISTRIBUTOR),
    (Action.RESOLVE, S.RESPONDED): (S.RESOLVED, Actor.BRAND),
    (Action.CONFIRM, S.RESOLVED): (S.CLOSED, Actor.STORE),
    (Action.REOPEN, S.RESOLVED): (S.REOPENED, Actor.STORE),
    (Action.CLOSE, S.RESOLVED): (S.CLOSED, Actor.BRAND),
}

STATUS_NAMES = {
    S.NEW: "待受理",
    S.ACKNOWLEDGED: "品牌已受理",
    S.ASSIGNED: "已转经销商处理",
    S.RESPONDED: "经销商已答复",
    S.RESOLVED: "已解决，待您确认",
    S.REOPENED: "已重新打开",
    S.CLOSED: "已关闭",
}

ACTION_NAMES = {
    Action.ACKNOWLEDGE: "受理",
    Action.ASSIGN: "转经销商",
    Action.RESPOND: "答复",
    Action.RESOLVE: "标记解决",
    Action.CONFIRM: "确认解决",
    Action.REOPEN: "重新打开",
    Action.CLOSE: "关闭",
}


class IllegalTransition(Conflict):
    code = "complaint.illegal_transition"
    message = "投诉当前状态不允许此操作"


class ActionNotAllowed(Forbidden):
    code = "complaint.action_not_allowed"
    message = "您不能对该投诉执行此操作"


def next_status(current: S, action: Action, actor: Actor) -> S:
    rule = TRANSITIONS.get((action, current))
    if rule is None:
        raise IllegalTransition(
            f"投诉{STATUS_NAMES[current]}，不能{ACTION_NAMES[action]}",
            details={"status": current.value, "action": action.value},
        )
    target, allowed = rule
    if actor != allowed:
        raise ActionNotAllowed(details={"action": action.value})
    return target
