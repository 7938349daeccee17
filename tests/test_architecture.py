"""The import direction of ARCHITECTURE.md, checked on every run so the layers stay honest.

- kernel/ is pure: the standard library and other kernel modules only.
- pure domain modules (no IO) import no ORM, web, Redis or HTTP client, nor infra.
- infra/ and integrations/ know no domain.
- routes hold no queries: they never import the ORM.
- a domain reaches another domain only through its `service` (and identity's `access`,
  the one request guard and scoping helper); models may name other domains' models,
  which their foreign keys point at.
- backend never imports realtime (realtime → backend only).

The composition roots (app.py, cli.py, deps.py, wiring.py for ports and events, worker.py
for jobs) and the demo seeder wire everything
together and are exempt: cli.py launches the realtime server, so it must import it.

Domains meet only through services (issue 17), so two more rules:

- **No cycle between domain folders.** Domain A depends on domain B when any module under
  backend/A/ imports anything of backend/B/: routes, services, helpers alike, at the top
  of the module, inside a function or under TYPE_CHECKING (a lazy import hides a cycle
  from Python, not from the design). The one edge left out is a `models.py` naming another
  domain's models: all models are one relational schema (one Tortoise app), foreign keys
  point both ways (a user belongs to a store; a store has an owner user), they are
  declared by name ("models.Store") and the imports only type them, so they carry no
  behaviour from one domain to the other. Everything that does carry behaviour must run
  one way; where a lower domain needs something from a higher one, the higher one is
  plugged in at the composition root (a `Port` of backend/kernel/ports.py, or a handler
  of an event of backend/kernel/events.py registered in backend/wiring.py),
  never imported.
- **No fixed SQL on another domain's tables.** Each table belongs to the domain whose
  models declare it (Meta.table, or the class name in lower case as Tortoise names it).
  Every string literal in a domain's code except docstrings is read as SQL: a table named
  after FROM, JOIN, UPDATE or INTO (a FROM list's commas included) must be the module's
  own domain's; another domain's rows are read and written through its service. A domain
  whose statement needs another's table asks the owner for the fragment (as ordering
  gives payments the SQL that moves an order), so the owner keeps its schema to itself.

Both are checked on the real tree and on synthetic module sets (the probes), so the
checker itself is tested. ALLOWED_SQL would list SQL that must wait for the events seam of
issue 17, each with its reason; nothing needs to today.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "backend"
# A domain owns tables or use cases (codes has no service.py: its parts are modules of their
# own); infra keeps the idempotency table but is no domain.
LAYERS = {"infra", "integrations", "kernel", "demo"}
DOMAINS = sorted(
    p.name
    for p in BACKEND.iterdir()
    if p.is_dir()
    and p.name not in LAYERS
    and ((p / "service.py").exists() or (p / "models.py").exists())
)
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
    "backend/display/terms.py",
    "backend/display/verdict.py",
    "backend/codes/diversion_rules.py",
    "backend/codes/tokens.py",
    "backend/analytics/periods.py",
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
COMPOSITION_ROOTS = {
    "backend/app.py",
    "backend/cli.py",
    "backend/deps.py",
    "backend/wiring.py",
    "backend/worker.py",
}


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
            if path.name.endswith("routes.py") and root == "tortoise":
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


# ---- domains meet only through services: no cycles, no SQL on another domain's tables ----

Sources = Mapping[str, str]  # "backend/<domain>/<module>.py" → its text

# Fixed SQL on other domains' tables that waits for the events seam of issue 17:
# (file, table) → why it may stay for now.
ALLOWED_SQL: dict[tuple[str, str], str] = {}


# Each check reads every module; the tree's texts repeat across tests, so parse each once.
_parsed = lru_cache(maxsize=None)(ast.parse)


def backend_sources() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(BACKEND.rglob("*.py"))
    }


def domains_of(sources: Sources) -> list[str]:
    """The domain folders: backend/<name>/ with a service.py or a models.py."""
    return sorted(
        {path.split("/")[1] for path in sources if path.count("/") == 2}
        & {
            path.split("/")[1]
            for path in sources
            if path.endswith(("/service.py", "/models.py"))
            and path.count("/") == 2
            and path.split("/")[1] not in LAYERS
        }
    )


def _domain(path: str, domains: Iterable[str]) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "backend" and parts[1] in domains else None


def _imported(path: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The absolute names an import statement brings in (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = path.removesuffix(".py").split("/")[: -node.level]
    base = ".".join([*package, node.module] if node.module else package)
    if node.level == 0:
        base = node.module or ""
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def domain_edges(sources: Sources) -> dict[tuple[str, str], list[str]]:
    """(domain, domain it imports) → where: "file:line name", models' foreign keys left out."""
    domains = domains_of(sources)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, text in sources.items():
        here = _domain(path, domains)
        if here is None:
            continue
        for node in ast.walk(_parsed(text)):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = _imported(path, node)
            for name in names:
                segments = name.split(".")
                if segments[0] != "backend" or len(segments) < 2 or segments[1] == here:
                    continue
                if segments[1] not in domains:
                    continue
                if path.endswith("/models.py") and segments[2:3] == ["models"]:
                    continue  # a foreign key's type (see the module's docstring)
                # `from backend.org import service` is named by the module it brings in.
                label = names[1] if name.count(".") == 1 and len(names) > 1 else name
                found = edges[(here, segments[1])]
                if not any(w.startswith(f"{path}:{node.lineno} ") for w in found):
                    found.append(f"{path}:{node.lineno} {label}")
    return dict(edges)


