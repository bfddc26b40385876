"""The configuration cache (softswitch/engine/config.py) against the test database: a change
notified while a full refresh runs is not undone by the refresh's older snapshot, and the
static lists' reloads share one order (SPEC §3.4, §5).

`Paused` holds one of the engine's own loaders once it has read the database, which is how a
slow query looks to the cache; the data is committed (`transaction=True`) because the cache
reads in executor threads, on connections of their own."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from blacklist.models import DynamicBlacklistEntry, SystemWhitelistEntry
from softswitch.engine import store
from softswitch.engine.config import ConfigCache

NUMBER, TYPE = "8613900000001", "malicious_caller"

pytestmark = pytest.mark.django_db(transaction=True)


class Paused:
    """Stands in for `store.<name>`: calls the real loader; the first call for which
    `holds(*args)` is true then waits for `resume` (at most 5 s) before returning."""

    def __init__(self, monkeypatch: Any, name: str, holds=lambda *args: True) -> None:
        self.real, self.holds = getattr(store, name), holds
        self.read, self.resume = threading.Event(), threading.Event()
        self.calls = 0
        monkeypatch.setattr(store, name, self)

    def __call__(self, *args: Any) -> Any:
        result = self.real(*args)
        self.calls += 1
        if self.holds(*args) and not self.read.is_set():
            self.read.set()
            self.resume.wait(5)
        return result

    async def wait_read(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.read.wait, 5)


async def in_thread(function, *args: Any) -> Any:
    """Run a database write from the scenario's event loop, as the console would elsewhere."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def blocked(cache: ConfigCache) -> bool:
    return cache.config.dynamic.blocking_type(NUMBER, (TYPE,), time.time()) is not None


def test_a_release_notified_during_a_full_refresh_stays_released(monkeypatch) -> None:
    """The refresh read the entry while it was active; the administrator's release committed
    and was applied before the refresh finished: the engine must stop blocking for good."""
    now = timezone.now()
    entry = DynamicBlacklistEntry.objects.create(
        number=NUMBER, type=TYPE, effective_at=now, expires_at=now + timedelta(hours=1),
        observed=5, limit=5, window_seconds=600,
    )  # fmt: skip

    def release() -> None:
        DynamicBlacklistEntry.objects.filter(pk=entry.pk).update(active=False, released_at=now)

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(4))
        await cache.load_all()
        assert blocked(cache)
        loader = Paused(monkeypatch, "load_dynamic_entries", holds=lambda ids=None: ids is None)
        refresh = asyncio.ensure_future(cache.refresh())
        await loader.wait_read()
        await in_thread(release)
        await cache.apply_notification("dynamic_blacklist", "update", entry.pk)
        assert not blocked(cache)
        loader.resume.set()
        assert await refresh
        assert not blocked(cache)

    asyncio.run(scenario())


def test_list_notifications_during_a_reload_share_the_next_one(monkeypatch) -> None:
    """Deleting a group of many numbers notifies once per number: the engine reloads the
    lists as a whole, so all the notifications that wait need one reload, not one each."""
    loader = Paused(monkeypatch, "load_lists")

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(2))
        first = asyncio.ensure_future(cache.apply_notification("blacklist_number", "delete", 1))
        await loader.wait_read()
        waiting = [
            asyncio.ensure_future(cache.apply_notification("blacklist_number", "delete", key))
            for key in range(2, 200)
        ]
        await asyncio.sleep(0.05)
        loader.resume.set()
        await asyncio.gather(first, *waiting)

    asyncio.run(scenario())
    assert loader.calls == 2


def test_an_older_list_reload_never_replaces_a_newer_one(monkeypatch) -> None:
    """Static numbers and the white list are one `Lists`: a reload for a number that read the
    database before a white-list entry committed must not finish after the white list's own
    reload and put the older lists back."""
    loader = Paused(monkeypatch, "load_lists")

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(2))
        number = asyncio.ensure_future(cache.apply_notification("blacklist_number", "create", 1))
        await loader.wait_read()
        entry = await in_thread(lambda: SystemWhitelistEntry.objects.create(number=NUMBER))
        whitelist = asyncio.ensure_future(cache.apply_notification("whitelist", "create", entry.pk))
        await asyncio.sleep(0.05)
        loader.resume.set()
        await asyncio.gather(number, whitelist)
        assert cache.config.lists.whitelist.matches(NUMBER)

    asyncio.run(scenario())
