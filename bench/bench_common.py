"""Small helpers shared by bench/order_placement.py and bench/notifications.py.

Process handling (throw-away database, starting, pinning and stopping servers) comes from
bench/auth_get.py and is re-exported here; this module adds the server environment, a raw
keep-alive HTTP/1.1 client (exact per-request status and latency, no request left in flight
when a run ends) and percentiles.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from auth_get import (
    HOST,
    ROOT,
    b2bc_command,
    create_database,
    drop_database,
    free_port,
    pin,
    start_server,
    stop_server,
    wait_ready,
)

__all__ = [
    "HOST",
    "ROOT",
    "Exchange",
    "b2bc_command",
    "cpu_delta",
    "create_database",
    "drop_database",
    "exchange",
    "free_port",
    "machine_busy_seconds",
    "percentile",
    "pin",
    "postgres_cpu_seconds",
    "py_spy",
    "read_response",
    "request_bytes",
    "server_env",
    "start_profile",
    "start_server",
    "stop_server",
    "summarize_profile",
    "tree_cpu_seconds",
    "wait_ready",
]


def server_env(
    *,
    database: str,
    data_dir: Path,
    port: int,
    redis_url: str,
    extra_db_params: str = "",
    db_port: int = 5432,
) -> dict[str, str]:
    """The environment `b2bc demo|serve` runs with: embedded mode on PostgreSQL and Redis.
    `db_port`: where the server finds PostgreSQL (bench/sql_counter.py stands between)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("B2BC_", "WECHAT_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    query = f"?{extra_db_params}" if extra_db_params else ""
    # The venv's b2bc imports `backend` from wherever the project was installed (editable:
    # the main checkout); run from another worktree, a bench would measure that one's code.
    # The tree this bench is in comes first.
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env |= {
        "PYTHONPATH": python_path,
        "B2BC_MODE": "embedded",
        "DATABASE_URL": f"postgres://postgres@{HOST}:{db_port}/{database}{query}",
        "REDIS_URL": redis_url,
        "B2BC_DATA_DIR": str(data_dir),
        "B2BC_ACCESS_LOG": "0",
        "B2BC_LOG_LEVEL": "WARNING",
        "B2BC_HOST": HOST,
        "B2BC_PORT": str(port),
        "B2BC_PUBLIC_BASE_URL": f"http://{HOST}:{port}",
        "B2BC_ACCESS_TOKEN_TTL": "7200",  # outlives a long run
    }
    return env


@dataclass(frozen=True, slots=True)
class Exchange:
    status: int
    seconds: float
    body: bytes


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length body (what Sanic sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return int(head[9:12]), body


def request_bytes(method: str, path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> Exchange:
    start = time.perf_counter()
    writer.write(request)
    status, body = await read_response(reader)
    return Exchange(status, time.perf_counter() - start, body)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


# --- CPU accounting and profiling ----------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (Linux only)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += _process_cpu(current)
        pending += _children(current)
    return total


def postgres_cpu_seconds(database: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving `database`, by pid.

    Per pid, so that backends of other databases (other people's tests) are left out and a
    backend that exits during a run cannot make the difference negative: pass two snapshots
    to `cpu_delta`.
    """
    used = {}
    marker = f" {database} "
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    used[int(entry.name)] = _process_cpu(int(entry.name))
            except OSError:
                continue
    return used


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(max(0.0, value - before.get(pid, 0.0)) for pid, value in after.items())


def py_spy() -> str | None:
    """py-spy, if installed (never in the project venv): PY_SPY, /tmp/pyspy-venv, or PATH."""
    for candidate in (os.environ.get("PY_SPY"), "/tmp/pyspy-venv/bin/py-spy"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("py-spy")


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample `pid` (and its children) with py-spy into a collapsed-stack file."""
    spy = py_spy()
    if spy is None:
        print("py-spy not found (PY_SPY=/path/to/py-spy): no profile")
        return None
    command = [spy, "record", "--pid", str(pid), "--subprocesses", "--format", "raw"]
    command += ["--rate", "1000", "--duration", str(int(seconds)), "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize_profile(path: Path, top: int = 30) -> str:
    """Inclusive share of samples per function, for frames of interest, from py-spy raw."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        seen = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            where = where.rstrip(")")
            short = where.split("site-packages/")[-1].split("/main/")[-1].rsplit(":", 1)[0]
            key = f"{name} ({short})"
            if key not in seen:
                seen.add(key)
                inclusive[key] += count
    if not total:
        return "(no samples)"
    rows = [f"{100 * n / total:5.1f}%  {key}" for key, n in inclusive.most_common(top)]
    return f"{total} samples; inclusive share per function:\n" + "\n".join(rows)


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (user, system, irq, steal...)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(value) for value in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    guest = sum(values[8:10]) if len(values) > 9 else 0  # already counted in user/nice
    return (sum(values) - idle - guest) / _TICKS
