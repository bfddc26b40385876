"""The configuration cache (softswitch/engine/config.py): a change notified while a full
refresh is running must not be undone by the refresh's older snapshot (SPEC §3.4, §5)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from softswitch.engine import store
from softswitch.engine.config import ConfigCache
from softswitch.rules.domain import DynamicEntries, Lists

NUMBER, TYPE, ENTRY_ID, EXPIRES = "8613900000001", "malicious_caller", 7, 4e9


def stub_store(monkeypatch: Any, load_dynamic_entries: Any) -> None:
    """Every loader of a full refresh returns nothing, except the dynamic entries."""
    for name in ("load_phones", "load_mapping_gateways", "load_routing_gateways"):
        monkeypatch.setattr(store, name, lambda ids=None: {})
    monkeypatch.setattr(store, "load_parameters", lambda: {})
    monkeypatch.setattr(store, "load_lists", Lists)
    monkeypatch.setattr(store, "load_accounts", lambda ids=None: {})
    monkeypatch.setattr(store, "load_rate_tables", lambda ids=None: {})
    monkeypatch.setattr(store, "load_dynamic_entries", load_dynamic_entries)


def test_a_release_notified_during_a_full_refresh_stays_released(monkeypatch) -> None:
    """The refresh read the entry while it was active; the administrator's release committed
    and was applied before the refresh finished: the engine must stop blocking for good."""
    queried, resume = threading.Event(), threading.Event()

    def load_dynamic_entries(ids=None) -> DynamicEntries:
        if ids is not None:
            return DynamicEntries()  # released: no longer active
        entries = DynamicEntries()
        entries.put(ENTRY_ID, NUMBER, TYPE, EXPIRES)  # the snapshot before the release
        queried.set()
        resume.wait(5)
        return entries

    stub_store(monkeypatch, load_dynamic_entries)

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(4))
        cache.config.dynamic.put(ENTRY_ID, NUMBER, TYPE, EXPIRES)
        refresh = asyncio.ensure_future(cache.refresh())
        await asyncio.get_running_loop().run_in_executor(None, queried.wait, 5)
        await cache.apply_notification("dynamic_blacklist", "update", ENTRY_ID)
        assert cache.config.dynamic.blocking_type(NUMBER, (TYPE,), 0) is None
        resume.set()
        assert await refresh
        assert cache.config.dynamic.blocking_type(NUMBER, (TYPE,), 0) is None

    asyncio.run(scenario())


class SlowLists:
    """`store.load_lists` whose first call waits for `resume`; each call returns a new Lists."""

    def __init__(self) -> None:
        self.started, self.resume = threading.Event(), threading.Event()
        self.loaded: list[Lists] = []

    def __call__(self) -> Lists:
        lists = Lists(global_groups=(len(self.loaded),))
        self.loaded.append(lists)
        if len(self.loaded) == 1:
            self.started.set()
            self.resume.wait(5)
        return lists


def test_list_notifications_during_a_reload_share_the_next_one(monkeypatch) -> None:
    """Deleting a group of many numbers notifies once per number: the engine reloads the
    lists as a whole, so all the notifications that wait need one reload, not one each."""
    load_lists = SlowLists()
    monkeypatch.setattr(store, "load_lists", load_lists)

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(2))
        first = asyncio.ensure_future(cache.apply_notification("blacklist_number", "delete", 1))
        await asyncio.get_running_loop().run_in_executor(None, load_lists.started.wait, 5)
        waiting = [
            asyncio.ensure_future(cache.apply_notification("blacklist_number", "delete", key))
            for key in range(2, 200)
        ]
        await asyncio.sleep(0.05)
        load_lists.resume.set()
        await asyncio.gather(first, *waiting)
        assert cache.config.lists is load_lists.loaded[-1]

    asyncio.run(scenario())
    assert len(load_lists.loaded) == 2


def test_an_older_list_reload_never_replaces_a_newer_one(monkeypatch) -> None:
    """Static numbers and the white list are one `Lists`: a reload for a number that started
    before a white-list change committed must not finish after the white list's own reload
    and put the older lists back."""
    load_lists = SlowLists()
    monkeypatch.setattr(store, "load_lists", load_lists)

    async def scenario() -> None:
        cache = ConfigCache(ThreadPoolExecutor(2))
        number = asyncio.ensure_future(cache.apply_notification("blacklist_number", "create", 1))
        await asyncio.get_running_loop().run_in_executor(None, load_lists.started.wait, 5)
        whitelist = asyncio.ensure_future(cache.apply_notification("whitelist", "create", 1))
        await asyncio.sleep(0.05)
        load_lists.resume.set()
        await asyncio.gather(number, whitelist)
        assert cache.config.lists is load_lists.loaded[-1]

    asyncio.run(scenario())
