"""Writing a batch's codes in bulk: the job behind every new batch (赋码).

A batch of B boxes of N items is B box codes (serials 1..B) and B*N item codes (serials
1..B*N; box b holds items (b-1)*N+1 .. b*N). They are written a chunk of whole boxes at a
time, each chunk in its own transaction with the batch's `written` counter, so the console
sees the progress and a job that dies (or is run again by the queue) goes on from the last
chunk committed instead of starting over. The counter's guarded update (`WHERE written =
<what this run read>`) is also what keeps two runs of one job from writing a chunk twice:
the second waits for the first's row lock, then finds the counter moved and stops.

PostgreSQL gets the rows through COPY on the ORM's own connection (a million codes in
seconds: bench/code_generation.py); SQLite through executemany. A token that collides with
one already stored (100 random bits: never seen, but possible) fails its chunk, which is
written again with fresh tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError

from backend.codes.models import BatchStatus, CodeKind
from backend.codes.tokens import new_tokens
from backend.infra import sql
from backend.infra.jobs import JobFailure
from backend.infra.logging import get_logger

log = get_logger("codes.generate")

GENERATE_TASK = "codes.generate"
# Codes per transaction: big enough that COPY runs at full speed, small enough that the
# progress moves every second or so and a retry redoes little.
CHUNK_CODES = 50_000
TOKEN_ATTEMPTS = 3  # a chunk whose tokens collide is written again with fresh ones
FAILED_MESSAGE = "生成码时出错，系统会自动重试；仍失败时可在“任务”页重试或联系技术支持"

_BOX = CodeKind.BOX.value
_ITEM = CodeKind.ITEM.value
_COLUMNS = ("brand_id", "batch_id", "kind", "token", "serial", "box_id", "checks")
_INSERT = (
    "INSERT INTO product_codes (brand_id, batch_id, kind, token, serial, box_id, checks)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
_BOX_IDS = (
    "SELECT id, serial FROM product_codes"
    " WHERE batch_id = $1 AND kind = 'box' AND serial BETWEEN $2 AND $3 ORDER BY serial"
)


@dataclass(frozen=True, slots=True)
class _Plan:
    batch_id: int
    brand_id: int
    boxes: int
    per_box: int  # items per box

    @property
    def total(self) -> int:
        return self.boxes * (self.per_box + 1)


def _is_collision(exc: BaseException) -> bool:
    # Tortoise translates what goes through it (SQLite); asyncpg's COPY raises its own
    # UniqueViolationError, whose SQLSTATE is 23505.
    return isinstance(exc, IntegrityError) or getattr(exc, "sqlstate", None) == "23505"


async def generate_job(deps: Any, job_id: int, args: dict[str, Any]) -> bool:
    """The `codes.generate` task: write the batch's codes; whether it is ready now."""
    return await generate(int(args["batch_id"]), clock=deps.clock)


