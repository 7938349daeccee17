"""Settings: embedded defaults need nothing; production refuses to start without real ones."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from backend.config import ConfigError, load_settings
from backend.integrations.wechat.pay import generate_rsa_key_pair

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
    "WECHAT_API_BASE_URL": "https://api.weixin.qq.com",
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
