"""CDRs go through a local journal: written once, kept while the database refuses, replayed
without duplicates."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError

from billing.flow_numbers import FlowNumberGenerator
from billing.models import Cdr
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.cdr_writer import CdrWriter
from softswitch.engine.store import close_connection, write_cdr_batch

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def cdr_rows(count: int, start: datetime = START) -> list[tuple]:
    flow = FlowNumberGenerator(5)
    return [
        (
            flow.next(int(start.timestamp() * 1000)),
            f"call-{i}",
            "1001",
            "8613",
            "127.0.0.1:5060",
            "127.0.0.1:5090",
            "",
            "1001",
            "GW",
            start,
            start + timedelta(seconds=2),
            start + timedelta(seconds=12),
            10_000,
            10,
            Decimal("0.01"),
            200,
            0,
            0,
        )
        for i in range(count)
    ]


def flush(writer: CdrWriter) -> bool:
    """One flush, then close the executor thread's connection (the test database is dropped)."""
    result = asyncio.run(writer.flush())
    writer.executor.submit(close_connection).result()
    return result


def test_journaled_cdrs_reach_the_database_once(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    writer = CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch)
    for row in cdr_rows(50):
        journal.append(row)
    assert flush(writer)
    assert Cdr.objects.count() == 50 and not journal.has_pending()
    assert journal.path.stat().st_size == 0  # compacted once everything is committed
    cdr = Cdr.objects.get(call_id="call-7")
    assert (cdr.caller, cdr.hold_time_ms, cdr.fee, cdr.end_reason) == (
        "1001",
        10_000,
        Decimal("0.01"),
        200,
    )


def test_outage_keeps_cdrs_and_recovery_writes_them(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    outage = True

    def write(data: bytes) -> int:
        if outage:
            raise OperationalError("server closed the connection unexpectedly")
        return write_cdr_batch(data)

    writer = CdrWriter(journal, ThreadPoolExecutor(1), write)
    for row in cdr_rows(20):
        journal.append(row)
    assert not flush(writer) and writer.database_down
    assert journal.has_pending() and Cdr.objects.count() == 0
    outage = False
    assert flush(writer) and not writer.database_down
    assert Cdr.objects.count() == 20


def test_replay_after_a_crash_before_the_offset_write_adds_nothing_twice(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    rows = cdr_rows(10)
    for row in rows:
        journal.append(row)
    end = journal.sync()
    data, _ = journal.read_pending(end)
    assert write_cdr_batch(data) == 10  # committed, then the process dies before commit()
    journal.close()
    reopened = CdrJournal(tmp_path, "n1")
    assert reopened.has_pending()
    assert flush(CdrWriter(reopened, ThreadPoolExecutor(1), write_cdr_batch))
    assert Cdr.objects.count() == 10


def test_a_day_without_partition_gets_one(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    for row in cdr_rows(3, start=datetime(2031, 5, 17, 8, 0, tzinfo=UTC)):
        journal.append(row)
    assert flush(CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch))
    assert Cdr.objects.filter(start_time__year=2031).count() == 3
