"""PLACEHOLDER until H4's rewards land (its backend/display/rewards.py replaces this file
whole at merge): the signature submissions.submit calls when a check passes."""

from __future__ import annotations

from datetime import datetime
from typing import Any


async def pay_for_check(deps: Any, submission_id: int, now: datetime) -> dict[str, Any] | None:
    """Pay the passed check's reward, once, inside the caller's transaction: H4's version.
    This placeholder pays nothing."""
    return None
