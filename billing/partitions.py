"""Daily range partitions of the CDR table (docs/adr/0004-cdr-storage.md).

`billing_cdr` is partitioned by `start_time`, one partition per UTC day named
`billing_cdr_pYYYYMMDD`. Partitions are created ahead of time by a beat task, on demand by the
CDR writer and by `generate_cdrs`, and dropped past SERVER_BILLING_RECORD_RETENTION_DAYS.
There is no default partition: a row for a day without a partition fails loudly (the writer
creates the partition and retries) instead of piling up somewhere that blocks later creation.

Creating or dropping a partition takes an ACCESS EXCLUSIVE lock on `billing_cdr`. Waiting for
it behind a long CSV export would queue every CDR insert and query behind the DDL, so the DDL
gives up after LOCK_TIMEOUT instead (LockNotAvailable): housekeeping retries within the hour,
and partitions exist a week ahead, so a missed run costs nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction

TABLE = "billing_cdr"
PARTITION_PATTERN = re.compile(rf"^{TABLE}_p(\d{{8}})$")
LOCK_KEY = 4_210_001  # pg_advisory_xact_lock key serialising partition DDL across processes
LOCK_TIMEOUT = "3s"


def partition_name(day: date) -> str:
    """The partition holding CDRs that started on `day` (UTC)."""
    return f"{TABLE}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The [start, end) of a UTC day."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def existing_partition_days() -> list[date]:
    """The days that have a partition, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE parent.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    days = [
        datetime.strptime(match[1], "%Y%m%d").date()
        for name in names
        if (match := PARTITION_PATTERN.match(name))
    ]
    return sorted(days)


def ensure_cdr_partitions(first: date, last: date) -> list[date]:
    """Create the missing partitions for every day from `first` to `last`; return those created."""
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_for_ddl(cursor)
        existing = set(existing_partition_days())
        day = first
        while day <= last:
            if day not in existing:
                start, end = day_bounds(day)
                cursor.execute(
                    f'CREATE TABLE "{partition_name(day)}" PARTITION OF "{TABLE}" '
                    "FOR VALUES FROM (%s) TO (%s)",
                    [start, end],
                )
                created.append(day)
            day += timedelta(days=1)
    return created


def drop_cdr_partitions_before(cutoff: date) -> list[date]:
    """Drop every partition of a day before `cutoff`; return the days dropped."""
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_for_ddl(cursor)
        for day in existing_partition_days():
            if day < cutoff:
                cursor.execute(f'DROP TABLE "{partition_name(day)}"')
                dropped.append(day)
    return dropped


def _lock_for_ddl(cursor: Any) -> None:
    """Serialise partition DDL across processes; wait at most LOCK_TIMEOUT for the table."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
