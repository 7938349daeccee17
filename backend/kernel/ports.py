"""A port: what a lower domain needs from a higher one, plugged in at the composition root.

Domains depend on each other one way only (tests/test_architecture.py). When a domain lower
down needs to read something a domain above it owns (org's store list shows each store's
orders; coupons' voucher claims name their orders), it declares the port, typed by a
Protocol, and backend/wiring.py plugs the owner's service in. The lower domain never imports
the higher one, not even inside a function.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class PortNotPlugged(RuntimeError):
    """A port used before the composition root plugged it: a wiring bug, never a user's."""


class Port(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._provider: T | None = None

    def plug(self, provider: T) -> None:
        """Use `provider` from now on; plugging the same one again changes nothing."""
        self._provider = provider

    def __call__(self) -> T:
        if self._provider is None:
            raise PortNotPlugged(f"{self.name} is not plugged in (see backend/wiring.py)")
        return self._provider
