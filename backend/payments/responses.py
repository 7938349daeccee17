"""What starting a WeChat payment answers, as the OpenAPI document shows it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Prepay(BaseModel):
    model_config = ConfigDict(extra="allow")

    payment_id: int
    out_trade_no: str = Field(description="商户订单号")
    paid: bool = Field(
        description="true：订单已付清（如兑换券抵扣后应付 0 元），无需也不可调用 wx.requestPayment"
    )
    request_payment: dict[str, Any] | None = Field(
        default=None,
        description="原样传给 wx.requestPayment：timeStamp、nonceStr、package、signType、paySign；"
        "paid 为 true 时为 null",
    )
