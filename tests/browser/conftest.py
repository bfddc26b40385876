"""Headless Chromium (Debian's package) driven by Playwright against a live console server.

`make test` installs Chromium where it can (root + apt); elsewhere these tests are skipped with
the reason. Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
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


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under var/screenshots/ (for a human to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def asgi_server(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    """The console under daphne — HTTP and WebSockets, as in production — on a free port,
    using the test database (so the test's data must be committed: transactional tests)."""
    import subprocess
    import sys

    from django.conf import settings

    from tests.helpers import database_url_of_tests
    from vosadmin.stack import free_tcp_port, stop_process, wait_for_tcp

    port = free_tcp_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "VOSADMIN_PROCESS": "web",
    }
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with (tmp_path / "daphne.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "vosadmin.asgi:application"], env=env, stdout=log, stderr=log
        )
        try:
            wait_for_tcp("127.0.0.1", port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(process)


@pytest.fixture
def asgi_page(chromium: Any, asgi_server: str) -> Iterator[Any]:
    """A browser page on the daphne-served console (for pages that use WebSockets)."""
    context = chromium.new_context(base_url=asgi_server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()