def domain_cycles(sources: Sources) -> list[str]:
    """One shortest cycle per group of domains that depend on each other, with the imports
    that make each step of it."""
    edges = domain_edges(sources)
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
    found = []
    seen: set[frozenset[str]] = set()
    for start in sorted(graph):
        cycle = _shortest_cycle(graph, start)
        if cycle is None or frozenset(_strongly_connected(graph, start)) in seen:
            continue
        seen.add(frozenset(_strongly_connected(graph, start)))
        steps = [f"  {a} → {b}: {'; '.join(edges[(a, b)])}" for a, b in pairwise(cycle)]
        found.append(" → ".join(cycle) + "\n" + "\n".join(steps))
    return found


def _shortest_cycle(graph: Mapping[str, set[str]], start: str) -> list[str] | None:
    """The shortest path from `start` back to itself (breadth first), or None."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(graph.get(node, ())):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    return None


def _strongly_connected(graph: Mapping[str, set[str]], start: str) -> set[str]:
    """The domains reachable from `start` that also reach it."""

    def reach(origin: str, step: Mapping[str, set[str]]) -> set[str]:
        found, pending = {origin}, [origin]
        while pending:
            for target in step.get(pending.pop(), ()):
                if target not in found:
                    found.add(target)
                    pending.append(target)
        return found

    backwards: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            backwards[target].add(source)
    return reach(start, graph) & reach(start, backwards)


def table_owners(sources: Sources) -> dict[str, str]:
    """Each table → the domain whose models declare it."""
    domains = domains_of(sources)
    owners = {}
    for path, text in sources.items():
        domain = _domain(path, domains)
        if domain is None:
            continue
        for node in ast.walk(_parsed(text)):
            if isinstance(node, ast.ClassDef) and any(_is_model_base(b) for b in node.bases):
                meta = _meta_values(node)
                if meta.get("abstract") is not True:
                    owners[str(meta.get("table") or node.name.lower())] = domain
    return owners


def _is_model_base(base: ast.expr) -> bool:
    return (isinstance(base, ast.Name) and base.id == "Model") or (
        isinstance(base, ast.Attribute) and base.attr == "Model"
    )


def _meta_values(model: ast.ClassDef) -> dict[str, object]:
    for node in model.body:
        if isinstance(node, ast.ClassDef) and node.name == "Meta":
            return {
                target.id: statement.value.value
                for statement in node.body
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                for target in statement.targets
                if isinstance(target, ast.Name)
            }
    return {}


# A table after FROM (with the rest of a comma-separated FROM list), JOIN, UPDATE or INTO,
# optionally quoted; keywords in any case.
_NAMED_TABLES = re.compile(
    r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\"?\w+\"?(?:\s+(?:AS\s+)?\w+)?(?:\s*,\s*\"?\w+\"?(?:\s+(?:AS\s+)?\w+)?)*)",
    re.IGNORECASE,
)


def _tables_named(text: str) -> set[str]:
    return {
        item.strip().split()[0].strip('"').lower()
        for match in _NAMED_TABLES.finditer(text)
        for item in match.group(1).split(",")
    }


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def cross_domain_sql(sources: Sources) -> list[str]:
    """Every string literal of a domain naming another domain's table as SQL does."""
    domains = domains_of(sources)
    owners = table_owners(sources)
    found = []
    for path, text in sorted(sources.items()):
        here = _domain(path, domains)
        if here is None:
            continue
        tree = _parsed(text)
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in docstrings:
                continue
            for table in sorted(_tables_named(node.value)):
                owner = owners.get(table)
                if owner is not None and owner != here and (path, table) not in ALLOWED_SQL:
                    found.append(
                        f"{path}:{node.lineno}: fixed SQL on {owner}'s table {table};"
                        f" use {owner}.service"
                    )
    return found


def test_no_cycle_between_domains() -> None:
    cycles = domain_cycles(backend_sources())
    assert not cycles, "domains that import each other:\n" + "\n".join(cycles)


