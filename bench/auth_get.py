"""Requests per second of an authenticated JSON GET on our API, against bare Sanic.

In one run this script:

1. creates a throw-away PostgreSQL database (127.0.0.1:5432, user postgres), migrates it and
   seeds the demo data (`b2bc demo`), with Redis at 127.0.0.1:6379 db --redis-db (default 14);
2. starts, each in its own process and both single-worker on Sanic's own server,
   `b2bc serve --workers 1` and the bare hello-world app in bench/bare_sanic.py;
3. logs in once as brand_admin (the login endpoint is rate-limited) and checks that every
   measured URL answers 200 with JSON;
4. loads them alternately, round after round, with wrk (or, when wrk is missing, a slower
   built-in Python load generator), each measurement after a short warm-up:
     bare      GET /                      bare Sanic, {"hello": "world"}
     session   GET /api/v1/auth/session   JWT check + revocation cache, no DB
     me        GET /api/v1/me             same auth, the user and their memberships (called at
                                          every mini-program launch)
     healthz   GET /healthz               no auth (informative)
5. prints the median requests/s and latency p50/p99 of each, and the ratios session/bare
   (target >= 0.6) and me/bare (target >= 0.5), then stops the servers and drops the
   database.

All traffic goes to 127.0.0.1. Run it from the project root:

    .venv/bin/python bench/auth_get.py                  # 3 rounds of 10 s each
    .venv/bin/python bench/auth_get.py --duration 5 --rounds 1

The servers and the load generator share the machine's cores, so absolute figures depend on
the machine; the ratio is what to compare. wrk: `apt-get install -y wrk`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from backend.config import load_settings

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
BARE_APP = Path(__file__).resolve().parent / "bare_sanic.py"
PG_ADMIN_URL = f"postgres://postgres@{HOST}:5432/postgres"
USERNAME, PASSWORD = "brand_admin", "demo-pass-2026"
SESSION_PATH = "/api/v1/auth/session"
# The figures with a target: endpoint name -> (what it is, the least ratio to bare Sanic).
TARGETS = {
    "session": ("authenticated GET /api/v1/auth/session", 0.6),
    "me": ("GET /api/v1/me (user and memberships)", 0.5),
}

# wrk reports through done() only, so no Lua runs per request and the client stays cheap.
# summary.errors.status counts responses with status > 399.
WRK_SCRIPT = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    port: int
    path: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"


@dataclass(frozen=True)
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-200 responses
    errors: int  # socket errors and timeouts


# --- load generators ---------------------------------------------------------------------


def run_wrk(wrk: str, target: Target, args: argparse.Namespace, seconds: int) -> Measurement:
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += ["--timeout", "5s", "-s", args.wrk_script]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, target.url], capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    out = done.stdout
    line = next((line for line in out.splitlines() if line.startswith("BENCH_RESULT ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{out}{done.stderr}")
    requests, micros, connect, read, write, status, timeout, p50, p99 = map(int, line.split()[1:])
    return Measurement(
        rps=requests / (micros / 1e6),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        requests=requests,
        bad=status,
        errors=connect + read + write + timeout,
    )


async def _python_load(
    port: int, request: bytes, connections: int, seconds: float
) -> tuple[list[float], int, int]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    bad = errors = 0

    async def one_connection() -> None:
        nonlocal bad, errors
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            errors += 1
            return
        try:
            while (start := time.perf_counter()) < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - start)
                bad += head[9:12] != b"200"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return latencies, bad, errors


def _python_worker(job: tuple[int, bytes, int, float]) -> tuple[list[float], int, int]:
    return asyncio.run(_python_load(*job))


def run_python(target: Target, args: argparse.Namespace, seconds: int) -> Measurement:
    """Keep-alive HTTP/1.1 clients on raw sockets, in `threads` processes."""
    lines = [f"GET {target.path} HTTP/1.1", f"Host: {HOST}:{target.port}"]
    lines += [f"{name}: {value}" for name, value in target.headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    per_process = max(1, args.connections // args.threads)
    job = (target.port, request, per_process, seconds)
    with multiprocessing.Pool(args.threads) as pool:
        results = pool.map(_python_worker, [job] * args.threads)
    latencies = sorted(value for result in results for value in result[0])
    if not latencies:
        raise RuntimeError(f"no response from {target.url}")
    return Measurement(
        rps=len(latencies) / seconds,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
        requests=len(latencies),
        bad=sum(result[1] for result in results),
        errors=sum(result[2] for result in results),
    )


# --- setup and teardown ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def create_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def b2bc_command(*arguments: str) -> list[str]:
    script = Path(sys.executable).parent / "b2bc"
    if script.exists():
        return [str(script), *arguments]
    return [sys.executable, "-m", "backend.cli", *arguments]


def start_server(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # Its own session: the signal reaches its children too, and nothing else.
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            code = process.returncode
            raise RuntimeError(f"server exited ({code}); see {log}:\n{log.read_text()}")
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s; see {log}")


def login(port: int) -> str:
    body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/auth/staff/login",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
        return token


def precheck(target: Target) -> None:
    status, body = get(target.url, target.headers)
    if status != 200:
        raise RuntimeError(f"{target.url} answered {status}: {body[:300]!r}")
    json.loads(body)


def pin(process: subprocess.Popen[bytes], cpu: int) -> None:
    """Pin a server and all its descendants (Sanic's manager, its worker) to one CPU."""
    pending = [process.pid]
    while pending:
        pid = pending.pop()
        os.sched_setaffinity(pid, {cpu})
        pending += child_pids(pid)


def child_pids(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in children]


# --- reporting ---------------------------------------------------------------------------


def describe(m: Measurement) -> str:
    text = f"{m.rps:9.0f} req/s  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms"
    if m.bad or m.errors:
        text += f"  !! {m.bad} non-200, {m.errors} socket errors"
    return text


def report(
    targets: list[Target], results: dict[str, list[Measurement]], args: argparse.Namespace
) -> bool:
    print()
    print(f"Median of {args.rounds} round(s) of {args.duration} s, ", end="")
    print(f"{args.connections} connections,", end=" ")
    print(f"{args.threads} client {'threads (wrk)' if args.wrk else 'processes (Python)'}.")
    print(f"{'':9} {'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  {'vs bare':>7}")
    median_rps = {name: statistics.median(m.rps for m in runs) for name, runs in results.items()}
    for target in targets:
        runs = results[target.name]
        ratio = median_rps[target.name] / median_rps["bare"]
        print(
            f"{target.name:9} {target.label:34} {median_rps[target.name]:9.0f}"
            f" {statistics.median(m.p50_ms for m in runs):8.2f}"
            f" {statistics.median(m.p99_ms for m in runs):8.2f}  {ratio:6.2f}x"
        )
    print()
    for name, (what, least) in TARGETS.items():
        ratio = median_rps[name] / median_rps["bare"]
        verdict = "meets" if ratio >= least else "BELOW"
        print(f"RATIO {what} / bare Sanic = {ratio:.2f}x ({verdict} the target of >= {least}x)")
    cores = os.cpu_count()
    placement = "servers pinned to CPU 0, load generator to CPU 1" if args.pin else "not pinned"
    print(
        f"Note: {cores} cores shared by the server under test, the load generator, PostgreSQL "
        f"and Redis ({placement}); compare ratios, not absolute figures."
    )
    clean = all(not (m.bad or m.errors) for runs in results.values() for m in runs)
    if not clean:
        print("WARNING: some measurements saw non-200 responses or socket errors (see above).")
    return clean


# --- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per target")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / client processes")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the servers to CPU 0 and the load generator to CPU 1",
    )
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis db number")
    args = parser.parse_args()
    args.wrk = None if args.python_client else shutil.which("wrk")
    args.pin = args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    return args


