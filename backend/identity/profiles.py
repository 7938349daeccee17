"""Each user's profile and identities as GET /api/v1/me shows them, kept per process until a
change is announced.

/me is called at every mini-program launch. Read from the database it costs two ORM queries,
about 25 times the work of the request around them (bench/auth_get.py); from this cache it
costs no IO, as an authenticated request whose revocation answer is cached costs none.

Invalidation. The services that change what /me shows (a phone bound; a role granted, moved
or withdrawn; a store, distributor or salesperson renamed) announce the users concerned, or
everyone, once their transaction has committed (`announce`): every cache of this process
forgets them at once, so the next request of this process reads them again, and the other
API processes hear it on a Redis channel within a round trip. Three rules keep a cache from
serving what the database no longer holds:

- it serves only while it listens: until its subscription is confirmed, and from the moment
  its connection fails, it reads through; and it forgets everything whenever it subscribes
  again, since it cannot know what it missed meanwhile;
- a profile read while any change was announced is not kept (the generation moved), so a
  read racing a commit cannot put the old state back;
- an entry lives at most `ttl` seconds: a change written outside the services (by hand in
  the database) shows within that.

The embedded default runs one process, where every cache is this process's and hears every
change directly; nothing is published or listened to there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from backend.identity.models import Membership, User
from backend.infra import sql
from backend.infra.logging import get_logger

log = get_logger("identity.profiles")

CHANNEL = "b2bc:identity:profiles"
EVERYONE = "*"  # the message that names every user
RETRY_SECONDS = 1.0  # between attempts to listen again after the connection failed


@dataclass(frozen=True, slots=True)
class Profile:
    """What /me shows of a user besides the identity the token carries."""

    user: dict[str, Any]  # id, display_name, phone, username
    memberships: list[dict[str, Any]]

    def view(self, current: dict[str, Any]) -> dict[str, Any]:
        # The cached parts are shared between answers: they are serialised, never changed.
        return {**self.user, "current": current, "memberships": self.memberships}


async def read(user_id: int) -> Profile | None:
    """The user and their active memberships with the names of what each is in; None when
    there is no such user."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return None
    memberships = (
        await Membership.filter(user_id=user_id, is_active=True)
        .order_by("id")
        .select_related("brand", "distributor", "store", "salesperson")
    )
    return Profile(
        {
            "id": user.id,
            "display_name": user.display_name,
            "phone": user.phone,
            "username": user.username,
        },
        [
            {
                "id": m.id,
                "role": m.role,
                "brand": _named(m.brand),
                "distributor": _named(m.distributor),
                "store": _named(m.store),
                "salesperson": _named(m.salesperson),
            }
            for m in memberships
        ],
    )


def _named(related: Any) -> dict[str, Any] | None:
    return None if related is None else {"id": related.id, "name": related.name}


class ProfileCache:
    """One process's profiles by user id (see the module doc for when it serves)."""

    def __init__(self, ttl: float, capacity: int = 50_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.serving = False
        self._entries: dict[int, tuple[Profile, float]] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before reading a profile from the database, handed back to `keep`."""
        return self._generation

    def get(self, user_id: int) -> Profile | None:
        if not self.serving:
            return None
        entry = self._entries.get(user_id)
        if entry is None or time.monotonic() >= entry[1]:
            return None
        return entry[0]

    def keep(self, user_id: int, profile: Profile, generation: int) -> None:
        """Remember `profile`, read after `generation` was taken, unless a change was announced
        since (the read may have seen the state before it)."""
        if not self.serving or generation != self._generation:
            return
        if len(self._entries) >= self.capacity:
            self._entries.clear()  # bound memory; the users who come back are read again
        self._entries[user_id] = (profile, time.monotonic() + self.ttl)

    def forget(self, user_ids: Collection[int] | None) -> None:
        """Forget these users (None: everyone); reads under way are not kept either."""
        self._generation += 1
        if user_ids is None:
            self._entries.clear()
            return
        for user_id in user_ids:
            self._entries.pop(user_id, None)

    def serve(self, serving: bool) -> None:
        """Start or stop serving; either way what was kept may have missed changes."""
        self.forget(None)
        self.serving = serving


class Announcements:
    """How a committed change reaches the caches: this process's at once, the other
    processes' through a Redis publish (through the client of an app that listens; a
    process runs one app, tests may run several on one Redis)."""

    def __init__(self) -> None:
        self.local: set[ProfileCache] = set()
        self.publishers: list[Any] = []

    async def announce(self, user_ids: Collection[int] | None) -> None:
        """These users' profiles changed (None: anyone's); call once the change is committed
        (changed() below arranges that)."""
        for cache in tuple(self.local):
            cache.forget(user_ids)
        if not self.publishers:
            return
        message = EVERYONE if user_ids is None else ",".join(map(str, sorted(set(user_ids))))
        try:
            await self.publishers[-1].publish(CHANNEL, message)
        except Exception:
            # The other processes' listeners share this Redis: failing, they stop serving.
            log.warning("profile change not published", exc_info=True)


ANNOUNCEMENTS = Announcements()


async def changed(user_ids: Collection[int] | None) -> None:
    """Announce, once the current transaction commits (at once outside one), that these users'
    profiles changed (None: anyone's). Inside a transaction, open it with sql.transaction() or
    sql.atomic() so that this waits for its commit."""
    if user_ids is not None and not user_ids:
        return
    wanted = None if user_ids is None else sorted(set(user_ids))

    async def announce() -> None:
        await ANNOUNCEMENTS.announce(wanted)

    await sql.after_commit(announce)


def _heard(cache: ProfileCache, message: str) -> None:
    if message == EVERYONE:
        cache.forget(None)
        return
    try:
        cache.forget([int(part) for part in message.split(",") if part])
    except ValueError:
        cache.forget(None)  # not ours to read: forget everything rather than guess


async def listen(cache: ProfileCache, redis: Any) -> None:
    """Hear other processes' announcements for `cache` until cancelled: it serves while the
    subscription holds, from its confirmation on."""
    try:
        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":
                            cache.serve(True)
                        elif message["type"] == "message":
                            _heard(cache, message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("profile changes not heard; reading through", exc_info=True)
            cache.serve(False)
            await asyncio.sleep(RETRY_SECONDS)
    finally:
        cache.serve(False)


@dataclass
class Listening:
    """A cache of one app, attached to this process's announcements, with its listener."""

    cache: ProfileCache
    task: asyncio.Task[None] | None = None
    redis: Any = None

    def start(self, redis: Any, *, embedded: bool) -> None:
        ANNOUNCEMENTS.local.add(self.cache)
        if embedded:
            self.cache.serve(True)  # one process: every change is announced here
            return
        self.redis = redis
        ANNOUNCEMENTS.publishers.append(redis)
        self.task = asyncio.create_task(listen(self.cache, redis), name="profile-changes")

    async def stop(self) -> None:
        ANNOUNCEMENTS.local.discard(self.cache)
        self.cache.serve(False)
        if self.redis is not None:
            ANNOUNCEMENTS.publishers.remove(self.redis)  # the client closes with the app
            self.redis = None
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
