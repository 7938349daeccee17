"""Bundles count complete sets. A promotion's scope now lists its bundle as
[{sku_id, set_quantity}] with a `bundle_mode`: "sets" (only complete sets get the reward) or
"all_present" (every unit of the bundle's lines, once each SKU is there: the first meaning).

Promotions saved before keep that first meaning: their `bundle_sku_ids` become a bundle of
sets of one in "all_present" mode. The rule is JSON, so this is a data step only (no column
changes). It is written out here rather than imported, so that later changes to the
application's code cannot change what this migration did.
"""

import json
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops


def with_sets(scope: dict[str, Any]) -> dict[str, Any] | None:
    """The scope in the new form, meaning what it meant; None when it is already new."""
    if "bundle_mode" in scope:
        return None
    return {
        "sku_ids": scope.get("sku_ids", []),
        "category_ids": scope.get("category_ids", []),
        "bundle": [{"sku_id": s, "set_quantity": 1} for s in scope.get("bundle_sku_ids", [])],
        "bundle_mode": "all_present",
    }


def without_sets(scope: dict[str, Any]) -> dict[str, Any] | None:
    """Back to the old form for the old code: it knows no set quantities or modes, so a
    bundle reads as "all present" again whatever it was (the only meaning it can express)."""
    if "bundle_mode" not in scope:
        return None
    return {
        "sku_ids": scope["sku_ids"],
        "category_ids": scope["category_ids"],
        "bundle_sku_ids": sorted(part["sku_id"] for part in scope["bundle"]),
    }


async def _rewrite(schema_editor: Any, change: Any) -> None:
    client = schema_editor.client
    rows = await client.execute_query_dict("SELECT id, rule FROM promotions ORDER BY id")
    if client.capabilities.dialect == "sqlite":
        update = "UPDATE promotions SET rule = ? WHERE id = ?"
    else:
        update = "UPDATE promotions SET rule = $1 WHERE id = $2"
    for row in rows:
        # asyncpg gives jsonb back as text (no codec is set); SQLite stores text.
        rule = json.loads(row["rule"]) if isinstance(row["rule"], str) else row["rule"]
        scope = change(rule["scope"])
        if scope is not None:
            text = json.dumps({**rule, "scope": scope}, ensure_ascii=False)
            await client.execute_query(update, [text, row["id"]])


async def bundles_to_sets(apps: Any, schema_editor: Any) -> None:
    await _rewrite(schema_editor, with_sets)


async def sets_to_bundles(apps: Any, schema_editor: Any) -> None:
    await _rewrite(schema_editor, without_sets)


class Migration(migrations.Migration):
    dependencies = [('models', '0020_mall_delivery_and_paging_indexes')]

    initial = False

    operations = [
        ops.RunPython(bundles_to_sets, reverse_code=sets_to_bundles),
    ]
