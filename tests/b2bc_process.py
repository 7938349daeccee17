"""Running `b2bc` commands as the operator does: a subprocess of this checkout's code, in an
environment holding only what the test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def b2bc_env(**extra: str) -> dict[str, str]:
    """The environment a `b2bc` subprocess gets: this checkout's code, none of the B2BC_ or
    WeChat settings of whoever runs the tests, and `extra`."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("B2BC_", "WECHAT_", "DATABASE_URL", "REDIS_URL", "S3_"))
    }
    return {**inherited, "PYTHONPATH": str(ROOT), **extra}


def b2bc(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=b2bc_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def env_lines(output: str) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in output.splitlines() if line.strip()]
    assert all(len(pair) == 2 for pair in pairs), output
    return dict(pairs)  # type: ignore[arg-type]


def start_b2bc(*args: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """A long-running `b2bc` command (a server), its output written to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "backend.cli", *args],
            env=b2bc_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def output(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")
