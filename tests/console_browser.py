"""What every browser test of the console shares: Debian's headless Chromium driven by
Playwright, signing in as a person, and screenshots at 1280×800 kept in
test-artifacts/console/ to be looked at. Import the fixture and helpers from here:

    from tests.console_browser import browser, signed_in, shot  # noqa: F401 (fixture)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import ARTIFACTS, ON_POSTGRES
from tests.factories import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ARTIFACTS / "console"
# CI installs Debian's chromium and sets this, so a missing browser fails there, not skips.
REQUIRED = os.environ.get("B2BC_REQUIRE_BROWSER") == "1"
# The console is walked on the run against real PostgreSQL and Redis: the embedded run serves
# the same API code, and walking every page twice would double the suite's slowest part.
# B2BC_BROWSER_EMBEDDED=1 walks it embedded too (no PostgreSQL at hand, say).
EMBEDDED_TOO = os.environ.get("B2BC_BROWSER_EMBEDDED") == "1"
if not REQUIRED and not os.path.exists(CHROMIUM):
    needs_browser = pytest.mark.skip(reason="Debian's chromium is not installed")
elif not ON_POSTGRES and not EMBEDDED_TOO:
    needs_browser = pytest.mark.skip(reason="the console is walked on the PostgreSQL run")
else:
    needs_browser = pytest.mark.skipif(False, reason="runs")

# The flags this machine needs: no sandbox as root, and no calls home (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def signed_in(
    browser: Browser, url: str, username: str, path: str = ""
) -> tuple[BrowserContext, Page]:
    """A new 1280×800 zh-CN context signed in as `username`, then at `#<path>` when given.
    Fails on any uncaught error in the page."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/console")
    await expect(page.get_by_role("heading", name="b2bc 管理后台")).to_be_visible()
    await page.get_by_label("账号").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_test_id("current-user")).to_be_visible()
    if path:
        await page.goto(f"{url}/console#{path}")
    assert errors == []
    return context, page


async def shot(page: Page, name: str) -> None:
    """Keeps a full-page screenshot as test-artifacts/console/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def choose(page: Page, label: str, option: str) -> None:
    """Picks `option` in the Element Plus select labelled `label` (not a native <select>)."""
    # The box around the combobox: Element Plus labels the dropdown's listbox the same way,
    # and the placeholder lies over the input itself.
    combobox = page.get_by_role("combobox", name=label, exact=True)
    await page.locator(".el-select__wrapper").filter(has=combobox).click()
    await (
        page.locator(".el-select-dropdown:visible .el-select-dropdown__item")
        .get_by_text(option, exact=True)
        .click()
    )
