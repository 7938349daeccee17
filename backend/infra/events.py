"""Running the handlers of domain events (backend/kernel/events.py): inside the recording
transaction, or once it has committed.

A service calls `record(deps, event)` inside the transaction of the change. Handlers that
must commit or roll back with the change (stock given back) run right away on the same
connection, and their failure fails the change. Handlers that tell others (pushes,
notifications, analytics) run through `sql.after_commit`: once the outermost transaction
opened by `sql.transaction()`/`sql.atomic()` commits, never if it rolls back, and their
failure is logged, not raised. A handler is `handler(deps, event)`; an after-commit one
may later defer a durable job instead of doing the work, without the recording service
knowing.

Handlers are registered in one place, backend/wiring.py, never by importing a module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal, TypeVar

from backend.infra import sql

E = TypeVar("E")
Phase = Literal["in_transaction", "after_commit"]
IN_TRANSACTION: Phase = "in_transaction"
AFTER_COMMIT: Phase = "after_commit"
Handler = Callable[[Any, E], Awaitable[None]]  # (deps, event)


class Registry:
    """Who reacts to which event type, in which phase, in registration order."""

    def __init__(self) -> None:
        # Tuples, replaced on (un)registering: record() runs on hot paths (every payment
        # notification) and reads them as they are, without a copy per event.
        self._handlers: dict[tuple[type, Phase], tuple[Handler[Any], ...]] = {}

    def on(
        self, event_type: type[E], handler: Handler[E], *, phase: Phase = IN_TRANSACTION
    ) -> None:
        """Call `handler(deps, event)` for every recorded `event_type`. Registering the same
        handler again changes nothing (wiring may run twice in one process: tests)."""
        if phase not in (IN_TRANSACTION, AFTER_COMMIT):
            raise ValueError(f"unknown phase {phase!r}")
        handlers = self._handlers.get((event_type, phase), ())
        if handler not in handlers:
            self._handlers[(event_type, phase)] = (*handlers, handler)

    def off(
        self, event_type: type[E], handler: Handler[E], *, phase: Phase = IN_TRANSACTION
    ) -> None:
        """Stop calling `handler` (a test that needs a reaction missing, as before it existed)."""
        handlers = self._handlers.get((event_type, phase), ())
        if handler in handlers:
            self._handlers[(event_type, phase)] = tuple(h for h in handlers if h != handler)

    def handlers(self, event_type: type, phase: Phase) -> tuple[Handler[Any], ...]:
        return self._handlers.get((event_type, phase), ())

    def registered(self) -> dict[tuple[type, Phase], tuple[Handler[Any], ...]]:
        """Everything registered (for the wiring's tests)."""
        return {key: handlers for key, handlers in self._handlers.items() if handlers}

    def clear(self) -> None:
        self._handlers.clear()

    async def record(self, deps: Any, event: object) -> None:
        """`event` happened in the current transaction: run its in-transaction handlers now
        (raising rolls the change back), and queue its after-commit ones."""
        event_type = type(event)
        for handler in self._handlers.get((event_type, IN_TRANSACTION), ()):
            await handler(deps, event)
        for handler in self._handlers.get((event_type, AFTER_COMMIT), ()):
            await sql.after_commit(partial(handler, deps, event))


# The process's one registry: filled by backend/wiring.py.
REGISTRY = Registry()
on = REGISTRY.on
off = REGISTRY.off
record = REGISTRY.record
handlers = REGISTRY.handlers
