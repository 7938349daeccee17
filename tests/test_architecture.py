"""The import direction of ARCHITECTURE.md, checked on every run so the layers stay honest.

- kernel/ is pure: the standard library and other kernel modules only.
- pure domain modules (no IO) import no ORM, web, Redis or HTTP client, nor infra.
- infra/ and integrations/ know no domain.
- routes hold no queries: they never import the ORM.
- a domain reaches another domain only through its `service` (and identity's `access`,
  the one request guard and scoping helper); models may name other domains' models,
  which their foreign keys point at.
- backend never imports realtime (realtime → backend only).

The composition roots (app.py, cli.py, deps.py) and the demo seeder wire everything
together and are exempt: cli.py launches the realtime server, so it must import it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
DOMAINS = sorted(p.name for p in BACKEND.iterdir() if p.is_dir() and (p / "service.py").exists())
PURE_MODULES = {
    "backend/identity/tokens.py",
    "backend/identity/passwords.py",
    "backend/org/codes.py",
    "backend/catalog/pricing.py",
    "backend/ordering/states.py",
    "backend/promotions/engine.py",
    "backend/promotions/wording.py",
    "backend/coupons/terms.py",
    "backend/lottery/wheel.py",
    "backend/livestream/red_packet.py",
    "backend/livestream/lottery_draw.py",
    "backend/complaints/states.py",
    "backend/complaints/metrics.py",
}
IO_PACKAGES = {
    "tortoise",
    "sanic",
    "sanic_ext",
    "redis",
    "fakeredis",
    "httpx",
    "requests",
    "wechatpy",
    "asyncpg",
    "socketio",
    "aiohttp",
}
SHARED_SURFACE = {"service", "access"}
COMPOSITION_ROOTS = {"backend/app.py", "backend/cli.py", "backend/deps.py"}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(BACKEND.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        parts = path.relative_to(BACKEND).parts
        top = parts[0] if len(parts) > 1 else None
        for name in imports_of(path):
            root = name.split(".")[0]
            segments = name.split(".")
            if rel in COMPOSITION_ROOTS or top == "demo":
                continue
            if root == "realtime":
                problems.append(f"{rel}: backend imports realtime ({name})")
            if (
                top == "kernel"
                and root not in sys.stdlib_module_names
                and not name.startswith("backend.kernel")
            ):
                problems.append(f"{rel}: kernel imports {name}")
            if rel in PURE_MODULES and (
                root in IO_PACKAGES or name.startswith(("backend.infra", "backend.integrations"))
            ):
                problems.append(f"{rel}: pure module imports {name}")
            if (
                top in ("infra", "integrations")
                and root == "backend"
                and len(segments) > 1
                and segments[1] in DOMAINS
            ):
                problems.append(f"{rel}: {top} imports domain module {name}")
            if path.name == "routes.py" and root == "tortoise":
                problems.append(f"{rel}: routes import the ORM ({name})")
            if (
                top in DOMAINS
                and root == "backend"
                and len(segments) > 2
                and segments[1] in DOMAINS
            ):
                other, module = segments[1], segments[2]
                # Tables reference each other by foreign key, so models may name other models.
                relation = path.name == "models.py" and module == "models"
                if other != top and module not in SHARED_SURFACE and not relation:
                    problems.append(f"{rel}: reaches into {other}.{module}; use {other}.service")
    return problems


def test_import_direction() -> None:
    assert DOMAINS, "no domains found"
    assert violations() == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = BACKEND / "org" / "_architecture_probe.py"
    bad.write_text(
        "from backend.identity.models import User\nimport realtime.app\n", encoding="utf-8"
    )
    try:
        found = violations()
    finally:
        bad.unlink()
    assert any("reaches into identity.models" in p for p in found)
    assert any("backend imports realtime" in p for p in found)
