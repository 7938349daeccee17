"""Who came to a session, and its peak of viewers, written to the database without a
statement per join.

A room counts its viewers and the stores that ever joined it in Redis (room.enter):
a join learns there whether its store is new to the room and whether the room has never
had so many viewers. Only what is new reaches the database, and in batches:

- a store's first join (`note_joined`) is written with every other first join of the
  session arriving while a write is under way, in one UPDATE (a group commit,
  backend/infra/batches.py: thousands of stores joining at once cost a few statements). A
  join that finds no write under way (a quiet room) waits for its own; in a storm the others
  are answered without waiting for the database (waiting kept thousands of joins and their
  connections pending for seconds). A write that fails takes its stores out of the room's
  set, so that their next join tries again; the session's end writes every store of the set
  not yet written (a process killed with a batch unwritten), stamped with the end;
- a new peak (`note_peak`) is written in the background, the highest one asked for so far
  in one UPDATE at a time; the session's end writes the room's peak as Redis counted it
  (service.end_with_rains), so the report never misses one.

The writes are this process's; a batch is per session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from backend.infra import sql
from backend.infra.batches import GroupCommit
from backend.infra.logging import get_logger
from backend.livestream.models import LiveSession

log = get_logger("livestream.attendance")
_SIZES = (8, 64, 512)  # IN lists padded to these lengths: few prepared statements
_LARGEST = 512


def _padded(store_ids: list[int]) -> list[int]:
    """The ids as an IN list of one of a few lengths (the last id repeated)."""
    size = next((size for size in _SIZES if size >= len(store_ids)), len(store_ids))
    return store_ids + store_ids[-1:] * (size - len(store_ids))


async def _write_joined(session_id: int, stores: set[int], at: datetime) -> None:
    ordered = sorted(stores)
    for start in range(0, len(ordered), _LARGEST):
        await sql.execute(
            "UPDATE live_invitations SET joined_at = $3"
            " WHERE session_id = $1 AND store_id IN ($2) AND joined_at IS NULL",
            session_id,
            _padded(ordered[start : start + _LARGEST]),
            at,
        )


async def _write_joins(session_id: int, joins: list[tuple[int, datetime]]) -> list[None]:
    """One batch of first joins, stamped with the earliest of them."""
    await _write_joined(session_id, {store for store, _ in joins}, min(at for _, at in joins))
    return [None] * len(joins)


_JOINS: GroupCommit[int, tuple[int, datetime], None] = GroupCommit(_write_joins, _LARGEST)
_unwaited: set[asyncio.Task[None]] = set()  # first joins of a storm being written


async def _recorded(
    session_id: int,
    store_id: int,
    now: datetime,
    forget: Callable[[list[int]], Awaitable[None]],
) -> None:
    try:
        await _JOINS(session_id, (store_id, now))
    except Exception:  # a figure for the report: never worth a refused join
        log.exception("live attendance not recorded", extra={"session_id": session_id})
        try:
            await forget([store_id])
        except Exception:
            log.exception("live attendance not retried", extra={"session_id": session_id})


async def note_joined(
    session_id: int,
    store_id: int,
    now: datetime,
    *,
    forget: Callable[[list[int]], Awaitable[None]],
) -> None:
    """The store's first entry into the room (invited → joined, for the session's effect):
    written with the other first joins meanwhile, waited for unless a write is under way
    (see the module's docstring). `forget` is told the stores whose write failed."""
    if not _JOINS.busy(session_id):
        await _recorded(session_id, store_id, now, forget)
        return
    task = asyncio.create_task(_recorded(session_id, store_id, now, forget))
    _unwaited.add(task)
    task.add_done_callback(_unwaited.discard)


async def settled() -> None:
    """Until the first joins answered without waiting have been written (or failed)."""
    while _unwaited:
        await asyncio.gather(*_unwaited)


async def write_joined(session_id: int, store_ids: list[int], now: datetime) -> None:
    """Stores that joined (the room's set, at the session's end): those not yet recorded
    are, at `now`."""
    if store_ids:
        await _write_joined(session_id, set(store_ids), now)


_peaks: dict[int, int] = {}  # session id → the peak to write next
_peak_writers: dict[int, asyncio.Task[None]] = {}


async def write_peak(session_id: int, viewers: int) -> None:
    """Keep the peak: a guarded update, so concurrent reports never lower it."""
    await LiveSession.filter(id=session_id, peak_viewers__lt=viewers).update(peak_viewers=viewers)


async def _write_peaks(session_id: int) -> None:
    try:
        while (wanted := _peaks.pop(session_id, None)) is not None:
            await write_peak(session_id, wanted)
    except Exception:  # a figure for the report: the session's end writes it again
        log.exception("live peak viewers not recorded", extra={"session_id": session_id})
    finally:
        _done(_peak_writers, session_id)


def note_peak(session_id: int, viewers: int) -> None:
    """The room has never had so many viewers (Redis says): written in the background,
    with any higher peak reached meanwhile."""
    if not _writing(_peak_writers, session_id):
        _peaks.pop(session_id, None)  # left by a writer whose event loop is gone
    _peaks[session_id] = max(_peaks.get(session_id, 0), viewers)
    if not _writing(_peak_writers, session_id):
        _peak_writers[session_id] = asyncio.create_task(_write_peaks(session_id))


def _done(writers: dict[int, asyncio.Task[None]], session_id: int) -> None:
    if writers.get(session_id) is asyncio.current_task():
        del writers[session_id]


def _writing(writers: dict[int, asyncio.Task[None]], session_id: int) -> bool:
    """Whether a writer of this event loop is at work for the session (one of a loop closed
    meanwhile, as between tests, never will be)."""
    writer = writers.get(session_id)
    return (
        writer is not None and not writer.done() and writer.get_loop() is asyncio.get_running_loop()
    )
