"""A partial index (only the rows a condition picks), written the same on PostgreSQL and
SQLite: Tortoise's own PartialIndex takes equality conditions only, and the codes' lists
need `IS NULL` and `IS NOT NULL` too (a box not shipped yet, an item sold)."""

from __future__ import annotations

from typing import Any

from tortoise.indexes import Index


class WhereIndex(Index):
    """An index of `fields` over the rows `where` holds for: plain SQL that both databases
    read ("kind = 'box' AND distributor_id IS NULL"). Named, since two such indexes may
    share their fields."""

    def __init__(self, *, fields: tuple[str, ...] | list[str], name: str, where: str) -> None:
        super().__init__(fields=fields, name=name)
        self.where = where
        self.extra = f" WHERE {where}"

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"where": self.where}

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        return path, args, kwargs | {"where": self.where}
