"""Settings: embedded defaults need nothing; production refuses to start without real ones."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.config import SANDBOX_APP_SECRET, SANDBOX_APPID, ConfigError, load_settings
from backend.integrations.wechat.pay import generate_rsa_key_pair
from tests.b2bc_process import b2bc

# Real keys: the settings check that the Pay PEMs load.
MERCHANT_PRIVATE_KEY, _ = generate_rsa_key_pair()
_, PLATFORM_PUBLIC_KEY = generate_rsa_key_pair()

PRODUCTION = {
    "B2BC_MODE": "production",
    "DATABASE_URL": "postgres://app@db:5432/b2bc",
    "REDIS_URL": "redis://cache:6379/0",
    "B2BC_JWT_SECRET": "j" * 40,
    "B2BC_CODE_SECRET": "c" * 40,
    "WECHAT_APPID": "wx1234567890",
    "WECHAT_SECRET": "s" * 32,
    "B2BC_PUBLIC_BASE_URL": "https://b2bc.example.com",
    "WECHAT_PAY_SP_MCHID": "1600000001",
    "WECHAT_PAY_MERCHANT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
    "WECHAT_PAY_MERCHANT_PRIVATE_KEY": MERCHANT_PRIVATE_KEY,
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY": PLATFORM_PUBLIC_KEY,
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID": "PUB_KEY_ID_0114232134912410000000000000",
    "WECHAT_PAY_API_V3_KEY": "a" * 32,
    "S3_BUCKET": "b2bc-media",
}


def test_embedded_defaults_generate_secrets_once(tmp_path: Path) -> None:
    first = load_settings({"B2BC_DATA_DIR": str(tmp_path)})
    second = load_settings({"B2BC_DATA_DIR": str(tmp_path)})
    assert first.mode == "embedded"
    assert first.database_url == f"sqlite://{tmp_path / 'b2bc.sqlite3'}"
    assert first.embedded_redis
    assert first.wechat.api_base_url == "http://127.0.0.1:8000/wx-sandbox"
    assert first.jwt_secret == second.jwt_secret and len(first.jwt_secret) >= 32
    assert first.jwt_secret != first.code_signing_secret
    # WeChat Pay points at the embedded sandbox, with keys made once and kept.
    assert first.wechat_pay.api_base_url == "http://127.0.0.1:8000/wx-sandbox"
    assert first.wechat_pay.notify_url == "http://127.0.0.1:8000/api/v1/payments/wechat/notify"
    assert first.pay_sandbox_keys == second.pay_sandbox_keys is not None
    secrets_file = tmp_path / "secrets.json"
    assert set(json.loads(secrets_file.read_text())) == {"jwt_secret", "code_signing_secret"}
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def test_production_with_everything_given_loads(tmp_path: Path) -> None:
    settings = load_settings({**PRODUCTION, "B2BC_DATA_DIR": str(tmp_path)})
    assert settings.mode == "production"
    assert settings.wechat.api_base_url == "https://api.weixin.qq.com"
    assert settings.wechat_pay.api_base_url == "https://api.mch.weixin.qq.com"
    assert settings.pay_sandbox_keys is None
    assert not (tmp_path / "secrets.json").exists()  # production never invents secrets


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"B2BC_JWT_SECRET": None}, "B2BC_JWT_SECRET is required"),
        ({"B2BC_JWT_SECRET": "short"}, "at least 32"),
        ({"DATABASE_URL": "sqlite:///tmp/x.db"}, "must be PostgreSQL"),
        ({"REDIS_URL": "memory://"}, "real Redis"),
        ({"WECHAT_SECRET": None}, "WECHAT_SECRET is required"),
        ({"WECHAT_PAY_API_V3_KEY": None}, "WECHAT_PAY_API_V3_KEY is required"),
        ({"B2BC_MODE": "prod"}, "embedded or production"),
    ],
)
def test_production_refuses_to_start_without_real_settings(change: dict, complaint: str) -> None:
    env = {**PRODUCTION, **change}
    env = {key: value for key, value in env.items() if value is not None}
    with pytest.raises(ConfigError, match=complaint):
        load_settings(env)


def test_cli_exits_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backend import cli

    monkeypatch.setenv("B2BC_MODE", "production")
    for name in ("DATABASE_URL", "REDIS_URL", "B2BC_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["migrate"])
    assert exited.value.code == 2
    assert "DATABASE_URL is required" in capsys.readouterr().err


def test_production_keeps_uploads_in_a_bucket() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.storage.backend == "s3" and settings.storage.bucket == "b2bc-media"
    assert settings.storage.public_url == "https://b2bc-media.s3.amazonaws.com"
    without = {key: value for key, value in PRODUCTION.items() if key != "S3_BUCKET"}
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        load_settings(without)
    local = load_settings({**without, "B2BC_STORAGE": "local"})
    assert local.storage.backend == "local"


def test_banner_says_what_the_embedded_default_really_uses(tmp_path: Path) -> None:
    from backend import cli

    banner = "\n".join(cli.startup_banner(load_settings({"B2BC_DATA_DIR": str(tmp_path)}), "x"))
    assert "嵌入式 embedded" in banner and "production" not in banner
    assert f"SQLite 文件 {tmp_path / 'b2bc.sqlite3'}" in banner
    assert "进程内" in banner
    assert "微信       沙箱 http://127.0.0.1:8000/wx-sandbox" in banner
    assert "微信支付   沙箱" in banner
    assert f"本地目录 {tmp_path / 'media'}" in banner


def test_banner_names_real_services_without_passwords(tmp_path: Path) -> None:
    from backend import cli

    embedded_on_services = load_settings(
        {
            "B2BC_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://b2bc:pg-secret@db.internal:5433/b2bc?maxsize=20",
            "REDIS_URL": "redis://:redis-secret@cache:6380/3",
        }
    )
    banner = "\n".join(cli.startup_banner(embedded_on_services, "x"))
    assert "嵌入式 embedded" in banner
    assert "PostgreSQL db.internal:5433/b2bc，用户 b2bc" in banner
    assert "redis://cache:6380/3" in banner
    assert "SQLite" not in banner and "进程内" not in banner
    assert "secret" not in banner

    production = "\n".join(
        cli.startup_banner(
            load_settings({**PRODUCTION, "B2BC_DATA_DIR": str(tmp_path)}), "API，4 个进程"
        )
    )
    assert "生产 production" in production and "嵌入式" not in production
    assert "PostgreSQL db:5432/b2bc" in production and "redis://cache:6379/0" in production
    assert "微信       真实 https://api.weixin.qq.com（wx1234567890）" in production
    assert "微信支付   真实 https://api.mch.weixin.qq.com（服务商商户号 1600000001）" in production
    assert "S3 存储桶 b2bc-media" in production


def test_the_api_app_leaves_sanics_misleading_banner_out(tmp_path: Path) -> None:
    """Sanic's own banner says "mode: production" for any server outside its debug mode."""
    from backend import cli

    app = cli._api_app(load_settings({"B2BC_DATA_DIR": str(tmp_path)}), "b2bc_banner_test")
    assert app.config.MOTD is False


