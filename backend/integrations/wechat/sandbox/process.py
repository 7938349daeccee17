"""The WeChat sandbox as a process of its own (`b2bc sandbox`), for a fleet in production mode.

It mounts the same blueprints at the same paths as the embedded default (backend/app.py), so
`WECHAT_API_BASE_URL` and `WECHAT_PAY_API_BASE_URL` both point at `<sandbox>/wx-sandbox`. Its
Pay keys are the embedded default's file in the data folder (config.load_or_create_pay_keys);
`b2bc sandbox-env` prints the other side of them, as the settings the fleet's processes read.
Payment and refund notifications are POSTed over HTTP to the notify_url each request names,
as WeChat does: the fleet's public URL, so through nginx to an API process.
"""

from __future__ import annotations

from pathlib import Path

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json

from backend.config import SANDBOX_PATH, SANDBOX_SP_MCHID, Settings, load_or_create_pay_keys
from backend.infra.logging import logging_config
from backend.integrations.wechat.pay import SandboxKeys
from backend.integrations.wechat.sandbox import SandboxState, create_sandbox_blueprint
from backend.integrations.wechat.sandbox.pay import PaySandboxState, create_pay_sandbox_blueprint

PEM_FOLDER = "wechat_pay_sandbox"  # under the data folder, next to wechat_pay_sandbox.json


def create_sandbox_process_app(
    settings: Settings, *, name: str = "b2bc_sandbox", retry_scale: float = 1.0
) -> Sanic:
    """WeChat's mini-program API and WeChat Pay, played for the app in `settings.wechat` (its
    appid and secret are the only ones registered) with the data folder's Pay keys.
    `retry_scale` shortens WeChat's notification retry schedule (1.0: WeChat's own)."""
    app = Sanic(name, log_config=logging_config(settings.log_level))
    app.config.MOTD = False
    app.config.AUTO_EXTEND = False  # no OpenAPI document or docs page: it plays WeChat
    app.config.ACCESS_LOG = settings.access_log
    app.config.FALLBACK_ERROR_FORMAT = "json"
    state = SandboxState()
    state.apps[settings.wechat.appid] = settings.wechat.secret
    app.blueprint(create_sandbox_blueprint(state, SANDBOX_PATH))
    pay_state = PaySandboxState(
        load_or_create_pay_keys(settings.data_dir),
        SANDBOX_SP_MCHID,
        settings.wechat.appid,
        retry_scale=retry_scale,
    )
    app.blueprint(create_pay_sandbox_blueprint(pay_state, SANDBOX_PATH))
    app.ctx.sandbox, app.ctx.pay_sandbox = state, pay_state

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        """For systemd and `make staging` to wait on."""
        return json({"status": "ok", "appid": settings.wechat.appid})

    return app


def _write_private(path: Path, text: str) -> None:
    """Owner-only from the start: the key is never readable by others, not even briefly."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


def sandbox_env(settings: Settings, base_url: str) -> list[str]:
    """`KEY=value` lines that point a fleet at the sandbox served at `base_url`: WeChat and
    WeChat Pay URLs, the app's credentials, and our side of the Pay keys, the PEMs written
    into the data folder and named by path (no multi-line values in an env file)."""
    keys: SandboxKeys = load_or_create_pay_keys(settings.data_dir)
    folder = settings.data_dir / PEM_FOLDER
    merchant_key = folder / "merchant_private_key.pem"
    platform_key = folder / "platform_public_key.pem"
    _write_private(merchant_key, keys.merchant_private_key)
    _write_private(platform_key, keys.platform_public_key)
    url = f"{base_url.rstrip('/')}{SANDBOX_PATH}"
    return [
        f"WECHAT_APPID={settings.wechat.appid}",
        f"WECHAT_SECRET={settings.wechat.secret}",
        f"WECHAT_API_BASE_URL={url}",
        f"WECHAT_PAY_API_BASE_URL={url}",
        f"WECHAT_PAY_SP_MCHID={SANDBOX_SP_MCHID}",
        f"WECHAT_PAY_MERCHANT_SERIAL_NO={keys.merchant_serial_no}",
        f"WECHAT_PAY_MERCHANT_PRIVATE_KEY={merchant_key}",
        f"WECHAT_PAY_PLATFORM_PUBLIC_KEY={platform_key}",
        f"WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID={keys.platform_public_key_id}",
        f"WECHAT_PAY_API_V3_KEY={keys.api_v3_key}",
    ]
