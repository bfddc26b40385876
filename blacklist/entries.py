"""Writing dynamic-blacklist entries: listing numbers, expiring entries, releasing one early.

Each write NOTIFYs the SIP engine (docs/adr/0002; the bulk statements here bypass the model
signals, so they notify explicitly) and announces the change to open Dynamic black list pages
once it has committed (`blacklist.live`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from blacklist.live import announce_added, announce_removed
from blacklist.models import DynamicBlacklistEntry
from vosadmin.core.audit import record_change
from vosadmin.core.notify import notify_config_changes

NOTIFY_KIND = "dynamic_blacklist"
NUMBER_LENGTH = DynamicBlacklistEntry._meta.get_field("number").max_length
OBSERVED_MAX = 2**31 - 1  # PositiveIntegerField

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """A number a check found over its family's limit, and what it counted."""

    number: str
    observed: int


@dataclass(frozen=True)
class Listing:
    """What an entry created by a check records besides the number: type, time and evidence."""

    type: str
    effective_at: datetime
    expire_seconds: int
    limit: int
    window_seconds: int

    @property
    def expires_at(self) -> datetime:
        """effective + EXPIRE."""
        return self.effective_at + timedelta(seconds=self.expire_seconds)


def list_numbers(findings: Iterable[Finding], listing: Listing) -> list[int]:
    """Create an active entry for every finding that has none yet; returns the new entries' ids.

    Entries whose time is up are made inactive first, so a number that is still abusing gets a
    fresh entry even if the expiry task has not run yet. "One active entry per (number, type)"
    is the database's partial unique index: a concurrent or repeated run inserts nothing twice
    (INSERT … ON CONFLICT DO NOTHING).
    """
    rows = _storable(findings)
    if not rows:
        return []
    with transaction.atomic():
        expire_entries(listing.effective_at)
        ids = _insert(rows, listing)
        notify_config_changes(NOTIFY_KIND, "create", ids)
        announce_added(ids)
    return ids


def expire_entries(now: datetime) -> list[int]:
    """Mark every active entry whose expiration time has come inactive (one UPDATE).

    The entries stay as history; the engine already stopped enforcing them at `expires_at`.
    """
    table = DynamicBlacklistEntry._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET active = false WHERE active AND expires_at <= %s RETURNING id",
            [now],
        )
        ids = [row[0] for row in cursor.fetchall()]
        notify_config_changes(NOTIFY_KIND, "update", ids)
        announce_removed(ids, "expired")
    return ids


def release_entry(entry_id: int, user: Any, now: datetime) -> DynamicBlacklistEntry | None:
    """Release an active entry early (an administrator's decision); None if it is not active.

    The save goes through the model signal, which NOTIFYs the engine; the release is written
    to the operation log.
    """
    with transaction.atomic():
        entry = DynamicBlacklistEntry.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None or not entry.active:
            return None
        entry.active, entry.released_at, entry.released_by = False, now, user.get_username()
        entry.save(update_fields=["active", "released_at", "released_by"])
        changes = {"active": [True, False], "released_at": [None, now.isoformat()]}
        record_change(user, "release", "Dynamic black list entry", entry.pk, str(entry), changes)
        announce_removed([entry.pk], "released")
    return entry


def _storable(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings as {number: observed}, without numbers too long for the table.

    Sorted by number, so concurrent runs insert in the same order and cannot deadlock.
    """
    rows: dict[str, int] = {}
    for finding in findings:
        if len(finding.number) > NUMBER_LENGTH:
            log.warning("not listing %r: longer than %d characters", finding.number, NUMBER_LENGTH)
            continue
        rows[finding.number] = min(max(rows.get(finding.number, 0), finding.observed), OBSERVED_MAX)
    return dict(sorted(rows.items()))


def _insert(rows: dict[str, int], listing: Listing) -> list[int]:
    """INSERT the entries in one statement, skipping any that would duplicate an active one."""
    table = DynamicBlacklistEntry._meta.db_table
    sql = f"""
        INSERT INTO {table}
            (number, type, effective_at, expires_at, observed, "limit", window_seconds,
             active, released_by)
        SELECT found.number, %s, %s, %s, found.observed, %s, %s, true, ''
        FROM unnest(%s::varchar[], %s::integer[]) AS found(number, observed)
        ON CONFLICT DO NOTHING
        RETURNING id
    """
    params = [
        listing.type,
        listing.effective_at,
        listing.expires_at,
        listing.limit,
        listing.window_seconds,
        list(rows),
        list(rows.values()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())