# --- per role ---------------------------------------------------------------------------

PAY = [
    "WECHAT_PAY_SP_MCHID",
    "WECHAT_PAY_MERCHANT_SERIAL_NO",
    "WECHAT_PAY_MERCHANT_PRIVATE_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY",
    "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID",
    "WECHAT_PAY_API_V3_KEY",
]
SERVICES = ["DATABASE_URL", "REDIS_URL"]
WECHAT = ["WECHAT_APPID", "WECHAT_SECRET"]
# What realtime uses: the services, the API's token secret (to verify), WeChat's content
# check for chat, and the public URL in draw record links.
REALTIME_ONLY = {
    key: PRODUCTION[key]
    for key in ("B2BC_MODE", *SERVICES, "B2BC_JWT_SECRET", *WECHAT, "B2BC_PUBLIC_BASE_URL")
}


def _refused(env: dict[str, str], role: str | None) -> list[str]:
    """The settings named by the refusal, one per line, in order."""
    with pytest.raises(ConfigError) as refused:
        load_settings(env, role=role)  # type: ignore[arg-type]
    assert str(refused.value).splitlines() == refused.value.problems
    return [problem.split()[0].rstrip(":") for problem in refused.value.problems]


@pytest.mark.parametrize(
    ("role", "required"),
    [
        (
            "api",
            [
                *SERVICES,
                "B2BC_JWT_SECRET",
                "B2BC_CODE_SECRET",
                *WECHAT,
                "B2BC_PUBLIC_BASE_URL",
                *PAY,
                "S3_BUCKET",
            ],
        ),
        ("realtime", [*SERVICES, "B2BC_JWT_SECRET", *WECHAT, "B2BC_PUBLIC_BASE_URL"]),
        ("worker", [*SERVICES, *WECHAT, "B2BC_PUBLIC_BASE_URL", *PAY, "S3_BUCKET"]),
        (None, [*SERVICES, "B2BC_JWT_SECRET", "B2BC_CODE_SECRET", *WECHAT,
                "B2BC_PUBLIC_BASE_URL", *PAY, "S3_BUCKET"]),
    ],
)  # fmt: skip
def test_each_role_names_everything_it_needs_at_once(role: str | None, required: list) -> None:
    assert _refused({"B2BC_MODE": "production"}, role) == required


