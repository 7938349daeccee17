"""A promotion's rule as stored (plain JSON) and as the engine takes it, and the checks that
name a contradictory or impossible rule. Pure: no IO.

The stored rule is a dict with the keys of `RULE_KEYS`: audience, channels, scope,
conditions and reward (with its "kind"). Decimals are kept as strings, so the JSON gives
back exactly what was entered. A scope is {sku_ids, category_ids, bundle: [{sku_id,
set_quantity}], bundle_mode: "sets" | "all_present"}; rules saved before bundles had set
quantities (`bundle_sku_ids`, no mode) read as "all_present" (see `stored_scope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from backend.promotions import engine

RULE_KEYS = ("audience", "channels", "scope", "conditions", "reward")
DEFAULT_STEP = {
    "special_price": 1,
    "reduction": 2,
    "discount": 3,  # "on top of" the reductions
    "gift": 2,
    "rebate": 2,
    "points": 2,
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule: the field it is about and why, in Chinese."""

    field: str
    code: str
    message: str

    def as_detail(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Settings:
    """The columns of a promotion besides its rule."""

    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    stacking: str
    step: int
    priority: int
    per_store_limit: int | None


MAX_SET_QUANTITY = 999
MAX_BUNDLE_PARTS = 50


def stored_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """A stored scope in the current form. One saved before bundles counted sets (with
    `bundle_sku_ids` and no `bundle_mode`) meant "every unit once all are present", so it
    reads as that: migration 0021 rewrites such rows, and this keeps any row it did not
    see (written by a process still running the old code) meaning what it meant."""
    if "bundle_mode" in scope:
        return scope
    return {
        "sku_ids": scope.get("sku_ids", []),
        "category_ids": scope.get("category_ids", []),
        "bundle": [{"sku_id": s, "set_quantity": 1} for s in scope.get("bundle_sku_ids", [])],
        "bundle_mode": "all_present",
    }


def contradictions(settings: Settings, rule: dict[str, Any]) -> list[Problem]:
    """Everything that makes the rule contradictory or impossible, each naming its field."""
    scope = stored_scope(rule["scope"])
    return [
        *_timing_problems(settings, rule["reward"]["kind"]),
        *_scope_problems(scope),
        *_reward_problems(rule["reward"], rule["conditions"], scope),
        *(
            [
                Problem(
                    "per_store_limit", "promotion.limit_zero", "每店限参与次数为 0 时活动无法使用"
                )
            ]
            if settings.per_store_limit == 0
            else []
        ),
    ]


def _timing_problems(settings: Settings, kind: str) -> list[Problem]:
    problems = []
    if settings.starts_at.tzinfo is None or settings.ends_at.tzinfo is None:
        problems.append(
            Problem(
                "starts_at",
                "promotion.naive_time",
                "活动时间需带时区，例如 2026-12-01T00:00:00+08:00",
            )
        )
    elif settings.ends_at <= settings.starts_at:
        problems.append(Problem("ends_at", "promotion.window_empty", "结束时间必须晚于开始时间"))
    if kind == "special_price" and settings.step != 1:
        problems.append(
            Problem("step", "promotion.step_mismatch", "特价改变商品单价，只能在第 1 步执行")
        )
    if kind in ("reduction", "discount") and settings.step == 1:
        problems.append(
            Problem(
                "step",
                "promotion.step_mismatch",
                "满减和折扣是整单优惠，只能在第 2 或第 3 步执行",
            )
        )
    return problems


def _scope_problems(scope: dict[str, Any]) -> list[Problem]:
    problems = []
    bundle = scope["bundle"]
    if bundle and (scope["sku_ids"] or scope["category_ids"]):
        problems.append(
            Problem(
                "scope",
                "promotion.bundle_mixed",
                "组合活动只能指定组合内的商品，不能同时指定其他商品或分类",
            )
        )
    skus = [part["sku_id"] for part in bundle]
    if repeated := sorted({sku for sku in skus if skus.count(sku) > 1}):
        problems.append(
            Problem(
                "scope.bundle",
                "promotion.bundle_duplicate_sku",
                f"组合中同一商品只能出现一次，请合并成套数量: {repeated}",
            )
        )
    elif len(bundle) == 1:
        problems.append(
            Problem("scope.bundle", "promotion.bundle_too_small", "组合活动至少需要两种商品")
        )
    return problems


def _reward_problems(
    reward: dict[str, Any], conditions: dict[str, Any], scope: dict[str, Any]
) -> list[Problem]:
    kind = reward["kind"]
    if kind == "special_price":
        fixed, percent = reward.get("unit_price_fen"), reward.get("percent_of_list")
        if (fixed is None) == (percent is None):
            return [
                Problem(
                    "reward",
                    "promotion.special_price_form",
                    "特价需设置固定单价或原价比例，且只能二选一",
                )
            ]
        if percent is not None and Decimal(percent) >= 100:
            return [
                Problem(
                    "reward.percent_of_list", "promotion.no_saving", "特价比例必须低于原价的 100%"
                )
            ]
    if kind == "reduction" and reward["amount_off_fen"] >= reward["threshold_fen"]:
        return [
            Problem(
                "reward.amount_off_fen",
                "promotion.reduction_exceeds_threshold",
                "减免金额必须小于满减门槛",
            )
        ]
    if kind == "gift" and reward["per_multiple"]:
        return _gift_multiple_problems(conditions, scope)
    if kind == "points":
        return _points_problems(reward)
    return []


def _gift_multiple_problems(conditions: dict[str, Any], scope: dict[str, Any]) -> list[Problem]:
    if scope["bundle"] and scope["bundle_mode"] == "sets":
        return [
            Problem(
                "reward.per_multiple",
                "promotion.gift_per_set",
                "成套组合的赠品按凑齐的套数赠送，不能再设置“每满送”",
            )
        ]
    if not (conditions["min_quantity"] or conditions["min_amount_fen"]):
        return [
            Problem(
                "reward.per_multiple",
                "promotion.gift_multiple_without_condition",
                "“每满送”需要设置数量或金额条件",
            )
        ]
    return []


def _points_problems(reward: dict[str, Any]) -> list[Problem]:
    has_threshold = reward.get("threshold_fen") is not None
    if has_threshold and Decimal(reward["multiplier"]) <= 1:
        return [
            Problem(
                "reward.multiplier",
                "promotion.multiplier_too_low",
                "设置了加倍门槛时，倍数必须大于 1",
            )
        ]
    if not has_threshold and Decimal(reward["multiplier"]) != 1:
        return [
            Problem(
                "reward.threshold_fen",
                "promotion.multiplier_without_threshold",
                "设置倍数时需同时设置加倍门槛",
            )
        ]
    return []


def to_engine(
    settings: Settings, rule: dict[str, Any], gift_value_fen: int = 0
) -> engine.Promotion:
    """The engine's promotion for a stored rule. Raises ValueError for a rule that
    `contradictions` would have refused (stored rules were checked when saved)."""
    audience = rule["audience"]
    scope = stored_scope(rule["scope"])
    conditions = rule["conditions"]
    return engine.Promotion(
        id=settings.id,
        name=settings.name,
        starts_at=settings.starts_at,
        ends_at=settings.ends_at,
        reward=_reward(rule["reward"], gift_value_fen),
        audience=engine.Audience(
            distributor_ids=frozenset(audience["distributor_ids"]),
            region_ids=frozenset(audience["region_ids"]),
            tiers=frozenset(audience["tiers"]),
            tags=frozenset(audience["tags"]),
        ),
        channels=frozenset(rule["channels"]),
        scope=engine.Scope(
            sku_ids=frozenset(scope["sku_ids"]),
            category_ids=frozenset(scope["category_ids"]),
            bundle=tuple(
                engine.BundlePart(part["sku_id"], part["set_quantity"]) for part in scope["bundle"]
            ),
            bundle_mode=scope["bundle_mode"],
        ),
        conditions=engine.Conditions(
            min_quantity=conditions["min_quantity"], min_amount_fen=conditions["min_amount_fen"]
        ),
        stacking="exclusive" if settings.stacking == "exclusive" else "shared",
        step=settings.step,
        priority=settings.priority,
        per_store_limit=settings.per_store_limit,
    )


def _reward(reward: dict[str, Any], gift_value_fen: int) -> engine.Reward:
    kind = reward["kind"]
    if kind == "gift":
        return engine.Gift(
            sku_id=reward["sku_id"],
            quantity=reward["quantity"],
            value_fen=gift_value_fen,
            per_multiple=reward["per_multiple"],
        )
    if kind == "special_price":
        percent = reward.get("percent_of_list")
        return engine.SpecialPrice(
            unit_price_fen=reward.get("unit_price_fen"),
            percent_of_list=None if percent is None else Decimal(percent),
        )
    if kind == "reduction":
        return engine.Reduction(
            threshold_fen=reward["threshold_fen"],
            amount_off_fen=reward["amount_off_fen"],
            every=reward["every"],
        )
    if kind == "discount":
        return engine.Discount(percent=Decimal(reward["percent"]))
    if kind == "rebate":
        return engine.Rebate(percent=Decimal(reward["percent"]), base=reward["base"])
    if kind == "points":
        threshold = reward.get("threshold_fen")
        return engine.Points(
            per_yuan=Decimal(reward["per_yuan"]),
            threshold_fen=threshold,
            multiplier=Decimal(reward["multiplier"]),
        )
    raise ValueError(f"unknown reward kind {kind!r}")


def referenced_ids(rule: dict[str, Any]) -> dict[str, set[int]]:
    """The brand's objects a rule names, by kind, so the service can check they exist."""
    scope, audience, reward = stored_scope(rule["scope"]), rule["audience"], rule["reward"]
    skus = set(scope["sku_ids"]) | {part["sku_id"] for part in scope["bundle"]}
    if reward["kind"] == "gift":
        skus.add(reward["sku_id"])
    return {
        "sku": skus,
        "category": set(scope["category_ids"]),
        "distributor": set(audience["distributor_ids"]),
        "region": set(audience["region_ids"]),
    }
