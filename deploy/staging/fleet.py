"""The staging fleet on one machine, in production mode: `make staging` / `make staging-down`.

    python deploy/staging/fleet.py up        # fresh database, env file, every process, nginx
    python deploy/staging/fleet.py status    # each process: pid and health
    python deploy/staging/fleet.py restart realtime-1   # SIGTERM, start again, wait healthy
    python deploy/staging/fleet.py down      # SIGTERM everything (SIGKILL what outlives it)

What `up` does: starts PostgreSQL and Redis if they are not answering (as .ci/run does),
recreates the database `b2bc_staging` and empties Redis db 3, writes `.staging/b2bc.env` (the
one env file of the fleet, as /etc/b2bc/b2bc.env in production: generated secrets, the
sandbox's WeChat lines from `b2bc sandbox-env`), checks each role's settings
(`b2bc check-config ROLE`), migrates, then starts the WeChat sandbox, two API processes, two
realtime processes, one job worker and nginx (rendered from deploy/nginx/b2bc.conf: plain
HTTP on one port), waiting for each to be healthy. Logs go to `.staging/logs/`, process ids
to `.staging/fleet.json`. Every process runs this checkout's code (PYTHONPATH).

The API runs as two processes of one Sanic worker each (as b2bc-api@PORT in
deploy/systemd) rather than one `serve --workers 2`: a rolling restart then takes one out
while nginx sends requests to the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".staging"
LOGS = STATE / "logs"
ENV_FILE = STATE / "b2bc.env"
PIDS = STATE / "fleet.json"
NGINX_SITE = ROOT / "deploy" / "nginx" / "b2bc.conf"
NGINX_LOCATIONS = ROOT / "deploy" / "nginx" / "b2bc-locations.conf"
SERVERS_MARKER = "# --- servers"

HOST = "127.0.0.1"
DATABASE = "b2bc_staging"
ADMIN_DSN = f"postgres://postgres@{HOST}:5432/postgres"
REDIS_URL = f"redis://{HOST}:6379/3"
# Ports: B2BC_STAGING_PORT (nginx, default 18080); the processes' follow from it.
NGINX_PORT = int(os.environ.get("B2BC_STAGING_PORT", "18080"))
API_PORTS = (NGINX_PORT - 80, NGINX_PORT - 79)  # 18000, 18001
REALTIME_PORTS = (NGINX_PORT + 21, NGINX_PORT + 22)  # 18101, 18102
SANDBOX_PORT = NGINX_PORT + 10  # 18090
WORKER_METRICS_PORT = NGINX_PORT + 11  # 18091
# The production ports in deploy/nginx/b2bc.conf, and the staging ports that replace them.
PRODUCTION_PORTS = {8000: API_PORTS[0], 8001: API_PORTS[1], 8101: REALTIME_PORTS[0]}
PRODUCTION_PORTS[8102] = REALTIME_PORTS[1]
START_MARK = "--- staging: starting"  # the line each start writes into the process's log
GRACEFUL_SECONDS = 20  # B2BC_GRACEFUL_TIMEOUT's default
BASE_URL = f"http://{HOST}:{NGINX_PORT}"


class FleetError(Exception):
    """The fleet could not be brought up (the message says which part and where its log is)."""


@dataclass(frozen=True)
class Process:
    name: str
    command: list[str]
    # What answers when it is up: an HTTP URL (any status below 500 unless `ok_status`), or
    # None for a process without a port (the worker: alive, and its start-up line logged).
    health_url: str | None
    ok_status: int | None = 200
    env: tuple[tuple[str, str], ...] = ()

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"


def python() -> str:
    return os.environ.get("B2BC_PYTHON", sys.executable)


def b2bc(*args: str) -> list[str]:
    return [python(), "-m", "backend.cli", *args]


def processes() -> list[Process]:
    """The fleet, in the order it starts (and the reverse of the order it stops)."""
    fleet = [
        Process(
            "sandbox",
            b2bc("sandbox", "--host", HOST, "--port", str(SANDBOX_PORT)),
            f"http://{HOST}:{SANDBOX_PORT}/healthz",
        )
    ]
    for number, port in enumerate(API_PORTS, 1):
        fleet.append(
            Process(
                f"api-{number}",
                b2bc("serve", "--workers", "1"),
                f"http://{HOST}:{port}/readyz",
                env=(("B2BC_PORT", str(port)),),
            )
        )
    for number, port in enumerate(REALTIME_PORTS, 1):
        fleet.append(
            Process(
                f"realtime-{number}",
                b2bc("realtime", "--port", str(port)),
                # An Engine.IO handshake: the Socket.IO server answers, not only the socket.
                f"http://{HOST}:{port}/socket.io/?EIO=4&transport=polling",
            )
        )
    fleet.append(Process("worker", b2bc("worker"), None))
    fleet.append(
        Process(
            "nginx",
            [nginx_binary(), *nginx_options(), "-g", "daemon off;"],
            f"{BASE_URL}/readyz",
        )
    )
    return fleet


def by_name(name: str) -> Process:
    for process in processes():
        if process.name == name:
            return process
    names = ", ".join(p.name for p in processes())
    raise FleetError(f"no process {name!r} in the fleet (one of: {names})")


def nginx_options() -> list[str]:
    """Its own prefix, config and error log: never the system's nginx or its files."""
    prefix = STATE / "nginx"
    return [
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(LOGS / "nginx-error.log"),
    ]


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


