"""Headless Chromium (Debian's package) driven by Playwright against a live console server.

`make test` installs Chromium where it can (root + apt); elsewhere these tests are skipped with
the reason. Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs it with apt when run as root)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread (for the package's duration, so
    # later asyncio tests get a clean thread); Django's ORM refuses to run inside one unless
    # told that the test knows what it is doing.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1400, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


def in_a_worker_thread(function: Callable[[], Any]) -> Any:
    """Run `function` as the Celery worker would: outside this thread, whose event loop is
    Playwright's (async_to_sync, which broadcasts to the live pages, refuses to run inside a
    running loop; on_commit only logs that, and the page never hears the change)."""
    from django.db import connection

    def run() -> Any:
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under var/screenshots/ (for a human to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def asgi_page(chromium: Any, asgi_server: str) -> Iterator[Any]:
    """A browser page on the daphne-served console (for pages that use WebSockets)."""
    context = chromium.new_context(base_url=asgi_server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()
