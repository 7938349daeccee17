"""The Socket.IO server: authenticates on connect with our access tokens.

Namespaces: /live (livestream rooms) and /console (brand and distributor staff: pushes about
their complaints, each in the room of their brand or distributor, and their own
notifications, in their user's room).

Embedded: mounted beside the API in one ASGI process. Production: its own processes,
linked through Redis (AsyncRedisManager) so rooms span them.
"""

from __future__ import annotations

import gc
from typing import Any

import socketio

from backend.app import build_deps
from backend.config import Settings
from backend.deps import Deps
from backend.identity.access import BRAND_ROLES, DISTRIBUTOR_ROLES, session_revoked
from backend.identity.tokens import Principal, TokenInvalid, read_access_token
from backend.infra import db
from backend.infra.broadcast import (
    CONSOLE_NAMESPACE,
    brand_room,
    distributor_room,
    is_signin_room,
    signin_room,
    user_room,
)
from backend.infra.logging import get_logger
from backend.infra.metrics import metrics_asgi
from backend.kernel.clock import Clock, SystemClock
from backend.kernel.errors import DomainError
from realtime import live, metrics, transport
from realtime.live import NAMESPACE

log = get_logger("realtime")


async def _disconnect_signin(manager: Any, room: Any, namespace: str | None) -> None:
    """A sign-in's room being closed (Broadcaster.end_signin): its sockets in this process
    are disconnected, not only taken out of the room. Sockets still in their connect
    handler are only taken out; the handler sees that and refuses them."""
    if not is_signin_room(room):
        return
    for sid, _ in list(manager.get_participants(namespace or "/", room)):
        await manager.server.disconnect(sid, namespace=namespace, ignore_queue=True)


class SigninManager(metrics.CountedDelivery, transport.FrameFanout):
    """The embedded server's manager (one process)."""

    async def close_room(self, room: Any, namespace: Any) -> Any:
        await _disconnect_signin(self, room, namespace)
        return await super().close_room(room, namespace)


class SigninRedisManager(
    socketio.AsyncRedisManager, metrics.CountedDelivery, transport.FrameFanout
):
    """The manager of realtime processes linked through Redis: a close_room published by
    any process (or an API's write-only manager) arrives here."""

    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        await _disconnect_signin(self, message.get("room"), message.get("namespace"))
        await super()._handle_close_room(message)


def create_sio(
    settings: Settings, clock: Clock | None = None, deps: Deps | None = None
) -> socketio.AsyncServer:
    """`deps`: the process's, when the API runs in the same process (embedded, tests)."""
    clock = clock or (deps.clock if deps is not None else SystemClock())
    deps = deps or build_deps(settings)
    manager: socketio.AsyncManager = (
        SigninManager() if settings.embedded_redis else SigninRedisManager(settings.redis_url)
    )
    sio = transport.DirectServer(
        async_mode="asgi",
        json=transport.PacketJSON,
        # A client's events are handled one after the other, in the order it sent them,
        # in the task that reads its websocket (not a task each: 10 µs an event).
        async_handlers=False,
        client_manager=manager,
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
    )

    def authenticate(auth: Any) -> Principal:
        token = auth.get("token") if isinstance(auth, dict) else None
        # The client receives {"message": <Chinese text>, "data": {"code": <stable code>}}.
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "请先登录", {"code": "auth.token_missing"}
            )
        try:
            return read_access_token(token, secret=settings.jwt_secret, now=clock.now())
        except TokenInvalid as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                "登录凭证无效，请重新登录", {"code": "auth.token_invalid"}
            ) from exc

    async def admit(sid: str, namespace: str, auth: Any) -> Principal:
        """The token's signature and expiry, then its sign-in still open, as HTTP checks
        (auth.session_revoked). The socket enters its sign-in's room before Redis is asked:
        a sign-in ending after the answer closes that room with this socket in it, and one
        ending while the answer is on its way has taken it out of the room already."""
        principal = authenticate(auth)
        room = signin_room(principal.session_id)
        await sio.enter_room(sid, room, namespace=namespace)
        try:
            revoked = await session_revoked(deps.redis, principal.session_id)
        except DomainError as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.text, {"code": exc.code}) from exc
        if revoked or sid not in dict(sio.manager.get_participants(namespace, room)):
            raise socketio.exceptions.ConnectionRefusedError(
                "登录已失效，请重新登录", {"code": "auth.session_revoked"}
            )
        return principal

    @sio.on("connect", namespace=NAMESPACE)
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        principal = await admit(sid, NAMESPACE, auth)
        await sio.save_session(sid, {"principal": principal}, namespace=NAMESPACE)

    @sio.on("connect", namespace=CONSOLE_NAMESPACE)
    async def connect_console(sid: str, environ: dict[str, Any], auth: Any) -> None:
        principal = await admit(sid, CONSOLE_NAMESPACE, auth)
        if principal.role in BRAND_ROLES and principal.brand_id is not None:
            room = brand_room(principal.brand_id)
        elif principal.role in DISTRIBUTOR_ROLES and principal.distributor_id is not None:
            room = distributor_room(principal.distributor_id)
        else:
            raise socketio.exceptions.ConnectionRefusedError(
                "仅品牌和经销商员工可使用管理后台", {"code": "auth.role_not_allowed"}
            )
        await sio.enter_room(sid, room, namespace=CONSOLE_NAMESPACE)
        await sio.enter_room(sid, user_room(principal.user_id), namespace=CONSOLE_NAMESPACE)

    @sio.on("whoami", namespace=NAMESPACE)
    async def whoami(sid: str, data: Any = None) -> dict[str, Any]:
        principal: Principal = (await sio.get_session(sid, namespace=NAMESPACE))["principal"]
        who = {"user_id": principal.user_id, "role": principal.role, "store_id": principal.store_id}
        return {"ok": True, "data": who}

    live.register(sio, deps)
    metrics.watch(sio)
    return sio


def create_realtime_asgi(
    settings: Settings,
    other_asgi_app: Any = None,
    sio: socketio.AsyncServer | None = None,
    *,
    manage_db: bool = False,
) -> socketio.ASGIApp:
    """`sio`: a server made beforehand, when the API in this process pushes through it.
    `manage_db`: a realtime process of its own opens (and closes) the database itself.
    Without `other_asgi_app` (a realtime process of its own) it answers GET /metrics;
    embedded, the API beside it does."""

    async def open_db() -> None:
        await db.init_db(settings.database_url, settings.db_pool)
        # What was made at start-up lives as long as the process: out of the collector's
        # reach, full collections walk only the connections' objects.
        gc.freeze()

    return socketio.ASGIApp(
        sio or create_sio(settings),
        other_asgi_app=other_asgi_app or metrics_asgi(settings.metrics_token),
        on_startup=open_db if manage_db else None,
        on_shutdown=db.close_db if manage_db else None,
    )