# --- backing services -----------------------------------------------------------------------


def wait_for(what: str, check: list[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(check, check=False, capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise FleetError(f"{what} did not come up")


def ensure_services() -> None:
    """PostgreSQL and Redis on their usual ports, started if they do not answer."""
    pg_ready = ["pg_isready", "-h", HOST, "-p", "5432", "-q"]
    if subprocess.run(pg_ready, check=False).returncode != 0:
        print("staging: starting PostgreSQL", flush=True)
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True
        )
    wait_for("PostgreSQL", pg_ready)
    redis_ping = ["redis-cli", "-h", HOST, "-p", "6379", "ping"]
    if subprocess.run(redis_ping, check=False, capture_output=True).returncode != 0:
        print("staging: starting Redis", flush=True)
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *("redis-server", "--daemonize", "yes", "--bind", HOST, "--port", "6379"),
                *("--save", "", "--appendonly", "no", "--dir", "/var/lib/redis"),
                *("--logfile", "/var/log/redis/staging.log"),
            ],
            check=True,
        )
    wait_for("Redis", redis_ping)
    if not Path(nginx_binary()).exists():
        print("staging: installing nginx from Debian", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "nginx"]
        if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)


async def _recreate_database() -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def fresh_state() -> None:
    """A new database and an empty Redis db: nothing of an earlier staging run survives."""
    asyncio.run(_recreate_database())
    subprocess.run(
        ["redis-cli", "-h", HOST, "-p", "6379", "-n", "3", "flushdb"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --- the env file ---------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """This shell's environment without any b2bc setting: the env file alone configures."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("B2BC_", "WECHAT_", "SANIC_", "S3_"))
        and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PYTHONPATH"] = str(ROOT)
    return env


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def fleet_env(extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    return base_env() | read_env_file() | dict(extra)


def write_env_file() -> None:
    data_dir = STATE / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    own = {
        "B2BC_MODE": "production",
        "B2BC_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"postgres://postgres@{HOST}:5432/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "B2BC_JWT_SECRET": secrets.token_urlsafe(48),
        "B2BC_CODE_SECRET": secrets.token_urlsafe(48),
        "B2BC_PUBLIC_BASE_URL": BASE_URL,
        "B2BC_HOST": HOST,
        # Uploads in a local directory, served by the API under /media behind nginx (a
        # production fleet uses its S3 bucket's URL).
        "B2BC_STORAGE": "local",
        "B2BC_SANDBOX_PORT": str(SANDBOX_PORT),
        "B2BC_METRICS_PORT": str(WORKER_METRICS_PORT),
        "B2BC_GRACEFUL_TIMEOUT": str(GRACEFUL_SECONDS),
        # 5 pools (2 API processes of one worker, 2 realtime, the worker) of 8 connections
        # stay well under PostgreSQL's 100 on a machine whose tests share the server.
        "B2BC_DB_POOL_SIZE": "8",
        # nginx is the one proxy in front of the API: the last X-Forwarded-For address is the
        # client's (deploy/nginx/b2bc-locations.conf).
        "SANIC_PROXIES_COUNT": "1",
    }
    # The sandbox's WeChat and WeChat Pay lines (appid, keys written into the data dir, base
    # URLs); the sandbox process, started with the same data dir, holds the matching keys.
    printed = subprocess.run(
        b2bc("sandbox-env"),
        check=False,
        cwd=ROOT,
        env=base_env() | {key: own[key] for key in ("B2BC_DATA_DIR", "B2BC_SANDBOX_PORT")},
        capture_output=True,
        text=True,
    )
    if printed.returncode != 0:
        raise FleetError(f"b2bc sandbox-env failed: {printed.stderr.strip()}")
    wechat = {}
    for line in printed.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key.strip()):
            wechat[key.strip()] = value.strip()
    lines = [
        "# The staging fleet's one env file (deploy/staging/fleet.py writes it on each `up`).",
        *(f"{key}={value}" for key, value in own.items()),
        "# b2bc sandbox-env",
        *(f"{key}={value}" for key, value in wechat.items()),
    ]
    ENV_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ENV_FILE.chmod(0o600)


def check_config() -> None:
    """Each role's own check, as an operator runs it before starting that role."""
    checks = {
        role: subprocess.Popen(
            b2bc("check-config", role),
            cwd=ROOT,
            env=fleet_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for role in ("api", "realtime", "worker", "sandbox")
    }
    for role, checking in checks.items():
        said, _ = checking.communicate()
        if checking.returncode != 0:
            raise FleetError(
                f"b2bc check-config {role} refused the env file {ENV_FILE}:\n{said.strip()}"
            )


def migrate() -> None:
    done = subprocess.run(
        b2bc("migrate"), check=False, cwd=ROOT, env=fleet_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise FleetError(f"b2bc migrate failed:\n{done.stdout}{done.stderr}")


# --- nginx ----------------------------------------------------------------------------------


def render_nginx() -> None:
    """deploy/nginx/b2bc.conf with the staging ports, and one plain-HTTP server (no TLS) in
    place of the production servers, in an nginx.conf of its own prefix."""
    prefix = STATE / "nginx"
    temp = prefix / "tmp"
    for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / kind).mkdir(parents=True, exist_ok=True)
    site, marker, _ = NGINX_SITE.read_text(encoding="utf-8").partition(SERVERS_MARKER)
    if not marker:
        raise FleetError(f"{NGINX_SITE} has no {SERVERS_MARKER!r} line")
    site = re.sub(
        r"127\.0\.0\.1:(\d+)",
        lambda m: f"{HOST}:{PRODUCTION_PORTS.get(int(m[1]), int(m[1]))}",
        site,
    )
    user = ""
    if os.geteuid() == 0:
        # The workers drop to nobody, who must write the temp directories.
        user = "user nobody nogroup;"
        for path in [temp, *temp.iterdir()]:
            shutil.chown(path, "nobody", "nogroup")
    conf = f"""# Rendered by deploy/staging/fleet.py from deploy/nginx/b2bc.conf; do not edit.
{user}
worker_processes 1;
worker_rlimit_nofile 32768;
pid {prefix / "nginx.pid"};
error_log {LOGS / "nginx-error.log"} warn;
events {{
    # Two per websocket client (theirs and ours to a realtime process): room for a rain's
    # 5,000 stores and more (bench/live_rain.py --staging).
    worker_connections 16384;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {LOGS / "nginx-access.log"};
    client_body_temp_path {temp / "body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    sendfile on;
    server_tokens off;

{site}
    server {{
        listen {HOST}:{NGINX_PORT};
        server_name _;
        include {NGINX_LOCATIONS};
    }}
}}
"""
    (prefix / "nginx.conf").write_text(conf, encoding="utf-8")
    tested = subprocess.run(
        [nginx_binary(), "-t", "-q", *nginx_options()],
        check=False,
        capture_output=True,
        text=True,
    )
    if tested.returncode != 0:
        raise FleetError(f"nginx refused the rendered config: {tested.stderr.strip()}")


# --- processes ------------------------------------------------------------------------------


def load_pids() -> dict[str, int]:
    if not PIDS.exists():
        return {}
    return {name: int(pid) for name, pid in json.loads(PIDS.read_text()).items()}


def save_pids(pids: dict[str, int]) -> None:
    PIDS.write_text(json.dumps(pids, indent=1), encoding="utf-8")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not alive.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(process: Process) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    with process.log.open("ab") as log:
        log.write(f"\n{START_MARK} {' '.join(process.command)}\n".encode())
        log.flush()
        child = subprocess.Popen(
            process.command,
            cwd=ROOT,
            env=fleet_env(process.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: stopping it stops its children (Sanic's workers), and a
            # Ctrl-C in the shell that ran `make staging` does not reach it.
            start_new_session=True,
        )
    return child.pid


def healthy(process: Process, pid: int) -> bool:
    if not alive(pid):
        return False
    if process.health_url is None:
        # The worker prints its banner once its runner is about to start (this run's: the
        # log keeps earlier runs, each after a START_MARK line).
        log = process.log.read_text(encoding="utf-8", errors="replace")
        return "任务处理进程" in log.rpartition(START_MARK)[2]
    try:
        with urllib.request.urlopen(process.health_url, timeout=2) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, urllib.error.URLError):
        return False
    return status == process.ok_status if process.ok_status else status < 500


def wait_healthy(process: Process, pid: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if healthy(process, pid):
            return
        if not alive(pid):
            raise FleetError(f"{process.name} exited; its log: {process.log}\n{tail(process.log)}")
        time.sleep(0.2)
    raise FleetError(f"{process.name} not healthy after {seconds:.0f} s; its log: {process.log}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_pid(pid: int, seconds: float = GRACEFUL_SECONDS + 5) -> bool:
    """SIGTERM to the process's group, SIGKILL once `seconds` pass; True if it drained."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid) and not group_alive(pid):
            return True
        time.sleep(0.1)
    with_kill = group_alive(pid) or alive(pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return not with_kill


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Only zombies left counts as gone.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@dataclass(frozen=True)
class Restarted:
    seconds: float  # out and back, healthy
    stop_seconds: float  # SIGTERM until it was gone
    drained: bool  # gone on SIGTERM alone (False: SIGKILLed after the grace period)


def restart(name: str) -> Restarted:
    """One process out and back: SIGTERM (it drains), start, wait healthy. nginx reloads
    instead (SIGHUP: new workers take the new config, old ones finish their connections)."""
    began = time.monotonic()
    process = by_name(name)
    pids = load_pids()
    pid = pids.get(name)
    if name == "nginx" and pid and alive(pid):
        render_nginx()
        os.kill(pid, signal.SIGHUP)
        wait_healthy(process, pid)
        return Restarted(time.monotonic() - began, 0.0, True)
    drained = stop_pid(pid) if pid else True
    stopped = time.monotonic() - began
    pids[name] = start(process)
    save_pids(pids)
    wait_healthy(process, pids[name])
    return Restarted(time.monotonic() - began, stopped, drained)


def stop(name: str) -> bool:
    """One process out (SIGTERM, it drains); True if it went without SIGKILL."""
    pids = load_pids()
    pid = pids.pop(by_name(name).name, None)
    drained = stop_pid(pid) if pid else True
    save_pids(pids)
    return drained


def start_one(name: str) -> None:
    """One process (back) in, waited for until healthy."""
    process = by_name(name)
    pids = load_pids()
    if name in pids and alive(pids[name]):
        return
    pids[name] = start(process)
    save_pids(pids)
    wait_healthy(process, pids[name])


def up() -> None:
    if any(alive(pid) for pid in load_pids().values()):
        print("staging: a fleet is already running; stopping it first", flush=True)
        down()
    began = time.monotonic()
    STATE.mkdir(exist_ok=True)
    shutil.rmtree(LOGS, ignore_errors=True)
    shutil.rmtree(STATE / "data", ignore_errors=True)
    LOGS.mkdir(parents=True)
    ensure_services()
    fresh_state()
    write_env_file()
    check_config()
    migrate()
    render_nginx()
    pids: dict[str, int] = {}
    try:
        # The platform's processes start together (they wait for nothing but PostgreSQL and
        # Redis); nginx last, once they answer.
        *platform, proxy = processes()
        for process in platform:
            pids[process.name] = start(process)
        save_pids(pids)
        for process in platform:
            wait_healthy(process, pids[process.name], seconds=120)
            print(f"staging: {process.name:<11} up (pid {pids[process.name]})", flush=True)
        pids[proxy.name] = start(proxy)
        save_pids(pids)
        wait_healthy(proxy, pids[proxy.name])
        print(f"staging: {proxy.name:<11} up (pid {pids[proxy.name]})", flush=True)
    except BaseException:
        down()
        raise
    print(
        f"staging: fleet up in {time.monotonic() - began:.1f} s, production mode, through nginx"
        f" at {BASE_URL} (console {BASE_URL}/console); env file {ENV_FILE}, logs {LOGS}",
        flush=True,
    )


def down() -> None:
    pids = load_pids()
    for process in reversed(processes()):
        pid = pids.pop(process.name, None)
        if pid is None:
            continue
        drained = stop_pid(pid)
        print(f"staging: {process.name:<11} stopped" + ("" if drained else " (killed)"), flush=True)
    save_pids(pids)


def status() -> bool:
    pids = load_pids()
    ok = True
    for process in processes():
        pid = pids.get(process.name)
        state = "not started"
        if pid is not None:
            state = "healthy" if healthy(process, pid) else ("UNHEALTHY" if alive(pid) else "DOWN")
        ok = ok and state == "healthy"
        print(f"{process.name:<11} {pid or '-':>8}  {state}")
    print(f"nginx: {BASE_URL}")
    return ok


def status_quiet() -> bool:
    """Every process of the fleet started and healthy."""
    pids = load_pids()
    return all(
        process.name in pids and healthy(process, pids[process.name]) for process in processes()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status", "restart"])
    parser.add_argument("names", nargs="*", help="restart: which processes, one at a time")
    args = parser.parse_args()
    try:
        if args.action == "up":
            up()
        elif args.action == "down":
            down()
        elif args.action == "status":
            return 0 if status() else 1
        else:
            for name in args.names or [p.name for p in processes()]:
                done = restart(name)
                how = "drained" if done.drained else "KILLED after the grace period"
                print(
                    f"staging: {name} stopped in {done.stop_seconds:.1f} s ({how}), healthy"
                    f" again after {done.seconds:.1f} s",
                    flush=True,
                )
    except FleetError as exc:
        print(f"staging: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
