"""Settings from the environment, with embedded defaults for a newcomer's machine.

Embedded mode (the default) needs nothing: SQLite in the data folder, an in-process Redis,
the built-in WeChat sandbox and secrets generated once into the data folder. Production
mode (B2BC_MODE=production) refuses to start unless every real backing service and secret
its role uses is given: `load_settings(role=...)` asks the API, realtime, worker and sandbox
processes each for only what they use (ROLE_NEEDS), and lists everything missing at once.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import parse_qs, urlsplit

from backend.infra.db import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT, DbPool
from backend.integrations.wechat.pay import (
    SandboxKeys,
    WechatPaySettings,
    generate_sandbox_keys,
    load_private_key,
    load_public_key,
    sandbox_settings,
    unconfigured_pay_settings,
)
from backend.integrations.wechat.sandbox import (
    COMPLAINT_UPDATE_TEMPLATE_ID,
    DISPLAY_REMINDER_TEMPLATE_ID,
    LIVE_REMINDER_TEMPLATE_ID,
    REORDER_REMINDER_TEMPLATE_ID,
)

EMBEDDED_REDIS_URL = "memory://"
SANDBOX_APPID = "wx_sandbox_appid"
SANDBOX_APP_SECRET = "sandbox-app-secret"  # noqa: S105 - only the local sandbox accepts it
MIN_SECRET_LENGTH = 32
SANDBOX_SP_MCHID = "1900000000"
WECHAT_API = "https://api.weixin.qq.com"
WECHAT_PAY_API = "https://api.mch.weixin.qq.com"
URL_SCHEMES = ("https://", "http://")
SANDBOX_PATH = "/wx-sandbox"  # where the sandboxes are mounted, embedded and standalone alike
PAY_ENV = (
    "WECHAT_PAY_SP_MCHID",
    "WECHAT_PAY_MERCHANT_SERIAL_NO",
    "WECHAT_PAY_MERCHANT_PRIVATE_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID",
    "WECHAT_PAY_API_V3_KEY",
)


Role = Literal["api", "realtime", "worker", "sandbox"]
ROLES: tuple[Role, ...] = get_args(Role)

# Every setting a production role may need, and what it is for: an operator reads these in
# the list of what is missing.
PURPOSES: dict[str, str] = {
    "DATABASE_URL": "PostgreSQL 数据库 (postgres://用户:密码@主机:5432/库名)",
    "REDIS_URL": "Redis：缓存、任务队列与实时消息 (redis://主机:6379/0)",
    "B2BC_JWT_SECRET": "登录令牌签名密钥，API 与实时服务必须相同（至少 32 个字符）",
    "B2BC_CODE_SECRET": "门店入驻码签名密钥（至少 32 个字符）",
    "WECHAT_APPID": "小程序 AppID",
    "WECHAT_SECRET": "小程序 AppSecret",
    "B2BC_PUBLIC_BASE_URL": "对外地址，如 https://b2bc.example.com（支付回调与链接由它拼成）",
    "WECHAT_PAY_SP_MCHID": "微信支付服务商商户号",
    "WECHAT_PAY_MERCHANT_SERIAL_NO": "微信支付商户 API 证书序列号",
    "WECHAT_PAY_MERCHANT_PRIVATE_KEY": "微信支付商户 API 私钥（PEM 文本或文件路径）",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY": "微信支付公钥（PEM 文本或文件路径）",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID": "微信支付公钥 ID (PUB_KEY_ID_…)",
    "WECHAT_PAY_API_V3_KEY": "微信支付 APIv3 密钥（32 个字符）",
    "S3_BUCKET": "上传文件（投诉照片）的 S3 存储桶（或设 B2BC_STORAGE=local）",
}
_SERVICES = ("DATABASE_URL", "REDIS_URL")
_WECHAT = ("WECHAT_APPID", "WECHAT_SECRET")
# What each process uses, so what it refuses to start without in production. realtime signs
# no tokens but verifies the API's (same B2BC_JWT_SECRET), checks store owners' chat with
# WeChat's msg_sec_check (the app's credentials) and links draw records by the public URL.
# The worker takes payments' refunds and reconciliation (Pay keys; refunds name a notify URL),
# sends subscribe messages (WeChat) and purges unused photos (storage).
ROLE_NEEDS: dict[Role, tuple[str, ...]] = {
    "api": (
        *_SERVICES,
        "B2BC_JWT_SECRET",
        "B2BC_CODE_SECRET",
        *_WECHAT,
        "B2BC_PUBLIC_BASE_URL",
        *PAY_ENV,
    ),
    "realtime": (*_SERVICES, "B2BC_JWT_SECRET", *_WECHAT, "B2BC_PUBLIC_BASE_URL"),
    "worker": (*_SERVICES, *_WECHAT, "B2BC_PUBLIC_BASE_URL", *PAY_ENV),
    "sandbox": (),  # plays WeChat: its data folder and port only
}
STORAGE_ROLES: frozenset[Role] = frozenset({"api", "worker"})


class ConfigError(Exception):
    """The environment does not describe a runnable platform. `problems`: one line per
    missing or invalid setting, naming it and what it is for."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def needs(role: Role | None) -> tuple[str, ...]:
    """The settings `role` requires in production (None: every role's, one process for all)."""
    if role is None:
        return tuple(dict.fromkeys(name for r in ROLES for name in ROLE_NEEDS[r]))
    return ROLE_NEEDS[role]


