"""A promotion's reward in one line of Chinese, as a store owner reads it on the home and product
pages ("满3000元减300元", "满10件送滤芯 × 1支"). Pure: no IO; names come in as arguments."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from backend.kernel.money import yuan
from backend.promotions import engine

KIND_NAMES: dict[str, str] = {
    "gift": "赠品",
    "special_price": "特价",
    "reduction": "满减",
    "discount": "折扣",
    "rebate": "返利",
    "points": "积分",
}


def _number(value: Decimal) -> str:
    """A decimal without trailing zeros: 90.00 → "90", 8.50 → "8.5"."""
    return format(value.normalize(), "f")


def _fold(percent: Decimal) -> str:
    """A percentage of the price as 折: 90 → "9折", 85 → "8.5折", 75.5 → "7.55折"."""
    return f"{_number(percent / 10)}折"


def _amount(fen: int) -> str:
    """Yuan for people: whole yuan without decimals ("300元"), else two ("12.50元")."""
    text = yuan(fen)
    return f"{text[:-3] if text.endswith('.00') else text}元"


def condition_text(conditions: engine.Conditions) -> str:
    """Like "满10件", "满2000元" or "满10件且满2000元"; "" without conditions."""
    parts = []
    if conditions.min_quantity:
        parts.append(f"{conditions.min_quantity}件")
    if conditions.min_amount_fen:
        parts.append(_amount(conditions.min_amount_fen))
    return f"满{'且满'.join(parts)}" if parts else ""


def gift_text(gift_name: str, quantity: int, unit: str = "") -> str:
    return f"{gift_name or '赠品'} × {quantity}{unit}"


def _gift(reward: engine.Gift, condition: str, name: str, unit: str) -> str:
    given = gift_text(name, reward.quantity, unit)
    if reward.per_multiple:
        return f"每{condition}送{given}"
    return f"{condition}送{given}" if condition else f"购买即送{given}"


def _price(reward: engine.SpecialPrice, condition: str) -> str:
    if reward.unit_price_fen is not None:
        price = f"特价{_amount(reward.unit_price_fen)}"
    else:
        price = f"原价{_fold(reward.percent_of_list or Decimal(100))}"
    return f"{condition}享{price}" if condition else price


def _money(reward: engine.Reduction | engine.Discount, condition: str) -> str:
    if isinstance(reward, engine.Discount):
        folded = _fold(reward.percent)
        return f"{condition}打{folded}" if condition else f"享{folded}"
    every = "每" if reward.every else ""
    text = f"{every}满{_amount(reward.threshold_fen)}减{_amount(reward.amount_off_fen)}"
    return f"{condition}，{text}" if condition else text


def _earned(reward: engine.Rebate | engine.Points, condition: str) -> str:
    if isinstance(reward, engine.Rebate):
        base = "原价" if reward.base == "list" else "实付"
        text = f"按{base}金额返利{_number(reward.percent)}%（付款后到账）"
    else:
        text = f"每实付1元得{_number(reward.per_yuan)}积分"
        if reward.threshold_fen is not None:
            text += f"，超过{_amount(reward.threshold_fen)}的部分{_number(reward.multiplier)}倍"
    return f"{condition}{text}"


def bundle_text(scope: engine.Scope, names: Mapping[int, str]) -> str:
    """A bundle's composition: "滤芯×2 + 净水器×1" (a SKU not named reads 商品)."""
    return " + ".join(
        f"{names.get(part.sku_id) or '商品'}×{part.set_quantity}" for part in scope.bundle
    )


def _per_set(promotion: engine.Promotion, condition: str, gift_name: str, gift_unit: str) -> str:
    """The reward of a bundle counted in sets, said of the sets (their units and amount)."""
    reward = promotion.reward
    if isinstance(reward, engine.Gift):
        return f"{condition}每套送{gift_text(gift_name, reward.quantity, gift_unit)}"
    if isinstance(reward, engine.Discount) and not condition:
        return f"每套享{_fold(reward.percent)}"
    if isinstance(reward, engine.SpecialPrice):
        return f"成套商品{_price(reward, condition)}"
    return f"成套部分{_reward_text(reward, condition, gift_name, gift_unit)}"


def _reward_text(reward: engine.Reward, condition: str, gift_name: str, gift_unit: str) -> str:
    if isinstance(reward, engine.Gift):
        return _gift(reward, condition, gift_name, gift_unit)
    if isinstance(reward, engine.SpecialPrice):
        return _price(reward, condition)
    if isinstance(reward, engine.Reduction | engine.Discount):
        return _money(reward, condition)
    return _earned(reward, condition)


def describe(
    promotion: engine.Promotion,
    gift_name: str = "",
    gift_unit: str = "",
    sku_names: Mapping[int, str] | None = None,
) -> str:
    """The reward and its condition in one line. `gift_name`/`gift_unit` name a gift's SKU,
    `sku_names` a bundle's SKUs: a bundle counted in sets reads "滤芯×2 + 净水器×1 成套：每套享
    9折", one that takes every unit once all are present "同时购买…：享9折"."""
    scope = promotion.scope
    condition = condition_text(promotion.conditions)
    if not scope.bundle:
        return _reward_text(promotion.reward, condition, gift_name, gift_unit)
    composition = bundle_text(scope, sku_names or {})
    if scope.counts_sets:
        return f"{composition} 成套：{_per_set(promotion, condition, gift_name, gift_unit)}"
    reward = _reward_text(promotion.reward, condition, gift_name, gift_unit)
    return f"同时购买{composition}：{reward}"
