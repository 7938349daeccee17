"""Throwaway PostgreSQL and Redis for the test suite, where none answers at the configured URL.

`make test` runs the suite on PostgreSQL + Redis at fixed URLs. On CI and our development
machines servers answer there; on a laptop with the binaries installed but no server running
(or one on other ports, or with password auth), the suite starts its own instead: a cluster
made by initdb in a temporary folder and started by pg_ctl on a free loopback port with trust
auth, and a redis-server on a free port with no persistence. Both are stopped, and their
folders removed, when the test process ends. A server that answers is used as it is.

Debian keeps PostgreSQL's binaries in /usr/lib/postgresql/<version>/bin, off PATH. PostgreSQL
refuses to run as root, so when the tests run as root (as in CI) the cluster belongs to the
`postgres` user (or `nobody`) and its commands run through runuser.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

START_TIMEOUT_SECONDS = 30
_stops: list[Callable[[], None]] = []


class ServiceUnavailable(RuntimeError):
    """Nothing answers at the configured URL and nothing is installed to start one."""


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split(".") if part.isdigit())


def postgres_binary(name: str) -> str | None:
    """`name` (initdb, pg_ctl) from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*"), key=_version_key, reverse=True)
    for version in versions:
        candidate = version / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _cluster_owner() -> str | None:
    """The user PostgreSQL runs as: None for the current one, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ServiceUnavailable("以 root 运行测试时需要 postgres 或 nobody 用户来运行临时 PostgreSQL")


def _as_owner(owner: str | None, command: list[str]) -> list[str]:
    return command if owner is None else ["runuser", "-u", owner, "--", *command]


def _with_netloc(url: str, user: str | None, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _stop_all() -> None:
    while _stops:
        stop = _stops.pop()
        # One that fails to stop must not keep the others running.
        with contextlib.suppress(Exception):
            stop()


atexit.register(_stop_all)


def start_postgres(url: str) -> tuple[str, Callable[[], None]]:
    """A new cluster for `url`'s user on a free port: its URL, and what stops and removes it."""
    initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise ServiceUnavailable(
            f"{url} 无法连接，且未安装 PostgreSQL（apt-get install postgresql）来启动临时实例"
        )
    owner = _cluster_owner()
    user = urlsplit(url).username or "postgres"
    folder = Path(tempfile.mkdtemp(prefix="b2bc-test-pg-"))
    if owner is not None:
        shutil.chown(folder, owner)
    data, port = folder / "data", _free_port()

    def stop() -> None:
        subprocess.run(
            _as_owner(owner, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)

    try:
        _run_cluster(owner, initdb, pg_ctl, folder, user, port)
    except BaseException:
        stop()
        raise
    return _with_netloc(url, user, port), stop


def _run_cluster(
    owner: str | None, initdb: str, pg_ctl: str, folder: Path, user: str, port: int
) -> None:
    data = folder / "data"
    # A cluster for tests only: trust auth on loopback, no durability to pay for.
    subprocess.run(
        _as_owner(
            owner,
            [initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--locale=C"],
        ),
        capture_output=True,
        check=True,
    )
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_owner(
            owner,
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
        ),
        capture_output=True,
        check=True,
        timeout=START_TIMEOUT_SECONDS,
    )


def start_redis(url: str) -> tuple[str, Callable[[], None]]:
    """A redis-server on a free port, no persistence: its URL (`url`'s db), and its stop."""
    server = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)),
        None,
    )
    if server is None:
        raise ServiceUnavailable(
            f"{url} 无法连接，且未安装 redis-server（apt-get install redis-server）来启动临时实例"
        )
    folder = Path(tempfile.mkdtemp(prefix="b2bc-test-redis-"))
    port = _free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop()
            raise ServiceUnavailable(f"临时 Redis 未能启动（redis-server 退出或超时）: {url}")
        time.sleep(0.05)
    return _with_netloc(url, None, port), stop


def backing_services(database_url: str, redis_url: str) -> tuple[str, str]:
    """The URLs the suite should use: the configured ones where a server answers there, a
    throwaway instance's otherwise. The embedded default (SQLite, memory://) is as given."""
    if database_url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(database_url)
        if not _answers(parts.hostname or "127.0.0.1", parts.port or 5432):
            database_url, stop = start_postgres(database_url)
            _stops.append(stop)
    if redis_url.startswith("redis://"):
        parts = urlsplit(redis_url)
        if not _answers(parts.hostname or "127.0.0.1", parts.port or 6379):
            redis_url, stop = start_redis(redis_url)
            _stops.append(stop)
    return database_url, redis_url


def stop_all() -> None:
    """Stop the throwaway servers (at the end of the test run; also at exit)."""
    _stop_all()
