"""The Dynamic black list page in a real browser: a row appears when a check lists a number
and disappears when the entry expires, without reloading the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from blacklist.checks import SETTLE_SECONDS, run_check
from blacklist.entries import expire_entries
from blacklist.models import DynamicBlacklistEntry
from tests.blacklist.conftest import clear_counters, configure
from tests.blacklist.engine_counters import count_attempts
from tests.browser.conftest import in_a_worker_thread, screenshot
from vosadmin.core.live import redis_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user, server_url: str) -> None:
    """Give the browser a session of `user` (the tests hash passwords with MD5, which the
    console's own process does not accept, so the login form is not used here)."""
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": server_url}])


def test_a_listed_number_appears_and_disappears_live(asgi_page, asgi_server, admin_user) -> None:
    page = asgi_page
    sockets: list = []
    page.on("websocket", lambda socket: sockets.append(socket))
    redis = redis_client()
    clear_counters(redis)
    configure("malicious_caller", limit=100)
    log_in(page, admin_user, asgi_server)
    page.goto("/dynamic-black-list/")
    page.wait_for_selector("#live-status[data-state=live]")
    page.evaluate("window.notReloaded = true")

    now = timezone.now()
    # In the last window a check at `now` reads, whatever the wall clock: within its first
    # SETTLE_SECONDS a window's predecessor is not read yet.
    settled = now.timestamp() - 600 - SETTLE_SECONDS
    count_attempts(redis, "caller", "8613912345678", 137, 600, settled)
    in_a_worker_thread(lambda: run_check("malicious_caller", now=now, redis=redis))
    entry = DynamicBlacklistEntry.objects.get()
    row = page.wait_for_selector(f'tr[data-id="{entry.pk}"]', timeout=10_000)
    text = row.inner_text()
    assert "8613912345678" in text and "Malicious caller" in text
    assert "137 call attempts in 600 s (limit 100)" in text
    assert "59 min" in text, "time left counts down from EXPIRE (3600 s)"
    assert page.evaluate("window.notReloaded") is True
    assert page.inner_text(".table-footer").startswith("1 in all")
    screenshot(page, "dynamic-black-list-live")

    in_a_worker_thread(lambda: expire_entries(now + timedelta(hours=1)))
    page.wait_for_selector(f'tr[data-id="{entry.pk}"]', state="detached", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert len(sockets) == 1, "the row came and went over the open socket, not by reconnecting"
    clear_counters(redis)