def uses_storage(role: Role | None) -> bool:
    return role is None or role in STORAGE_ROLES


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
    # The reminder before a display program's check closes: thing1 (活动名称), time2
    # (截止时间), thing3 (温馨提示).
    display_reminder_template_id: str = DISPLAY_REMINDER_TEMPLATE_ID
    # The reminder that a store is due to reorder a product it buys regularly: thing1
    # (商品名称), time2 (上次订货时间), thing3 (温馨提示).
    reorder_reminder_template_id: str = REORDER_REMINDER_TEMPLATE_ID


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


# A process whose role keeps no files (realtime, the sandbox): no directory, so any attempt to
# store one fails (infra/storage.py) instead of writing where nobody serves it.
UNUSED_STORAGE = StorageSettings(backend="local", public_url="/media")


def _storage(
    env: Mapping[str, str], mode: str, data_dir: Path, public_base_url: str, problems: list[str]
) -> StorageSettings:
    backend = env.get("B2BC_STORAGE", "s3" if mode == "production" else "local")
    if backend == "local":
        return StorageSettings(
            backend="local", public_url=f"{public_base_url}/media", local_dir=data_dir / "media"
        )
    if backend != "s3":
        problems.append(f"B2BC_STORAGE must be local or s3, not {backend!r} (上传文件存放方式)")
        return UNUSED_STORAGE
    if not env.get("S3_BUCKET"):
        problems.append(_missing("S3_BUCKET"))
        return UNUSED_STORAGE
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


def _missing(name: str) -> str:
    return f"{name} is required: {PURPOSES[name]}"


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
    # The process this is (load_settings' role); None: one process plays every role.
    role: Role | None = None
    sandbox_port: int = 8090  # `b2bc sandbox` (B2BC_SANDBOX_PORT)
    public_base_url: str = "http://127.0.0.1:8000"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # How long a process trusts its cached "this session is not revoked" answer.
    revocation_cache_seconds: float = 5.0
    # How long a process may keep a user's /me profile (identity/profiles.py): changes made
    # through the services reach every process at once; this bounds one made by hand.
    profile_cache_seconds: float = 600.0
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
    db_pool: DbPool = field(default_factory=DbPool)
    # On SIGTERM each process finishes what it has in hand (requests, jobs) for at most this
    # many seconds, then stops; a rolling restart waits this long per process.
    graceful_timeout: float = 20.0
    # /metrics answers anyone presenting this bearer token, besides private peers
    # (backend/infra/metrics.py); a job worker serves its metrics on metrics_port if set.
    metrics_token: str | None = None
    metrics_port: int | None = None
    # A brand's image service judging display photos (backend/display/recognisers.py);
    # empty: every display submission that passes the automatic checks goes to a person.
    display_recogniser_url: str = ""
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


def load_or_create_pay_keys(data_dir: Path) -> SandboxKeys:
    """The sandbox's key pairs, made once, so a restart still verifies earlier notifications.
    Shared by the embedded default, `b2bc sandbox` and `b2bc sandbox-env`: the first to come
    makes them, and two at once still agree (the file appears whole, and only once)."""
    path = data_dir / "wechat_pay_sandbox.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        keys = generate_sandbox_keys()
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        draft.touch(mode=0o600)
        draft.write_text(json.dumps(keys.__dict__), encoding="utf-8")
        try:
            os.link(draft, path)  # fails if another process made the file meanwhile
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return SandboxKeys(**json.loads(path.read_text(encoding="utf-8")))