def test_the_sandbox_needs_nothing_in_production(tmp_path: Path) -> None:
    settings = load_settings({"B2BC_MODE": "production", "B2BC_DATA_DIR": str(tmp_path)}, "sandbox")
    assert (settings.role, settings.sandbox_port) == ("sandbox", 8090)
    assert (settings.wechat.appid, settings.wechat.secret) == (SANDBOX_APPID, SANDBOX_APP_SECRET)
    assert not settings.wechat_pay.configured


async def test_realtime_starts_with_only_what_it_uses() -> None:
    from backend.app import build_deps
    from backend.identity.tokens import Principal, issue_access_token, read_access_token
    from backend.infra.storage import storage_for
    from backend.integrations.wechat.pay import WechatPayError

    realtime = load_settings(REALTIME_ONLY, role="realtime")
    api = load_settings(PRODUCTION, role="api")
    # A token the API signs verifies in the realtime process: the one B2BC_JWT_SECRET.
    now = datetime.now(UTC)
    token = issue_access_token(
        Principal(user_id=7, session_id="s"), secret=api.jwt_secret, now=now, ttl_seconds=60
    )
    assert read_access_token(token, secret=realtime.jwt_secret, now=now).user_id == 7
    # No Pay keys and no bucket: the placeholders refuse to be used, with a reason.
    assert not realtime.wechat_pay.configured and realtime.pay_sandbox_keys is None
    deps = build_deps(realtime)
    try:
        with pytest.raises(WechatPayError) as refused:
            await deps.pay.query(sub_mchid="1900000001", out_trade_no="B2BC000001")
        assert refused.value.code == "NOT_CONFIGURED"
        with pytest.raises(WechatPayError):
            deps.pay.payment_params("wx123")
    finally:
        await deps.redis.aclose()
    with pytest.raises(RuntimeError, match="keeps no files"):
        storage_for(realtime.storage)


def test_api_without_pay_keys_is_refused_listing_each() -> None:
    without_pay = {key: value for key, value in PRODUCTION.items() if key not in PAY}
    assert _refused(without_pay, "api") == PAY
    with pytest.raises(ConfigError) as refused:
        load_settings(without_pay, role="api")
    assert "微信支付 APIv3 密钥" in str(refused.value)  # each line says what it is for
    # The realtime process never pays: the same environment starts it.
    assert load_settings(without_pay, role="realtime").role == "realtime"


def test_the_worker_signs_no_tokens_and_makes_up_an_unusable_secret() -> None:
    without_secrets = {
        key: value
        for key, value in PRODUCTION.items()
        if key not in ("B2BC_JWT_SECRET", "B2BC_CODE_SECRET")
    }
    first = load_settings(without_secrets, role="worker")
    second = load_settings(without_secrets, role="worker")
    # Random per process: nothing another process signed could verify with it.
    assert first.jwt_secret != second.jwt_secret and len(first.jwt_secret) >= 32
    assert first.wechat_pay.configured and first.storage.backend == "s3"
    assert _refused(without_secrets, "api") == ["B2BC_JWT_SECRET", "B2BC_CODE_SECRET"]


