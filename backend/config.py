"""Settings from the environment, with embedded defaults for a newcomer's machine.

Embedded mode (the default) needs nothing: SQLite in the data folder, an in-process Redis,
the built-in WeChat sandbox and secrets generated once into the data folder. Production
mode (B2BC_MODE=production) refuses to start unless every real backing service and secret
is given.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from backend.integrations.wechat.pay import (
    SandboxKeys,
    WechatPaySettings,
    generate_sandbox_keys,
    sandbox_settings,
)
from backend.integrations.wechat.sandbox import (
    COMPLAINT_UPDATE_TEMPLATE_ID,
    LIVE_REMINDER_TEMPLATE_ID,
)

EMBEDDED_REDIS_URL = "memory://"
SANDBOX_APPID = "wx_sandbox_appid"
SANDBOX_APP_SECRET = "sandbox-app-secret"  # noqa: S105 - only the local sandbox accepts it
MIN_SECRET_LENGTH = 32
SANDBOX_SP_MCHID = "1900000000"
WECHAT_PAY_API = "https://api.mch.weixin.qq.com"
PAY_ENV = (
    "WECHAT_PAY_SP_MCHID",
    "WECHAT_PAY_MERCHANT_SERIAL_NO",
    "WECHAT_PAY_MERCHANT_PRIVATE_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID",
    "WECHAT_PAY_API_V3_KEY",
)


class ConfigError(Exception):
    """The environment does not describe a runnable platform."""


@dataclass(frozen=True)
class WechatSettings:
    appid: str
    secret: str
    # Base URL that stands for https://api.weixin.qq.com in every call we make.
    api_base_url: str
    # The subscribe-message template (订阅消息) for complaint progress, as added to the
    # mini-program's account: keywords character_string1 (编号), phrase2 (状态), thing3
    # (说明), time4 (时间). The default is the one the built-in sandbox registers.
    complaint_update_template_id: str = COMPLAINT_UPDATE_TEMPLATE_ID
    # The reminder before a live session the store is invited to starts: thing1 (直播主题),
    # time2 (开播时间), thing3 (主办方).
    live_reminder_template_id: str = LIVE_REMINDER_TEMPLATE_ID


@dataclass(frozen=True)
class StorageSettings:
    """Where uploaded files (complaint photos) go: a directory served under /media in the
    embedded default, an S3-compatible bucket in production."""

    backend: Literal["local", "s3"]
    public_url: str  # a file's URL is this, a slash, and its key
    local_dir: Path | None = None
    bucket: str = ""
    endpoint_url: str | None = None  # None: AWS itself
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None


def _storage(
    env: Mapping[str, str], mode: str, data_dir: Path, public_base_url: str
) -> StorageSettings:
    backend = env.get("B2BC_STORAGE", "s3" if mode == "production" else "local")
    if backend == "local":
        return StorageSettings(
            backend="local", public_url=f"{public_base_url}/media", local_dir=data_dir / "media"
        )
    if backend != "s3":
        raise ConfigError(f"B2BC_STORAGE must be local or s3, not {backend!r}")
    if not env.get("S3_BUCKET"):
        raise ConfigError("S3_BUCKET is required for S3 storage (or set B2BC_STORAGE=local)")
    bucket, endpoint = env["S3_BUCKET"], env.get("S3_ENDPOINT_URL")
    default_public = (
        f"{endpoint.rstrip('/')}/{bucket}" if endpoint else f"https://{bucket}.s3.amazonaws.com"
    )
    return StorageSettings(
        backend="s3",
        public_url=env.get("S3_PUBLIC_URL", default_public).rstrip("/"),
        bucket=bucket,
        endpoint_url=endpoint,
        region=env.get("S3_REGION", "us-east-1"),
        access_key_id=env.get("S3_ACCESS_KEY_ID"),
        secret_access_key=env.get("S3_SECRET_ACCESS_KEY"),
    )


@dataclass(frozen=True)
class Settings:
    mode: Literal["embedded", "production"]
    data_dir: Path
    database_url: str
    redis_url: str
    jwt_secret: str
    code_signing_secret: str
    wechat: WechatSettings
    wechat_pay: WechatPaySettings
    # Only in the embedded default: the sandbox's side of the WeChat Pay keys.
    pay_sandbox_keys: SandboxKeys | None = None
    storage: StorageSettings = field(
        default_factory=lambda: StorageSettings(backend="local", public_url="/media")
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # How long a process trusts its cached "this session is not revoked" answer.
    revocation_cache_seconds: float = 5.0
    max_body_bytes: int = 1024 * 1024
    # Routes that take a file (imports, pictures): a 10,000-row XLSX or CSV is 1–3 MB, a
    # picture up to 5 MB; JSON bodies keep the 1 MB limit above.
    max_upload_bytes: int = 12 * 1024 * 1024
    login_failures_before_lockout: int = 5
    lockout_seconds: int = 15 * 60
    login_attempts_per_minute_per_ip: int = 20
    # Unpaid orders are cancelled, and their stock released, after this long.
    order_payment_timeout_seconds: int = 30 * 60
    access_log: bool = True
    log_level: str = "INFO"
    # /metrics answers anyone presenting this bearer token, besides private peers
    # (backend/infra/metrics.py); a job worker serves its metrics on metrics_port if set.
    metrics_token: str | None = None
    metrics_port: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url == EMBEDDED_REDIS_URL

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """Generate the embedded default's secrets once, so tokens survive a restart."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "jwt_secret": secrets.token_urlsafe(48),
        "code_signing_secret": secrets.token_urlsafe(48),
    }
    path.write_text(json.dumps(generated), encoding="utf-8")
    path.chmod(0o600)
    return generated


