"""Request shapes that several domains share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from backend.infra.http import Id, RequestModel

MAX_AUDIENCE_IDS = 500


class AudienceBody(RequestModel):
    """Which of the brand's stores something is for (a promotion, a coupon batch): each
    non-empty dimension must match; all empty means every store."""

    distributor_ids: list[Id] = Field(default_factory=list, max_length=MAX_AUDIENCE_IDS)
    region_ids: list[Id] = Field(default_factory=list, max_length=MAX_AUDIENCE_IDS)
    tiers: list[Literal["A", "B", "C", "D"]] = Field(default_factory=list, max_length=4)
    tags: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=50
    )
