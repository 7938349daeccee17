"""What a running process shares with every service call: settings, clock, Redis, WeChat
(mini-program and Pay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backend.config import Settings
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
