"""The home page's live overview in a real browser: a sample taken by the worker reaches the
uPlot charts over the WebSocket, without a reload."""

from __future__ import annotations

import pytest

from tests.browser.conftest import in_a_worker_thread, screenshot
from tests.browser.test_dynamic_blacklist_browser import log_in
from vosadmin.core.overview import take_sample

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_chart_receives_a_live_point(asgi_page, asgi_server, viewer_user, redis_client) -> None:
    page = asgi_page
    sockets: list = []
    page.on("websocket", lambda socket: sockets.append(socket))
    log_in(page, viewer_user, asgi_server)
    page.goto("/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.wait_for_selector("#chart-rates canvas")
    page.evaluate("window.notReloaded = true")
    before = int(page.get_attribute("#chart-rates", "data-points"))

    sample = in_a_worker_thread(take_sample)
    for chart in ("calls", "rates", "security"):
        page.wait_for_selector(f'#chart-{chart}[data-last="{sample["t"]}"]', timeout=10_000)
    assert int(page.get_attribute("#chart-rates", "data-points")) == before + 1
    assert page.evaluate("window.notReloaded") is True
    assert len(sockets) == 1, "the point came over the open socket, not after a reconnection"
    assert "Calls per second" in page.inner_text("#chart-rates")
    screenshot(page, "overview-live")
