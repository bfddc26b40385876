"""Expiry: beat marks entries whose time is up inactive in one UPDATE, keeps them as history,
and tells the engine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blacklist.entries import expire_entries
from blacklist.models import DynamicBlacklistEntry
from blacklist.tasks import expire_dynamic_blacklist_task
from tests.blacklist.conftest import NOW, make_entry
from tests.helpers import listening


def entry_expiring_at(number: str, expires_at) -> DynamicBlacklistEntry:
    return make_entry(number, effective_at=expires_at - timedelta(seconds=3600))


@pytest.mark.django_db
def test_entries_whose_time_has_come_become_history() -> None:
    past = entry_expiring_at("1001", NOW - timedelta(seconds=1))
    due = entry_expiring_at("1002", NOW)
    future = entry_expiring_at("1003", NOW + timedelta(seconds=1))
    assert sorted(expire_entries(NOW)) == sorted([past.pk, due.pk])
    active = dict(DynamicBlacklistEntry.objects.values_list("number", "active"))
    assert active == {"1001": False, "1002": False, "1003": True}
    past.refresh_from_db()
    assert past.released_at is None and past.ending() == "expired"
    assert expire_entries(NOW) == [], "a repeated run has nothing left to do"
    assert expire_entries(NOW + timedelta(seconds=1)) == [future.pk]


@pytest.mark.django_db
def test_released_entries_are_left_alone() -> None:
    entry_expiring_at("1001", NOW - timedelta(seconds=1))
    DynamicBlacklistEntry.objects.update(active=False, released_at=NOW, released_by="alice")
    assert expire_entries(NOW) == []
    assert DynamicBlacklistEntry.objects.get().ending() == "released by alice"


@pytest.mark.django_db
def test_expiry_is_one_update_whatever_the_number_of_entries() -> None:
    for number in range(50):
        entry_expiring_at(f"10{number:02d}", NOW - timedelta(seconds=number))
    with CaptureQueriesContext(connection) as queries:
        assert len(expire_entries(NOW)) == 50
    statements = [query["sql"].lstrip().split()[0].upper() for query in queries.captured_queries]
    assert statements.count("UPDATE") == 1
    assert "INSERT" not in statements and statements.count("SELECT") == 1  # the NOTIFY batch


@pytest.mark.django_db
def test_the_beat_task_expires_with_the_real_clock() -> None:
    expired = entry_expiring_at("1001", timezone.now() - timedelta(seconds=5))
    running = entry_expiring_at("1002", timezone.now() + timedelta(seconds=300))
    result = expire_dynamic_blacklist_task.apply().get()
    assert result == {"expired": [expired.pk]}
    running.refresh_from_db()
    assert running.active


@pytest.mark.django_db(transaction=True)
def test_the_engine_is_notified_of_each_expired_entry() -> None:
    first = entry_expiring_at("1001", NOW - timedelta(seconds=1))
    second = entry_expiring_at("1002", NOW - timedelta(seconds=1))
    with listening("vosadmin_config") as receive:
        expire_entries(NOW)
        payloads = receive()
    assert sorted(payloads, key=lambda payload: payload["key"]) == [
        {"kind": "dynamic_blacklist", "action": "update", "key": first.pk},
        {"kind": "dynamic_blacklist", "action": "update", "key": second.pk},
    ]
