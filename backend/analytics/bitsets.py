"""Sets of ids (stores, users) kept in rollup rows as compressed Roaring bitmaps.

A count of distinct stores over a period cannot be summed from daily counts: a store that
ordered on two days would count twice. Keeping each day's and month's set of stores lets a
period's distinct stores be the union of its whole months' and edge days' sets, a few dozen
unions in C (pyroaring) instead of a COUNT(DISTINCT) over hundreds of thousands of rows.
A set of 50,000 store ids packs into about 8 KB; a sparse one into a few bytes per id.

Ids are the tables' 32-bit integer keys. A missing set (NULL) is the empty set.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyroaring import BitMap

__all__ = ["BitMap", "pack", "union", "unpack"]


def pack(ids: Iterable[int] | BitMap) -> bytes:
    """The set's portable Roaring serialisation, as stored in a binary column."""
    bitmap = ids if isinstance(ids, BitMap) else BitMap(ids)
    bitmap.run_optimize()
    return bytes(bitmap.serialize())


def unpack(blob: bytes | bytearray | memoryview | None) -> BitMap:
    """A stored set back; NULL or empty bytes is the empty set."""
    if not blob:
        return BitMap()
    return BitMap.deserialize(bytes(blob))


def union(blobs: Iterable[bytes | bytearray | memoryview | None]) -> BitMap:
    """The union of stored sets (none: the empty set)."""
    return BitMap.union(BitMap(), *(unpack(blob) for blob in blobs))