def main() -> int:
    args = parse_args()
    if args.wrk is None and not args.python_client:
        print("wrk not found (apt-get install -y wrk): using the slower Python load generator")
    tmp = Path(tempfile.mkdtemp(prefix="b2bc-bench-"))
    args.wrk_script = str(tmp / "report.lua")
    Path(args.wrk_script).write_text(WRK_SCRIPT)
    database = f"b2bc_bench_{os.getpid()}"
    api_port, bare_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("B2BC_", "WECHAT_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "B2BC_MODE": "embedded",
        "DATABASE_URL": f"postgres://postgres@{HOST}:5432/{database}",
        "REDIS_URL": f"redis://{HOST}:6379/{args.redis_db}",
        "B2BC_DATA_DIR": str(tmp / "data"),
        "B2BC_ACCESS_LOG": "0",
        "B2BC_LOG_LEVEL": "WARNING",
        "B2BC_HOST": HOST,
        "B2BC_PORT": str(api_port),
        "B2BC_ACCESS_TOKEN_TTL": "7200",  # outlives a long run
    }
    servers: list[subprocess.Popen[bytes]] = []
    try:
        load_settings(env)  # fails early on a bad environment; writes the shared secrets
        asyncio.run(create_database(database))
        print(f"database {database}: migrating and seeding demo data ...", flush=True)
        subprocess.run(
            b2bc_command("demo"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
        api_log, bare_log = tmp / "api.log", tmp / "bare.log"
        api = start_server(b2bc_command("serve", "--workers", "1"), env, api_log)
        servers.append(api)
        bare_command = [sys.executable, str(BARE_APP), "--port", str(bare_port)]
        bare = start_server(bare_command, env, bare_log)
        servers.append(bare)
        wait_ready(f"http://{HOST}:{api_port}/healthz", api, api_log)
        wait_ready(f"http://{HOST}:{bare_port}/", bare, bare_log)
        if args.pin:
            for server in servers:
                pin(server, 0)
            os.sched_setaffinity(0, {1})  # wrk and Python clients inherit it

        auth = {"Authorization": f"Bearer {login(api_port)}"}
        targets = [
            Target("bare", "bare Sanic GET /", bare_port, "/"),
            Target("session", "ours GET /api/v1/auth/session", api_port, SESSION_PATH, auth),
            Target("me", "ours GET /api/v1/me", api_port, "/api/v1/me", auth),
            Target("healthz", "ours GET /healthz (no auth)", api_port, "/healthz"),
        ]
        for target in targets:
            precheck(target)

        def measure(target: Target, seconds: int) -> Measurement:
            if args.wrk:
                return run_wrk(args.wrk, target, args, seconds)
            return run_python(target, args, seconds)

        print(f"warm-up {args.warmup} s per endpoint ...", flush=True)
        for target in targets:
            measure(target, args.warmup)
        results: dict[str, list[Measurement]] = {target.name: [] for target in targets}
        for round_number in range(1, args.rounds + 1):
            for target in targets:
                measurement = measure(target, args.duration)
                results[target.name].append(measurement)
                print(f"round {round_number} {target.name:8} {describe(measurement)}", flush=True)
        clean = report(targets, results, args)
    finally:
        for server in servers:
            stop_server(server)
        asyncio.run(drop_database(database))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