def _pem(name: str, value: str, load: Callable[[str], object], problems: list[str]) -> str:
    """A PEM given inline, or the path of a file holding it; checked by loading the key, so a
    wrong path or a damaged key is named at start-up rather than at the first payment."""
    try:
        text = value if value.lstrip().startswith("-----BEGIN") else Path(value).read_text("utf-8")
    except OSError as exc:
        problems.append(f"{name}: cannot read {value!r} ({exc.strerror}): {PURPOSES[name]}")
        return ""
    try:
        load(text)
    except (ValueError, TypeError):
        problems.append(f"{name} is not a valid RSA key in PEM form: {PURPOSES[name]}")
        return ""
    return text


def _wechat_pay(
    env: Mapping[str, str],
    *,
    mode: str,
    data_dir: Path,
    appid: str,
    public_base_url: str,
    problems: list[str],
) -> tuple[WechatPaySettings, SandboxKeys | None]:
    notify = f"{public_base_url}/api/v1/payments/wechat/notify"
    refund_notify = f"{public_base_url}/api/v1/payments/wechat/refund-notify"
    if mode == "embedded" and not env.get("WECHAT_PAY_SP_MCHID"):
        keys = load_or_create_pay_keys(data_dir)
        base = env.get("WECHAT_PAY_API_BASE_URL", f"{public_base_url}{SANDBOX_PATH}").rstrip("/")
        settings = sandbox_settings(
            keys,
            sp_appid=appid,
            sp_mchid=SANDBOX_SP_MCHID,
            api_base_url=base,
            notify_url=notify,
            refund_notify_url=refund_notify,
        )
        return settings, keys
    missing = [name for name in PAY_ENV if not env.get(name)]
    if missing:
        problems.extend(_missing(name) for name in missing)
        return unconfigured_pay_settings(appid), None
    api_v3_key = env["WECHAT_PAY_API_V3_KEY"]
    if len(api_v3_key.encode()) != 32:  # AES-256: WeChat's APIv3 key is exactly 32 bytes
        problems.append(
            f"WECHAT_PAY_API_V3_KEY must be 32 characters: {PURPOSES['WECHAT_PAY_API_V3_KEY']}"
        )
    return (
        WechatPaySettings(
            sp_appid=appid,
            sp_mchid=env["WECHAT_PAY_SP_MCHID"],
            merchant_serial_no=env["WECHAT_PAY_MERCHANT_SERIAL_NO"],
            merchant_private_key=_pem(
                "WECHAT_PAY_MERCHANT_PRIVATE_KEY",
                env["WECHAT_PAY_MERCHANT_PRIVATE_KEY"],
                load_private_key,
                problems,
            ),
            platform_public_key=_pem(
                "WECHAT_PAY_PLATFORM_PUBLIC_KEY",
                env["WECHAT_PAY_PLATFORM_PUBLIC_KEY"],
                load_public_key,
                problems,
            ),
            platform_public_key_id=env["WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID"],
            api_v3_key=api_v3_key,
            api_base_url=env.get("WECHAT_PAY_API_BASE_URL", WECHAT_PAY_API).rstrip("/"),
            notify_url=notify,
            refund_notify_url=refund_notify,
        ),
        None,
    )


def _graceful_timeout(env: Mapping[str, str], problems: list[str]) -> float:
    raw = env.get("B2BC_GRACEFUL_TIMEOUT", "20")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        problems.append(f"B2BC_GRACEFUL_TIMEOUT must be a positive number of seconds, not {raw!r}")
        return 20.0
    return seconds