async def generate(batch_id: int, *, clock: Any) -> bool:
    """Write every code of the batch not yet written, then mark it ready; whether it is.
    A batch a failed run left FAILED is taken up again (the queue's retry, or staff's)."""
    await sql.execute(
        "UPDATE code_batches SET status = $2, error = '' WHERE id = $1 AND status = $3",
        batch_id,
        BatchStatus.GENERATING.value,
        BatchStatus.FAILED.value,
    )
    row = await sql.fetch_one(
        "SELECT brand_id, boxes, items_per_box, written, status FROM code_batches WHERE id = $1",
        batch_id,
    )
    if row is None or row["status"] != BatchStatus.GENERATING.value:
        return row is not None and row["status"] == BatchStatus.READY.value
    plan = _Plan(
        batch_id=batch_id,
        brand_id=int(row["brand_id"]),
        boxes=int(row["boxes"]),
        per_box=int(row["items_per_box"]),
    )
    written = int(row["written"])
    try:
        while (done := written // (plan.per_box + 1)) < plan.boxes:
            upto = min(plan.boxes, done + max(1, CHUNK_CODES // (plan.per_box + 1)))
            if not await _write_chunk(plan, done + 1, upto, written):
                return False  # another run of this job is writing it
            written += (upto - done) * (plan.per_box + 1)
        finished = await sql.execute(
            "UPDATE code_batches SET status = $2, ready_at = $3"
            " WHERE id = $1 AND status = $4 AND written = $5",
            batch_id,
            BatchStatus.READY.value,
            clock.now(),
            BatchStatus.GENERATING.value,
            plan.total,
        )
    except Exception as exc:
        log.exception("code generation failed", extra={"batch": batch_id})
        await sql.execute(
            "UPDATE code_batches SET status = $2, error = $3 WHERE id = $1 AND status = $4",
            batch_id,
            BatchStatus.FAILED.value,
            FAILED_MESSAGE,
            BatchStatus.GENERATING.value,
        )
        raise JobFailure(FAILED_MESSAGE) from exc
    return bool(finished)


async def _write_chunk(plan: _Plan, first: int, last: int, written: int) -> bool:
    """Boxes `first`..`last` and their items, with the counter moved from `written`, in one
    transaction; False (nothing written) when the counter was not at `written` any more."""
    count = (last - first + 1) * (plan.per_box + 1)
    for attempt in range(1, TOKEN_ATTEMPTS + 1):
        try:
            async with sql.transaction():
                moved = await sql.execute(
                    "UPDATE code_batches SET written = written + $2"
                    " WHERE id = $1 AND written = $3 AND status = $4",
                    plan.batch_id,
                    count,
                    written,
                    BatchStatus.GENERATING.value,
                )
                if not moved:
                    return False
                await _insert(plan, first, last)
            return True
        except Exception as exc:
            if not _is_collision(exc) or attempt == TOKEN_ATTEMPTS:
                raise
            log.warning("a code token collided; the chunk is written again", exc_info=True)
    return False  # not reached: the last attempt returns or raises


def _box_rows(plan: _Plan, first: int, last: int, tokens: Sequence[str]) -> list[tuple[Any, ...]]:
    return [
        (plan.brand_id, plan.batch_id, _BOX, token, serial, None, 0)
        for serial, token in zip(range(first, last + 1), tokens, strict=True)
    ]


def _item_rows(
    plan: _Plan, box_ids: Sequence[tuple[int, int]], tokens: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Items of the boxes `box_ids` ((id, serial) in serial order), `per_box` each."""
    n = plan.per_box
    brand_id, batch_id = plan.brand_id, plan.batch_id
    rows: list[tuple[Any, ...]] = []
    at = 0
    for box_id, box_serial in box_ids:
        start = (box_serial - 1) * n + 1
        rows.extend(
            (brand_id, batch_id, _ITEM, tokens[at + i], start + i, box_id, 0) for i in range(n)
        )
        at += n
    return rows


async def _insert(plan: _Plan, first: int, last: int) -> None:
    boxes = last - first + 1
    tokens = new_tokens(boxes * (plan.per_box + 1))
    box_rows = _box_rows(plan, first, last, tokens[:boxes])
    if sql.is_postgres():
        # The transaction's own connection: COPY commits or rolls back with the counter.
        async with connections.get(sql.CONNECTION).acquire_connection() as conn:
            await conn.copy_records_to_table("product_codes", records=box_rows, columns=_COLUMNS)
            ids = [
                (int(r["id"]), int(r["serial"]))
                for r in await conn.fetch(_BOX_IDS, plan.batch_id, first, last)
            ]
            items = _item_rows(plan, ids, tokens[boxes:])
            await conn.copy_records_to_table("product_codes", records=items, columns=_COLUMNS)
        return
    await sql.execute_many(_INSERT, box_rows)
    rows = await sql.fetch(_BOX_IDS, plan.batch_id, first, last)
    ids = [(int(r["id"]), int(r["serial"])) for r in rows]
    await sql.execute_many(_INSERT, _item_rows(plan, ids, tokens[boxes:]))
