"""Headless Debian Chromium driven by Playwright for Python (no browser download: ``executable_path``).

Why Playwright and not a hand-written DevTools client: waiting for a page,
evaluating script in it and taking screenshots are what it is made for, kept
working across browser versions by its maintainers.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium_page(chromium: str, width: int = 1400, height: int = 1800) -> Iterator[Page]:  # noqa: F821
    """A page in a fresh headless Chromium; the browser and its driver are gone when the block ends."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def wait_for(page, predicate_js: str, timeout: float = 60) -> bool:
    """True once ``predicate_js`` holds in the page, False after ``timeout`` seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(predicate_js, timeout=timeout * 1000, polling=500)
        return True
    except PlaywrightTimeout:
        return False


def screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