def _db_pool(env: Mapping[str, str], database_url: str) -> DbPool:
    """The pool each process opens (docs/production-connections.md sizes it for a fleet).

    A `?maxsize=` in DATABASE_URL, the older way, still sets the size; next to a different
    B2BC_DB_POOL_SIZE it is refused, since either could be the one the operator meant."""
    query = parse_qs(urlsplit(database_url).query)
    in_url = query.get("maxsize", [None])[-1]
    given = env.get("B2BC_DB_POOL_SIZE")
    try:
        size = int(given or in_url or DEFAULT_POOL_SIZE)
        timeout = float(env.get("B2BC_DB_POOL_TIMEOUT", DEFAULT_POOL_TIMEOUT))
    except ValueError as exc:
        raise ConfigError(
            "B2BC_DB_POOL_SIZE must be a whole number and B2BC_DB_POOL_TIMEOUT seconds"
        ) from exc
    if given and in_url and int(in_url) != size:
        raise ConfigError(
            f"B2BC_DB_POOL_SIZE={given} conflicts with maxsize={in_url} in DATABASE_URL: "
            "set the pool size in one place"
        )
    if size < 1:
        raise ConfigError("B2BC_DB_POOL_SIZE must be at least 1")
    if not timeout > 0:
        raise ConfigError("B2BC_DB_POOL_TIMEOUT must be more than 0 seconds")
    flags = (env.get("B2BC_PGBOUNCER", "0"), query.get("pgbouncer", ["0"])[-1])
    pgbouncer = any(flag.lower() in ("1", "true", "yes", "on") for flag in flags)
    return DbPool(size=size, timeout=timeout, pgbouncer=pgbouncer)


def _production_problems(env: Mapping[str, str], role: Role | None) -> list[str]:
    """What is missing or unfit for `role` in production, every line at once. The Pay keys
    and the bucket are checked where they are read (_wechat_pay, _storage)."""
    required = [name for name in needs(role) if name not in PAY_ENV]
    problems = [_missing(name) for name in required if not env.get(name)]
    for name in ("B2BC_JWT_SECRET", "B2BC_CODE_SECRET"):
        if name in required and env.get(name) and len(env[name]) < MIN_SECRET_LENGTH:
            problems.append(
                f"{name} must be at least {MIN_SECRET_LENGTH} characters: {PURPOSES[name]}"
            )
    if "DATABASE_URL" in required and env.get("DATABASE_URL", "").startswith("sqlite"):
        problems.append(
            f"DATABASE_URL must be PostgreSQL in production: {PURPOSES['DATABASE_URL']}"
        )
    public = env.get("B2BC_PUBLIC_BASE_URL")
    if "B2BC_PUBLIC_BASE_URL" in required and public and not public.startswith(URL_SCHEMES):
        problems.append(
            f"B2BC_PUBLIC_BASE_URL must start with https:// or http://, not {public!r}: "
            f"{PURPOSES['B2BC_PUBLIC_BASE_URL']}"
        )
    if "REDIS_URL" in required and env.get("REDIS_URL") == EMBEDDED_REDIS_URL:
        problems.append(f"REDIS_URL must be a real Redis in production: {PURPOSES['REDIS_URL']}")
    return problems


