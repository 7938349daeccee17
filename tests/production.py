"""Real `b2bc` processes in production mode, for the tests of what a restart does.

`production_env` is one environment file's worth of settings for the whole fleet, made from
the tests' own: their database and Redis, their JWT secret (so tokens the tests mint are
accepted), WeChat at the tests' sandbox and the sandbox's Pay keys written out as PEM files,
as an operator would install them. `B2bcProcess` runs one `python -m backend.cli ...` with
its output in test-artifacts/, and answers where it stands."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.config import SANDBOX_SP_MCHID, Settings
from backend.integrations.wechat.pay import SandboxKeys
from tests.conftest import ARTIFACTS, free_port

ROOT = Path(__file__).resolve().parent.parent


def production_env(
    settings: Settings, pay_keys: SandboxKeys, directory: Path, *, wechat_base_url: str
) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    merchant_key = directory / "merchant_private_key.pem"
    platform_key = directory / "platform_public_key.pem"
    merchant_key.write_text(pay_keys.merchant_private_key, encoding="utf-8")
    platform_key.write_text(pay_keys.platform_public_key, encoding="utf-8")
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("B2BC_", "WECHAT_", "S3_"))
    }
    return inherited | {
        "PYTHONPATH": str(ROOT),
        "B2BC_MODE": "production",
        "B2BC_DATA_DIR": str(directory),
        "B2BC_HOST": "127.0.0.1",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "B2BC_JWT_SECRET": settings.jwt_secret,
        "B2BC_CODE_SECRET": settings.code_signing_secret,
        "B2BC_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "WECHAT_APPID": settings.wechat.appid,
        "WECHAT_SECRET": settings.wechat.secret,
        "WECHAT_API_BASE_URL": wechat_base_url,
        "WECHAT_PAY_API_BASE_URL": wechat_base_url,
        "WECHAT_PAY_SP_MCHID": SANDBOX_SP_MCHID,
        "WECHAT_PAY_MERCHANT_SERIAL_NO": pay_keys.merchant_serial_no,
        "WECHAT_PAY_MERCHANT_PRIVATE_KEY": str(merchant_key),
        "WECHAT_PAY_PLATFORM_PUBLIC_KEY": str(platform_key),
        "WECHAT_PAY_PLATFORM_PUBLIC_KEY_ID": pay_keys.platform_public_key_id,
        "WECHAT_PAY_API_V3_KEY": pay_keys.api_v3_key,
        # A bucket nobody reaches: these tests upload nothing.
        "S3_BUCKET": "b2bc-test",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "B2BC_LOG_LEVEL": "INFO",
        "B2BC_ACCESS_LOG": "0",
    }


class B2bcProcess:
    """`b2bc <args>` in its own process; its output in test-artifacts/processes/<name>.log."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log_dir = ARTIFACTS / "processes"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self.log_path.write_bytes(b"")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: killing it takes its children (Sanic's workers) too.
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, seconds: float = 60.0) -> None:
        """Until the process has written `text` (a hang guard, not a measure)."""
        deadline = time.monotonic() + seconds
        while text not in self.output():
            assert self.process.poll() is None, f"exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"never wrote {text!r}:\n{self.output()}"
            time.sleep(0.05)

    def wait_until_serving(self, url: str, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"exited early:\n{self.output()}"
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not serving {url}:\n{self.output()}"
            time.sleep(0.1)

    def terminate(self) -> None:
        """SIGTERM, as systemd stops a unit."""
        self.process.send_signal(signal.SIGTERM)

    def exit_code(self, seconds: float = 90.0) -> int:
        return self.process.wait(timeout=seconds)

    def kill(self) -> None:
        """SIGKILL to the whole group, whatever is left of it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
