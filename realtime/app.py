"""The Socket.IO server (namespace /live): authenticates on connect with our access tokens.

Embedded: mounted beside the API in one ASGI process. Production: its own processes,
linked through Redis (AsyncRedisManager) so rooms span them.
"""

from __future__ import annotations

from typing import Any

import socketio

from backend.config import Settings
from backend.identity.tokens import TokenInvalid, read_access_token
from backend.infra.logging import get_logger
from backend.kernel.clock import Clock, SystemClock

NAMESPACE = "/live"
log = get_logger("realtime")


def create_sio(settings: Settings, clock: Clock | None = None) -> socketio.AsyncServer:
    clock = clock or SystemClock()
    manager = None if settings.embedded_redis else socketio.AsyncRedisManager(settings.redis_url)
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
    )

    @sio.on("connect", namespace=NAMESPACE)
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        # The client receives {"message": <Chinese text>, "data": {"code": <stable code>}}.
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "请先登录", {"code": "auth.token_missing"}
            )
        try:
            principal = read_access_token(token, secret=settings.jwt_secret, now=clock.now())
        except TokenInvalid as exc:
            raise socketio.exceptions.ConnectionRefusedError(
                "登录凭证无效，请重新登录", {"code": "auth.token_invalid"}
            ) from exc
        await sio.save_session(
            sid,
            {"user_id": principal.user_id, "role": principal.role, "store_id": principal.store_id},
            namespace=NAMESPACE,
        )

    @sio.on("whoami", namespace=NAMESPACE)
    async def whoami(sid: str, data: Any = None) -> dict[str, Any]:
        session = await sio.get_session(sid, namespace=NAMESPACE)
        return {"ok": True, "data": session}

    return sio


def create_realtime_asgi(settings: Settings, other_asgi_app: Any = None) -> socketio.ASGIApp:
    return socketio.ASGIApp(create_sio(settings), other_asgi_app=other_asgi_app)