def _integer(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    value = env.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        problems.append(f"{name} must be a whole number, not {value!r}")
        return default


def load_settings(env: Mapping[str, str] | None = None, role: Role | None = None) -> Settings:
    """The settings of a process playing `role` (None: all of them in one process, as the
    embedded default and the commands that are no server do). Raises ConfigError listing
    every missing or invalid setting."""
    env = os.environ if env is None else env
    if role is not None and role not in ROLES:
        raise ConfigError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    mode = env.get("B2BC_MODE", "embedded")
    if mode not in ("embedded", "production"):
        raise ConfigError(f"B2BC_MODE must be embedded or production, not {mode!r}")
    data_dir = Path(env.get("B2BC_DATA_DIR", "data")).resolve()
    problems: list[str] = []
    host = env.get("B2BC_HOST", "127.0.0.1")
    port = _integer(env, "B2BC_PORT", 8000, problems)
    public_base_url = env.get("B2BC_PUBLIC_BASE_URL", f"http://{host}:{port}").rstrip("/")
    required = needs(role) if mode == "production" else ()

    if mode == "production":
        problems.extend(_production_problems(env, role))
        # A role that verifies or signs nothing gets a secret of its own, random per process:
        # whatever it signed by mistake no other process would accept, and the reverse.
        stored = {
            "jwt_secret": secrets.token_urlsafe(48),
            "code_signing_secret": secrets.token_urlsafe(48),
        }
    else:
        stored = _load_or_create_secrets(data_dir)

    # Production talks to WeChat itself unless told otherwise (a staging fleet points both at
    # `b2bc sandbox`); the embedded default at the sandbox it mounts.
    sandbox_url = f"{public_base_url}{SANDBOX_PATH}"
    wechat = WechatSettings(
        appid=env.get("WECHAT_APPID", SANDBOX_APPID),
        secret=env.get("WECHAT_SECRET", SANDBOX_APP_SECRET),
        api_base_url=env.get(
            "WECHAT_API_BASE_URL", WECHAT_API if mode == "production" else sandbox_url
        ).rstrip("/"),
        complaint_update_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_COMPLAINT_UPDATE", COMPLAINT_UPDATE_TEMPLATE_ID
        ),
        live_reminder_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_LIVE_REMINDER", LIVE_REMINDER_TEMPLATE_ID
        ),
        display_reminder_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_DISPLAY_REMINDER", DISPLAY_REMINDER_TEMPLATE_ID
        ),
        reorder_reminder_template_id=env.get(
            "B2BC_WECHAT_TEMPLATE_REORDER_REMINDER", REORDER_REMINDER_TEMPLATE_ID
        ),
    )
    if mode == "embedded" or "WECHAT_PAY_SP_MCHID" in required:
        wechat_pay, pay_keys = _wechat_pay(
            env,
            mode=mode,
            data_dir=data_dir,
            appid=wechat.appid,
            public_base_url=public_base_url,
            problems=problems,
        )
    else:
        wechat_pay, pay_keys = unconfigured_pay_settings(wechat.appid), None
    storage = (
        _storage(env, mode, data_dir, public_base_url, problems)
        if mode == "embedded" or uses_storage(role)
        else UNUSED_STORAGE
    )
    database_url = env.get("DATABASE_URL", f"sqlite://{data_dir / 'b2bc.sqlite3'}")
    try:
        db_pool = _db_pool(env, database_url)
    except ConfigError as refused:  # listed with the others, not alone
        problems.extend(refused.problems)
        db_pool = DbPool()
    settings = Settings(
        mode=mode,  # type: ignore[arg-type]
        role=role,
        data_dir=data_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL", EMBEDDED_REDIS_URL),
        jwt_secret=env.get("B2BC_JWT_SECRET", stored["jwt_secret"]),
        code_signing_secret=env.get("B2BC_CODE_SECRET", stored["code_signing_secret"]),
        wechat=wechat,
        wechat_pay=wechat_pay,
        pay_sandbox_keys=pay_keys,
        storage=storage,
        host=host,
        port=port,
        sandbox_port=_integer(env, "B2BC_SANDBOX_PORT", 8090, problems),
        public_base_url=public_base_url,
        access_token_ttl_seconds=_integer(env, "B2BC_ACCESS_TOKEN_TTL", 15 * 60, problems),
        refresh_token_ttl_seconds=_integer(env, "B2BC_REFRESH_TOKEN_TTL", 30 * 24 * 3600, problems),
        max_body_bytes=_integer(env, "B2BC_MAX_BODY_BYTES", 1024 * 1024, problems),
        max_upload_bytes=_integer(env, "B2BC_MAX_UPLOAD_BYTES", 12 * 1024 * 1024, problems),
        order_payment_timeout_seconds=_integer(
            env, "B2BC_ORDER_PAYMENT_TIMEOUT", 30 * 60, problems
        ),
        access_log=env.get("B2BC_ACCESS_LOG", "1") not in ("0", "false", "no"),
        log_level=env.get("B2BC_LOG_LEVEL", "INFO"),
        db_pool=db_pool,
        graceful_timeout=_graceful_timeout(env, problems),
        metrics_token=env.get("B2BC_METRICS_TOKEN") or None,
        metrics_port=_port(env, "B2BC_METRICS_PORT", problems),
        display_recogniser_url=_recogniser_url(env, problems),
    )
    if problems:
        raise ConfigError(problems)
    return settings


def _recogniser_url(env: Mapping[str, str], problems: list[str]) -> str:
    url = env.get("B2BC_DISPLAY_RECOGNISER_URL", "").strip()
    if url and not url.startswith(URL_SCHEMES):
        problems.append(f"B2BC_DISPLAY_RECOGNISER_URL must start with https:// or http://: {url!r}")
    return url


def _port(env: Mapping[str, str], name: str, problems: list[str]) -> int | None:
    value = env.get(name)
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        problems.append(f"{name} must be a port number (1-65535), not {value!r}")
        return None
    return int(value)
