"""How much JavaScript the console makes a browser download, gzipped, per page.

Reads the Vite build's manifest (console/dist/.vite/manifest.json, made by `make console`) and
adds up, for each page (each lazily loaded route chunk), the gzipped size of the JavaScript it
needs: the entry and everything it imports statically (the frame every page shares), plus the
page's own chunk and the chunks only it imports. It prints the frame, each page, and the
largest, against a baseline measured in the same run from the same node_modules: Vue's runtime
plus the whole of Element Plus as one file (what importing the library whole would cost).

    .venv/bin/python bench/console_size.py
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[1] / "console"
DIST = CONSOLE / "dist"
BASELINE_FILES = [
    "vue/dist/vue.runtime.esm-browser.prod.js",
    "element-plus/dist/index.full.min.mjs",
]


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def closure(manifest: dict[str, dict], key: str) -> set[str]:
    """The chunk `key` and every chunk it imports statically, transitively."""
    seen: set[str] = set()
    waiting = [key]
    while waiting:
        current = waiting.pop()
        if current in seen:
            continue
        seen.add(current)
        waiting.extend(manifest[current].get("imports", []))
    return seen


def size_of(manifest: dict[str, dict], chunks: set[str]) -> int:
    return sum(gzipped(DIST / manifest[chunk]["file"]) for chunk in chunks)


def main() -> None:
    manifest = json.loads((DIST / ".vite" / "manifest.json").read_text())
    entry = next(key for key, chunk in manifest.items() if chunk.get("isEntry"))
    frame = closure(manifest, entry)
    frame_kb = size_of(manifest, frame) / 1024
    print(f"frame (sign-in page, router, shell): {frame_kb:7.1f} KB gzipped JS")
    pages = []
    for page in manifest[entry].get("dynamicImports", []):
        own = closure(manifest, page) - frame
        pages.append((size_of(manifest, own) / 1024, page))
    for own_kb, page in sorted(pages):
        print(f"  {page:<48} +{own_kb:6.1f} KB  = {frame_kb + own_kb:6.1f} KB")
    if pages:
        largest_kb, largest = max(pages)
        print(f"largest page: {largest} = {frame_kb + largest_kb:.1f} KB gzipped JS")
    modules = CONSOLE / "node_modules"
    baseline = sum(gzipped(modules / name) for name in BASELINE_FILES) / 1024
    print(f"baseline, Vue + the whole of Element Plus: {baseline:.1f} KB gzipped JS")


if __name__ == "__main__":
    main()
