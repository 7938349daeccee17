"""Group commit (backend/infra/batches.py): what a red-packet burst relies on. The first call
of a key goes at once, the calls arriving while it runs share the next batch, each call gets
its own result, and a failed batch fails only its own calls."""

from __future__ import annotations

import asyncio

import pytest

from backend.infra.batches import GroupCommit


async def in_flight(recorder: Recorder, batches: int) -> None:
    """Until `batches` batches have started (each waits for `release`)."""
    async with recorder.started:
        await recorder.started.wait_for(lambda: len(recorder.batches) >= batches)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.release = asyncio.Event()
        self.started = asyncio.Condition()

    async def run(self, key: str, items: list[int]) -> list[int | BaseException]:
        async with self.started:
            self.batches.append((key, list(items)))
            self.started.notify_all()
        await self.release.wait()
        if -1 in items:
            raise RuntimeError("batch failed")
        return [ValueError(item) if item < 0 else item * 10 for item in items]


async def test_calls_arriving_during_a_batch_share_the_next_one_per_key() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder.run, most=3)
    first = asyncio.ensure_future(group("a", 1))
    await in_flight(recorder, 1)
    rest = [asyncio.ensure_future(group("a", n)) for n in (2, 3, 4, 5)]
    other = asyncio.ensure_future(group("b", 7))
    await in_flight(recorder, 2)  # another key does not wait for the first
    recorder.release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40, 50]
    assert await other == 70
    assert recorder.batches == [("a", [1]), ("b", [7]), ("a", [2, 3, 4]), ("a", [5])]


async def test_a_failed_batch_fails_its_own_calls_and_the_next_batch_runs() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder.run, most=10)
    blocked = asyncio.ensure_future(group("a", 1))
    await in_flight(recorder, 1)
    failing = [asyncio.ensure_future(group("a", n)) for n in (-1, 2)]
    recorder.release.set()
    assert await blocked == 10
    for call in failing:
        with pytest.raises(RuntimeError, match="batch failed"):
            await call
    # One item's own refusal is raised to that call alone.
    refused, fine = await asyncio.gather(group("a", -5), group("a", 6), return_exceptions=True)
    assert isinstance(refused, ValueError)
    assert fine == 60


async def test_a_cancelled_call_leaves_the_others_their_results() -> None:
    recorder = Recorder()
    group: GroupCommit[str, int, int] = GroupCommit(recorder.run, most=10)
    calls = [asyncio.ensure_future(group("a", n)) for n in (1, 2, 3)]
    await in_flight(recorder, 1)
    calls[1].cancel()
    recorder.release.set()
    assert await calls[0] == 10
    assert await calls[2] == 30
    assert calls[1].cancelled()
