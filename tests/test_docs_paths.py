"""The docs name only files that exist: every path written in backticks or linked in
docs/architecture.md, the decisions and the README is found in the repository.

A map that points at files which were renamed or never written misleads the next reader
more than no map. Paths are checked from the repository root, or from the folder a short
path is written against (`backend/`, `console/src/`, `miniprogram/`); `<name>` and `*` are
globs. Build and run outputs (console/dist/, data/, test-artifacts/) are accepted when
.gitignore lists them: they exist once `make` has run, never in a clone.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "architecture.md",
    ROOT / "docs" / "production.md",
    *sorted((ROOT / "docs" / "decisions").glob("*.md")),
]
# Where a path may be written from: the root, or the folders the docs write short paths in.
BASES = ["", "backend/", "console/src/", "miniprogram/"]
TOP_LEVEL = (
    "backend/",
    "realtime/",
    "console/",
    "miniprogram/",
    "tests/",
    "docs/",
    "bench/",
    "migrations/",
    ".ci/",
    "deploy/",
)
EXTENSIONS = (".py", ".js", ".vue", ".md", ".json", ".toml", ".wxml", ".wxss", ".png", ".svg")
CODE = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)\)")


def _ignored_outputs() -> list[str]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip().endswith("/") and "*" not in line]


def looks_like_path(text: str) -> bool:
    if text.startswith("/") or "://" in text or "/" not in text:
        return False  # URLs, API routes and plain words
    return text.startswith(TOP_LEVEL) or text.rstrip("/").endswith(EXTENSIONS)


def paths_in(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    found = [m for m in CODE.findall(text) if looks_like_path(m)]
    for target in LINK.findall(text):
        if "://" not in target:
            # Links are relative to the document; name them from the root.
            found.append((doc.parent / target).resolve().relative_to(ROOT).as_posix())
    return found


def exists(path: str) -> bool:
    pattern = re.sub(r"<[^>]+>", "*", path.rstrip(".,:;")).rstrip("/")
    if any((pattern + "/").startswith(output) for output in _ignored_outputs()):
        return True
    for base in BASES:
        found = (
            any(ROOT.glob(base + pattern)) if "*" in pattern else (ROOT / base / pattern).exists()
        )
        if found:
            return True
    return False


def missing_paths() -> list[str]:
    return [
        f"{doc.relative_to(ROOT)}: {path}"
        for doc in DOCS
        for path in paths_in(doc)
        if not exists(path)
    ]


def test_every_path_in_the_docs_exists() -> None:
    assert missing_paths() == []


def test_every_decision_is_linked_from_the_map() -> None:
    """A decision nobody is sent to is not read: the map links each where it applies."""
    linked = set(paths_in(ROOT / "docs" / "architecture.md"))
    decisions = sorted((ROOT / "docs" / "decisions").glob("*.md"))
    assert decisions
    unlinked = [d.name for d in decisions if d.relative_to(ROOT).as_posix() not in linked]
    assert unlinked == []


def test_the_check_sees_a_missing_path(tmp_path: Path) -> None:
    doc = tmp_path / "probe.md"
    doc.write_text(
        "`backend/ordering/repository.py`, `console/src/pages/<area>/routes.js`, "
        "`backend/*/service.py`, `/api/v1/orders`, `data/secrets.json`\n",
        encoding="utf-8",
    )
    found = [p for p in paths_in(doc) if not exists(p)]
    assert found == ["backend/ordering/repository.py"]