def test_every_invalid_setting_is_listed_in_one_refusal(tmp_path: Path) -> None:
    env = {
        **PRODUCTION,
        "DATABASE_URL": "sqlite:///tmp/x.db",
        "B2BC_JWT_SECRET": "short",
        "B2BC_PORT": "eighty",
        "B2BC_PUBLIC_BASE_URL": "b2bc.example.com",
        "WECHAT_PAY_MERCHANT_PRIVATE_KEY": str(tmp_path / "missing.pem"),
        "WECHAT_PAY_PLATFORM_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----",
        "WECHAT_PAY_API_V3_KEY": "too-short",
    }
    with pytest.raises(ConfigError) as refused:
        load_settings(env, role="api")
    problems = refused.value.problems
    assert len(problems) == 7
    for expected in (
        "B2BC_PUBLIC_BASE_URL must start with https://",
        "B2BC_PORT must be a whole number",
        "B2BC_JWT_SECRET must be at least 32",
        "DATABASE_URL must be PostgreSQL",
        "WECHAT_PAY_API_V3_KEY must be 32 characters",
        f"WECHAT_PAY_MERCHANT_PRIVATE_KEY: cannot read '{tmp_path / 'missing.pem'}'",
        "WECHAT_PAY_PLATFORM_PUBLIC_KEY is not a valid RSA key",
    ):
        assert any(problem.startswith(expected) for problem in problems), (expected, problems)


def test_pay_keys_may_be_files(tmp_path: Path) -> None:
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_text(MERCHANT_PRIVATE_KEY)
    settings = load_settings({**PRODUCTION, "WECHAT_PAY_MERCHANT_PRIVATE_KEY": str(key_file)})
    assert settings.wechat_pay.merchant_private_key == MERCHANT_PRIVATE_KEY


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ConfigError, match="api, realtime, worker, sandbox"):
        load_settings(PRODUCTION, role="web")  # type: ignore[arg-type]


# --- the commands, as an operator runs them ----------------------------------------------


def test_check_config_exits_0_with_what_the_role_uses() -> None:
    checked = b2bc("check-config", "realtime", **REALTIME_ONLY)
    assert checked.returncode == 0, checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0].startswith("配置检查通过：realtime")
    assert "  Redis      redis://cache:6379/0" in lines
    assert "  微信       真实 https://api.weixin.qq.com（wx1234567890）" in lines
    assert "  微信支付   本进程不使用" in lines and "  上传文件   本进程不使用" in lines


def test_check_config_exits_2_listing_each_missing_setting() -> None:
    checked = b2bc("check-config", "api", **REALTIME_ONLY)
    assert checked.returncode == 2
    listed = [line for line in checked.stderr.splitlines() if line.startswith("  - ")]
    assert [line.split()[1] for line in listed] == [
        "B2BC_CODE_SECRET",
        *PAY,
        "S3_BUCKET",
    ]
    assert "Traceback" not in checked.stderr and checked.stdout == ""


@pytest.mark.parametrize(
    ("command", "role"), [("serve", "api"), ("realtime", "realtime"), ("worker", "worker")]
)
def test_servers_refuse_to_start_without_their_settings(command: str, role: str) -> None:
    started = b2bc(command, B2BC_MODE="production")
    assert started.returncode == 2
    assert f"（角色 {role}）" in started.stderr
    assert "  - DATABASE_URL is required" in started.stderr
    assert "Traceback" not in started.stderr


def test_every_process_drains_for_the_graceful_timeout(tmp_path: Path) -> None:
    assert load_settings({"B2BC_DATA_DIR": str(tmp_path)}).graceful_timeout == 20.0
    given = load_settings({**PRODUCTION, "B2BC_GRACEFUL_TIMEOUT": "45.5"})
    assert given.graceful_timeout == 45.5


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf", "nan", ""])
def test_a_graceful_timeout_that_is_no_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="B2BC_GRACEFUL_TIMEOUT must be a positive number"):
        load_settings({**PRODUCTION, "B2BC_GRACEFUL_TIMEOUT": value})
