"""What the sign-in endpoints answer, as the OpenAPI document shows it (tests/test_api_docs.py
checks real answers against it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Identity(BaseModel):
    """Who the token speaks for: the user and the membership (role) in use, if any."""

    model_config = ConfigDict(extra="allow")

    user_id: int
    role: str | None = Field(description="当前身份的角色；未选择身份时为 null")
    membership_id: int | None
    brand_id: int | None
    distributor_id: int | None
    store_id: int | None
    salesperson_id: int | None


class Tokens(BaseModel):
    model_config = ConfigDict(extra="allow")

    access_token: str = Field(description="放在 Authorization: Bearer 之后")
    refresh_token: str = Field(description="只能用一次：换取新令牌时一并换新")
    token_type: str = Field(description="Bearer")
    expires_in: int = Field(description="access_token 的有效秒数")
    identity: Identity
