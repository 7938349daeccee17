"""Group commit: calls that arrive together share one round trip.

A red-packet rain's grabs arrive by the thousand within milliseconds. Each sent on its own,
every grab pays a Redis command and a transaction of its own, and waits in line for a
pooled connection behind all the others. Here the first call of a key goes at once; the
calls of that key arriving while it runs wait and then go together in the next one, and so
on: no call waits for more than the one round trip before its own, a lone call costs what
it did, and a burst costs a few round trips instead of one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")

# Runs one batch of a key: a result (or the exception to raise) per item, in their order.
Run = Callable[[Key, list[Item]], Awaitable[Sequence[Result | BaseException]]]


class _Line(Generic[Item, Result]):
    """The calls of one key waiting for the batch in flight."""

    def __init__(self) -> None:
        self.items: list[tuple[Item, asyncio.Future[Result]]] = []
        self.task: asyncio.Task[None] | None = None


class GroupCommit(Generic[Key, Item, Result]):
    """`await group(key, item)`: `run(key, items)` for this item and every other of the key
    waiting with it (at most `most` at once), one batch of a key in flight at a time.

    If a whole batch fails, each of its calls raises that exception. A cancelled call is
    still run (it may already be in flight); only its result is dropped."""

    def __init__(self, run: Run[Key, Item, Result], most: int) -> None:
        self._run, self._most = run, most
        self._lines: dict[Key, _Line[Item, Result]] = {}

    def busy(self, key: Key) -> bool:
        """Whether a batch of `key` is in flight or waiting in this event loop: a call now
        goes with the next batch rather than at once."""
        line = self._lines.get(key)
        return (
            line is not None
            and line.task is not None
            and line.task.get_loop() is asyncio.get_running_loop()
        )

    async def __call__(self, key: Key, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        line = self._lines.get(key)
        if line is None or line.task is None or line.task.get_loop() is not loop:
            line = self._lines[key] = _Line()
            line.task = loop.create_task(self._drain(key, line))
        done: asyncio.Future[Result] = loop.create_future()
        line.items.append((item, done))
        return await done

    async def _drain(self, key: Key, line: _Line[Item, Result]) -> None:
        try:
            while line.items:
                batch, line.items = line.items[: self._most], line.items[self._most :]
                try:
                    results = await self._run(key, [item for item, _ in batch])
                except Exception as failed:
                    results = [failed] * len(batch)
                for (_, done), result in zip(batch, results, strict=True):
                    if done.done():  # cancelled meanwhile
                        continue
                    if isinstance(result, BaseException):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            # No await since `line.items` was last seen empty: no call joined it since.
            if self._lines.get(key) is line:
                del self._lines[key]
