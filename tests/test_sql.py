"""infra/sql.py: one statement text runs on both databases, inside the ORM's transactions."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from backend.infra import sql
from backend.org.models import Store, StoreTag
from tests.factories import make_store, make_tenant


async def test_list_arguments_spread_into_in_lists_and_numbers_may_repeat() -> None:
    tenant = await make_tenant()
    second = await make_store(tenant)
    third = await make_store(tenant)
    rows = await sql.fetch(
        "SELECT id FROM stores WHERE brand_id = $1 AND id IN ($2) AND brand_id = $1"
        " AND name <> $3 ORDER BY id",
        tenant.brand.id,
        [tenant.store.id, third.id],
        "no such name",
    )
    assert [row["id"] for row in rows] == [tenant.store.id, third.id]
    assert second.id not in {row["id"] for row in rows}
    # A tuple is a list argument too, and a one-element list is still an IN list.
    one = await sql.fetch_one("SELECT id, name FROM stores WHERE id IN ($1)", (second.id,))
    assert one is not None and one["name"] == second.name
    assert await sql.fetch_one("SELECT id FROM stores WHERE id = $1", 0) is None


async def test_an_empty_list_is_refused_before_reaching_the_database() -> None:
    with pytest.raises(ValueError, match="empty list"):
        await sql.fetch("SELECT id FROM stores WHERE id IN ($1)", [])


async def test_execute_counts_rows_and_joins_the_orm_transaction() -> None:
    tenant = await make_tenant()
    extra = await make_store(tenant)
    touched = await sql.execute(
        "UPDATE stores SET tier = $1 WHERE id IN ($2)", "A", [tenant.store.id, extra.id]
    )
    assert touched == 2
    assert await sql.execute("UPDATE stores SET tier = $1 WHERE id = $2", "A", 0) == 0

    with pytest.raises(RuntimeError):
        async with in_transaction():
            await sql.execute("UPDATE stores SET tier = $1 WHERE id = $2", "B", extra.id)
            await sql.execute_many(
                "UPDATE stores SET name = $1 WHERE id = $2",
                [("改名一", tenant.store.id), ("改名二", extra.id)],
            )
            raise RuntimeError("roll back")
    # Nothing the rolled-back transaction wrote is left.
    after = {store.id: store for store in await Store.filter(id__in=[tenant.store.id, extra.id])}
    assert after[extra.id].tier == "A" and after[extra.id].name == extra.name
    assert after[tenant.store.id].name == tenant.store.name


async def test_change_and_record_writes_the_record_only_when_the_change_happened() -> None:
    tenant = await make_tenant()
    store = tenant.store
    change = "UPDATE stores SET tier = $1 WHERE id = $2 AND tier = $3"
    record = "INSERT INTO store_tags (store_id, tag) SELECT $2, CAST($4 AS VARCHAR)"

    async with in_transaction():
        first = await sql.change_and_record(change, record, "A", store.id, store.tier, "升级")
    async with in_transaction():
        # The guard no longer matches: nothing changes and nothing is recorded.
        again = await sql.change_and_record(change, record, "A", store.id, store.tier, "重复")

    assert (len(first), again) == (1, [])
    assert (await Store.get(id=store.id)).tier == "A"
    assert await StoreTag.filter(store_id=store.id).values_list("tag", flat=True) == ["升级"]


async def test_after_commit_waits_for_the_outermost_transaction_and_skips_a_rollback() -> None:
    tenant = await make_tenant()
    seen: list[str] = []

    async def read_name() -> None:  # what another reader sees when the callback runs
        seen.append((await Store.get(id=tenant.store.id)).name)

    async with sql.transaction():
        await Store.filter(id=tenant.store.id).update(name="改名后")
        async with sql.transaction():  # joined: still the outer one's callbacks
            await sql.after_commit(read_name)
        assert seen == []
    assert seen == ["改名后"]

    with pytest.raises(RuntimeError):
        async with sql.transaction():
            await Store.filter(id=tenant.store.id).update(name="不会保存")
            await sql.after_commit(read_name)
            raise RuntimeError("rolled back")
    assert seen == ["改名后"]  # not run: nothing was committed
    assert (await Store.get(id=tenant.store.id)).name == "改名后"

    await sql.after_commit(read_name)  # outside any transaction: at once
    assert seen == ["改名后", "改名后"]
