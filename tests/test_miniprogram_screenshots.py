"""The mini-program's pages as a user sees them: `npm run screenshots` (miniprogram/tools/
screenshots) starts the embedded demo, renders every page of app.json with miniprogram-simulate
and WeChat's template compiler, shoots each in headless Chromium, and walks the store owner's
journey (sign in → order with a coupon → pay → track → complain → live room → red packet →
points). The PNGs go to test-artifacts/miniprogram/ to be looked at; here the visible text of
every shot is read as a user would: Chinese, no raw codes, ids or English, amounts as ¥1,234.56."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES

# The renderer always starts the embedded demo (its own SQLite and in-process Redis), whatever
# backend the suite runs on: one pass, the embedded one, is enough (the console is walked on the
# PostgreSQL pass, so the two browser-heavy parts split between the runs).
pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="the screenshots are shot on the embedded run")

ROOT = Path(__file__).resolve().parent.parent
MINIPROGRAM = ROOT / "miniprogram"
RENDERER = MINIPROGRAM / "tools" / "screenshots" / "run.js"
OUT = ROOT / "test-artifacts" / "miniprogram"

# Words that are data, not English: the brand's SKU families (RO-500G, PP 棉滤芯).
ALLOWED_WORDS = {"RO", "PP"}
ENGLISH = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]{2,}(?![A-Za-z0-9-])")
RAW_CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")
LEAKED = re.compile(r"\b(undefined|null|NaN|true|false)\b|\[object Object\]")
RAW_ID = re.compile(r"\bids?\s*[=:]", re.IGNORECASE)
# A database id after a thing's name (订单 19); order numbers are 20 digits and are data.
NAMED_ID = re.compile(r"(?:订单|投诉|门店|商品|直播)[ \t]*[#:：]?[ \t]*\d{1,6}(?![\d-])")
GOOD_AMOUNT = re.compile(r"¥\d{1,3}(?:,\d{3})*\.\d{2}")
JOURNEY = ["login", "home", "catalog", "product", "cart-coupon", "checkout", "paid", "order"]
JOURNEY += ["complaint-new", "complaint", "live-list", "live", "red-packet", "mall"]


def page_names() -> list[str]:
    """Each page of app.json (and its subpackages) by its short name, as `pageName` in
    renderer.js names them."""
    app = json.loads((MINIPROGRAM / "app.json").read_text())
    routes = list(app.get("pages", []))
    for sub in app.get("subPackages", app.get("subpackages", [])):
        routes += [f"{sub['root'].rstrip('/')}/{page}" for page in sub.get("pages", [])]
    names = []
    for route in routes:
        parts = route.split("/")
        folder = parts[-2] if parts[-1] == "index" else parts[-1]
        if parts[0] == "pages":
            names.append(folder)
        else:  # `packageSales/pages/order/index` → `sales-order` (folders repeat across packages)
            package = parts[0].removeprefix("package")
            names.append(f"{package[:1].lower()}{package[1:]}-{folder}")
    assert len(set(names)) == len(names), f"two pages would share a screenshot: {names}"
    return names


def problems_in(text: str) -> list[str]:
    """What a user should never read on a screen."""
    found = [f"English {w!r}" for w in ENGLISH.findall(text) if w not in ALLOWED_WORDS]
    found += [f"raw code {m!r}" for m in RAW_CODE.findall(text)]
    found += [f"leaked {m.group(0)!r}" for m in LEAKED.finditer(text)]
    found += [f"raw id {m.group(0)!r}" for m in RAW_ID.finditer(text)]
    found += [f"raw id {m.group(0)!r}" for m in NAMED_ID.finditer(text)]
    for match in re.finditer(r"¥\S*", text):
        if not GOOD_AMOUNT.match(match.group(0)):
            found.append(f"amount {match.group(0)!r}")
    return found


@pytest.fixture(scope="module")
def manifest() -> dict:
    node = shutil.which("node")
    assert node, "node is needed to render the mini-program (CI has it)"
    assert (MINIPROGRAM / "node_modules" / "miniprogram-simulate").is_dir(), "run `make install`"
    shutil.rmtree(OUT, ignore_errors=True)
    env = {**os.environ, "B2BC_BIN": str(Path(sys.executable).parent / "b2bc")}
    # the demo the renderer starts is the embedded one (SQLite, in-process Redis), whatever
    # backend the suite runs on
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_API_BASE_URL",
        "WECHAT_PAY_API_BASE_URL",
        "B2BC_MODE",
    ):
        env.pop(name, None)
    done = subprocess.run(
        [node, str(RENDERER), "--out", str(OUT), "--no-full"],
        check=False,
        cwd=MINIPROGRAM,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"the renderer failed:\n{done.stderr[-4000:]}"
    return json.loads((OUT / "manifest.json").read_text())


def test_every_page_of_app_json_is_shot(manifest: dict) -> None:
    for name in page_names():
        png = OUT / f"{name}.png"
        assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot of {name}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (OUT / "index.html").is_file()
    # list pages were shot empty, failing and loading too
    for state in ("orders--empty", "orders--error", "orders--loading", "cart--empty"):
        assert (OUT / f"{state}.png").is_file(), state
    assert "重试" in (OUT / "orders--error.txt").read_text()


def test_the_store_owners_journey_reads_right(manifest: dict) -> None:
    steps = [step["step"] for step in manifest["journey"]["steps"]]
    assert all(step in steps for step in JOURNEY), steps
    text = {
        step["step"]: (OUT / f"{step['name']}.txt").read_text()
        for step in manifest["journey"]["steps"]
    }
    assert "微信一键登录" in text["login"]
    assert "优惠券" in text["checkout"]
    assert "支付成功" in text["paid"]
    assert "订单进度" in text["order"]
    assert "投诉" in text["complaint"]
    # the demo session's rain, started by its host (dist1_admin) over the realtime server
    assert "抢到红包" in text["red-packet"]
    assert "兑换成功" in text["mall"]


def test_no_raw_codes_ids_or_english_on_any_screen(manifest: dict) -> None:
    found = {}
    for shot in manifest["shots"]:
        if shot.get("failed"):
            found[shot["name"]] = [shot["failed"]]
            continue
        problems = problems_in((OUT / f"{shot['name']}.txt").read_text())
        if problems:
            found[shot["name"]] = problems
    assert not found, found


def test_the_checks_catch_what_they_should() -> None:
    assert "raw code 'auth.expired'" in problems_in("订单 auth.expired")
    assert problems_in("合计 ¥12.5") == ["amount '¥12.5'"]
    assert "leaked 'undefined'" in problems_in("商品 undefined")
    assert "raw id 'id='" in problems_in("id=3")
    assert "English 'Order'" in problems_in("Order 已付款")
    assert problems_in("12-05 14:41 · 订单 19") == ["raw id '订单 19'"]
    assert problems_in("订单 26120506415238163671 · 共 2 件商品") == []
    assert problems_in("全部商品\n12-04 14:25 至 03-05 14:25") == []
    assert problems_in("澜泉 RO 反渗透净水器 RO-500G ¥1,999.00/台 -¥300.00") == []