def test_no_fixed_sql_on_another_domains_tables() -> None:
    found = cross_domain_sql(backend_sources())
    assert not found, "\n".join(found)


def test_the_allowed_sql_is_still_there() -> None:
    """An allowance outlives its use only by mistake: each names SQL that still exists."""
    sources = backend_sources()
    for path, table in ALLOWED_SQL:
        assert table in _tables_named(sources[path]), f"{path} no longer names {table}"


def test_the_tables_have_owners() -> None:
    owners = table_owners(backend_sources())
    assert owners["orders"] == "ordering"
    assert owners["stores"] == "org"
    assert owners["ledger_entries"] == "ledger"


# The probes: synthetic module sets, so each rule is shown to catch what it is for.

PROBE_MODELS = {
    "backend/shop/service.py": "",
    "backend/shop/models.py": (
        "from tortoise.models import Model\n"
        "from tortoise import models\n"
        "class Shop(Model):\n"
        "    class Meta:\n"
        '        table = "shops"\n'
        "class Shelf(models.Model):\n"
        "    pass\n"
        "class Base(Model):\n"
        "    class Meta:\n"
        "        abstract = True\n"
    ),
    "backend/sale/service.py": "",
    "backend/sale/models.py": (
        "from tortoise.models import Model\n"
        "class Sale(Model):\n"
        "    class Meta:\n"
        '        table = "sales"\n'
    ),
}


def test_a_probe_cycle_is_caught() -> None:
    sources = {
        **PROBE_MODELS,
        "backend/shop/routes.py": "from backend.sale import service as sale_service\n",
        # hidden in a function, as a lazy import would be
        "backend/sale/service.py": "def f():\n    from backend.shop.service import g\n",
    }
    [cycle] = domain_cycles(sources)
    assert cycle.startswith("sale → shop → sale\n")
    assert "backend/shop/routes.py:1 backend.sale" in cycle
    assert "backend/sale/service.py:2 backend.shop.service" in cycle


def test_a_longer_probe_cycle_is_caught_once() -> None:
    sources = {
        **PROBE_MODELS,
        "backend/till/service.py": "from backend.shop import service\n",
        "backend/shop/service.py": "from backend.sale import service\n",
        "backend/sale/service.py": "if TYPE_CHECKING:\n    from backend.till.service import T\n",
    }
    [cycle] = domain_cycles(sources)
    assert cycle.splitlines()[0] == "sale → till → shop → sale"


def test_models_naming_each_other_are_no_cycle() -> None:
    sources = {
        **PROBE_MODELS,
        "backend/shop/models.py": "from backend.sale.models import Sale\n",
        "backend/sale/models.py": "from backend.shop.models import Shop\n",
        "backend/sale/routes.py": "from backend.shop import service\n",
    }
    assert domain_cycles(sources) == []
    assert ("sale", "shop") in domain_edges(sources)


def test_a_probe_cross_domain_table_is_caught() -> None:
    sources = {
        **PROBE_MODELS,
        "backend/sale/service.py": (
            '"""Reads FROM shops in prose: a docstring is no SQL."""\n'
            "async def f(sql):\n"
            '    await sql.execute("UPDATE shops SET id = id WHERE id = $1", 1)\n'
            "    await sql.fetch(\n"
            '        "SELECT s.id FROM sales s, shelf x"\n'
            '        " JOIN \\"shops\\" AS h ON h.id = s.shop_id"\n'
            "    )\n"
            "    await sql.fetch(\"select 1 from sales where kind = 'shops'\")\n"
        ),
    }
    assert table_owners(sources) == {"shops": "shop", "shelf": "shop", "sales": "sale"}
    assert cross_domain_sql(sources) == [
        "backend/sale/service.py:3: fixed SQL on shop's table shops; use shop.service",
        "backend/sale/service.py:5: fixed SQL on shop's table shelf; use shop.service",
        "backend/sale/service.py:5: fixed SQL on shop's table shops; use shop.service",
    ]


def test_the_real_tree_catches_a_probe(tmp_path: Path) -> None:
    """What issue 17 asks to verify: a module added to the real tree with a lazy import
    that closes a cycle (ordering already depends on identity) and SQL on another domain's
    table fails both checks."""
    probe = BACKEND / "identity" / "_architecture_probe.py"
    probe.write_text(
        "async def f(sql):\n"
        "    from backend.ordering import service\n"
        '    await sql.execute("UPDATE orders SET status = $1", "paid")\n',
        encoding="utf-8",
    )
    try:
        sources = backend_sources()
    finally:
        probe.unlink()
    path = "backend/identity/_architecture_probe.py"
    assert any(f"{path}:2 backend.ordering" in cycle for cycle in domain_cycles(sources))
    assert f"{path}:3: fixed SQL on ordering's table orders; use ordering.service" in (
        cross_domain_sql(sources)
    )