def _load_or_create_pay_keys(data_dir: Path) -> SandboxKeys:
    """The sandbox's key pairs, made once, so a restart still verifies earlier notifications."""
    path = data_dir / "wechat_pay_sandbox.json"
    if path.exists():
        return SandboxKeys(**json.loads(path.read_text(encoding="utf-8")))
    keys = generate_sandbox_keys()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys.__dict__), encoding="utf-8")
    path.chmod(0o600)
    return keys


def _pem(value: str) -> str:
    """A PEM given inline, or the path of a file holding it."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text(encoding="utf-8")


def _wechat_pay(
    env: Mapping[str, str], mode: str, data_dir: Path, appid: str, public_base_url: str
) -> tuple[WechatPaySettings, SandboxKeys | None]:
    notify = f"{public_base_url}/api/v1/payments/wechat/notify"
    refund_notify = f"{public_base_url}/api/v1/payments/wechat/refund-notify"
    if mode == "embedded" and not env.get("WECHAT_PAY_SP_MCHID"):
        keys = _load_or_create_pay_keys(data_dir)
        base = env.get("WECHAT_PAY_API_BASE_URL", f"{public_base_url}/wx-sandbox").rstrip("/")
        settings = sandbox_settings(
            keys,
            sp_appid=appid,
            sp_mchid=SANDBOX_SP_MCHID,
            api_base_url=base,
            notify_url=notify,
            refund_notify_url=refund_notify,
        )
        return settings, keys
    return (
        WechatPaySettings(
            sp_appid=appid,
            sp_mchid=env["WECHAT_PAY_SP_MCHID"],
            merchant_serial_no=env["WECHAT_PAY_MERCHANT_SERIAL_NO"],
            merchant_private_key=_pem(env["WECHAT_PAY_MERCHANT_PRIVATE_KEY"]),
            platform_public_key=_pem(env["WECHAT_PAY_PLATFORM_PUBLIC_KEY"]),
            platform_public_key_id=env["WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID"],
            api_v3_key=env["WECHAT_PAY_API_V3_KEY"],
            api_base_url=env.get("WECHAT_PAY_API_BASE_URL", WECHAT_PAY_API).rstrip("/"),
            notify_url=notify,
            refund_notify_url=refund_notify,
        ),
        None,
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    mode = env.get("B2BC_MODE", "embedded")
    if mode not in ("embedded", "production"):
        raise ConfigError(f"B2BC_MODE must be embedded or production, not {mode!r}")
    data_dir = Path(env.get("B2BC_DATA_DIR", "data")).resolve()
    host = env.get("B2BC_HOST", "127.0.0.1")
    port = int(env.get("B2BC_PORT", "8000"))
    public_base_url = env.get("B2BC_PUBLIC_BASE_URL", f"http://{host}:{port}")

    if mode == "production":
        problems = [
            f"{name} is required in production"
            for name in (
                "DATABASE_URL",
                "REDIS_URL",
                "B2BC_JWT_SECRET",
                "B2BC_CODE_SECRET",
                "WECHAT_APPID",
                "WECHAT_SECRET",
                "B2BC_PUBLIC_BASE_URL",
                *PAY_ENV,
            )
            if not env.get(name)
        ]
        for name in ("B2BC_JWT_SECRET", "B2BC_CODE_SECRET"):
            if env.get(name) and len(env[name]) < MIN_SECRET_LENGTH:
                problems.append(f"{name} must be at least {MIN_SECRET_LENGTH} characters")
        if env.get("DATABASE_URL", "").startswith("sqlite"):
            problems.append("DATABASE_URL must be PostgreSQL in production")
        if env.get("REDIS_URL") == EMBEDDED_REDIS_URL:
            problems.append("REDIS_URL must be a real Redis in production")
        if problems:
            raise ConfigError("; ".join(problems))
        stored = {
            "jwt_secret": env["B2BC_JWT_SECRET"],
            "code_signing_secret": env["B2BC_CODE_SECRET"],
        }
    else:
        stored = _load_or_create_secrets(data_dir)

    wechat = WechatSettings(
        appid=env.get("WECHAT_APPID", SANDBOX_APPID),
        secret=env.get("WECHAT_SECRET", SANDBOX_APP_SECRET),
        api_base_url=env.get("WECHAT_API_BASE_URL", f"{public_base_url}/wx-sandbox").rstrip("/"),
        complaint_update_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_COMPLAINT_UPDATE", COMPLAINT_UPDATE_TEMPLATE_ID
        ),
        live_reminder_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_LIVE_REMINDER", LIVE_REMINDER_TEMPLATE_ID
        ),
    )
    wechat_pay, pay_keys = _wechat_pay(
        env, mode, data_dir, wechat.appid, public_base_url.rstrip("/")
    )
    return Settings(
        mode=mode,  # type: ignore[arg-type]
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL", f"sqlite://{data_dir / 'b2bc.sqlite3'}"),
        redis_url=env.get("REDIS_URL", EMBEDDED_REDIS_URL),
        jwt_secret=env.get("B2BC_JWT_SECRET", stored["jwt_secret"]),
        code_signing_secret=env.get("B2BC_CODE_SECRET", stored["code_signing_secret"]),
        wechat=wechat,
        wechat_pay=wechat_pay,
        pay_sandbox_keys=pay_keys,
        storage=_storage(env, mode, data_dir, public_base_url.rstrip("/")),
        host=host,
        port=port,
        public_base_url=public_base_url.rstrip("/"),
        access_token_ttl_seconds=int(env.get("B2BC_ACCESS_TOKEN_TTL", 15 * 60)),
        refresh_token_ttl_seconds=int(env.get("B2BC_REFRESH_TOKEN_TTL", 30 * 24 * 3600)),
        max_body_bytes=int(env.get("B2BC_MAX_BODY_BYTES", 1024 * 1024)),
        max_upload_bytes=int(env.get("B2BC_MAX_UPLOAD_BYTES", 12 * 1024 * 1024)),
        order_payment_timeout_seconds=int(env.get("B2BC_ORDER_PAYMENT_TIMEOUT", 30 * 60)),
        access_log=env.get("B2BC_ACCESS_LOG", "1") not in ("0", "false", "no"),
        log_level=env.get("B2BC_LOG_LEVEL", "INFO"),
        metrics_token=env.get("B2BC_METRICS_TOKEN") or None,
        metrics_port=_port(env, "B2BC_METRICS_PORT"),
    )


def _port(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"{name} must be a port number (1-65535), not {value!r}")
    return int(value)
