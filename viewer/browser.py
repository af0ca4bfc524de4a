"""Headless Chromium (Debian's) through Playwright, for screenshots, tests and the benchmark.

Debian's ``chromium-headless-shell``, the headless shell Playwright itself runs by default: no
browser window machinery behind the page, which costs the full ``chromium`` about a third
more CPU per page (the browser tests: 101 s against 70 s, same pages and assertions).

Never ``playwright install``: it downloads a browser from outside. The flags keep Chromium
from reaching for Google's services, which a closed network refuses connection by connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium-headless-shell")
MISSING = "Chromium is missing: apt-get install chromium-headless-shell fonts-wqy-microhei"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]  # fmt: skip


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright browser on Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(MISSING)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
