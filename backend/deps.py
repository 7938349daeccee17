"""What a running process shares with every service call: settings, clock, Redis, WeChat
(mini-program and Pay), and the realtime push."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sanic import Request

from backend.config import Settings
from backend.infra.broadcast import Broadcaster
from backend.kernel.clock import Clock

if TYPE_CHECKING:
    from backend.integrations.wechat.client import MiniProgramClient
    from backend.integrations.wechat.pay import WechatPayClient


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    redis: Any
    wechat: MiniProgramClient
    pay: WechatPayClient
    broadcast: Broadcaster = field(default_factory=Broadcaster)


def request_deps(request: Request) -> Deps:
    """The process's dependencies, as a route handler sees them."""
    deps: Deps = request.app.ctx.deps
    return deps
