"""deploy/: the nginx site the staging fleet renders is one nginx accepts, and the systemd units
drain on SIGTERM within the grace the platform takes, from the one env file.

`make staging` and `make smoke` run the real fleet; these catch a broken file before that."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy" / "staging"))

import fleet  # noqa: E402

UNITS = ROOT / "deploy" / "systemd"
LONG_RUNNING = [
    "b2bc-api@.service",
    "b2bc-realtime@.service",
    "b2bc-worker.service",
    "b2bc-sandbox.service",
]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (CI has it)")
def test_the_staging_site_renders_and_nginx_accepts_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(fleet, "STATE", tmp_path)
    monkeypatch.setattr(fleet, "LOGS", tmp_path / "logs")
    (tmp_path / "logs").mkdir()
    fleet.render_nginx()  # runs `nginx -t` on it and raises if nginx refuses it
    conf = (tmp_path / "nginx" / "nginx.conf").read_text()
    for port in (*fleet.API_PORTS, *fleet.REALTIME_PORTS):
        assert f"127.0.0.1:{port}" in conf
    # The production servers (TLS, port 80) are replaced, the production ports all swapped.
    assert "ssl_certificate" not in conf and "listen 443" not in conf
    assert "127.0.0.1:8000;" not in conf and "127.0.0.1:8101 " not in conf
    assert f"listen 127.0.0.1:{fleet.NGINX_PORT};" in conf


def test_the_production_site_keeps_metrics_private_and_upgrades_websockets() -> None:
    locations = (ROOT / "deploy" / "nginx" / "b2bc-locations.conf").read_text()
    assert "location = /metrics {\n    return 404;" in locations
    assert "proxy_set_header Upgrade $http_upgrade;" in locations
    # The body limit is the API's upload limit (B2BC_MAX_UPLOAD_BYTES, 12 MiB by default).
    assert "client_max_body_size 12m;" in locations
    site = (ROOT / "deploy" / "nginx" / "b2bc.conf").read_text()
    assert fleet.SERVERS_MARKER in site
    assert "ssl_certificate /etc/letsencrypt/live/" in site


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_unit_drains_on_sigterm_from_the_one_env_file(name: str) -> None:
    service = unit(name)["Service"]
    assert service["EnvironmentFile"] == "/etc/b2bc/b2bc.env"
    assert service["User"] == "b2bc"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    # systemd waits longer than the process's own grace before it kills.
    assert int(service["TimeoutStopSec"]) > fleet.GRACEFUL_SECONDS


def test_only_the_migrate_unit_migrates_and_the_api_waits_for_it() -> None:
    migrate = unit("b2bc-migrate.service")
    assert migrate["Service"]["Type"] == "oneshot"
    assert migrate["Service"]["ExecStart"].endswith("b2bc migrate")
    api = unit("b2bc-api@.service")
    assert "b2bc-migrate.service" in api["Unit"]["Requires"]
    assert "b2bc-migrate.service" in api["Unit"]["After"]
    for name in LONG_RUNNING:
        assert "ExecStartPre" not in unit(name)["Service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_finds_nothing_wrong_with_the_units_but_the_missing_install() -> None:
    names = [str(path) for path in sorted(UNITS.iterdir()) if "@" not in path.name]
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        check=False,
        capture_output=True,
        text=True,
    )
    # /srv/b2bc/venv does not exist on a developer's machine; nothing else may be reported.
    problems = [
        line
        for line in checked.stderr.splitlines()
        if line.strip() and "/srv/b2bc/venv/bin/b2bc" not in line
    ]
    assert problems == []


def test_the_env_file_reader_skips_comments_and_blank_lines(tmp_path) -> None:
    path = tmp_path / "b2bc.env"
    path.write_text("# the fleet\n\nB2BC_MODE=production\nDATABASE_URL = postgres://x/y?a=b\n")
    assert fleet.read_env_file(path) == {
        "B2BC_MODE": "production",
        "DATABASE_URL": "postgres://x/y?a=b",
    }
