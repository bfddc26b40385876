"""COPY ingest keeps every value as written: empty text, NULL, commas, quotes, backslashes."""

from __future__ import annotations

import io
from decimal import Decimal

from django.db import connection

from billing.ingest import (
    CDR_COLUMNS,
    copy_cdrs,
    copy_cdrs_idempotent,
    copy_csv_idempotent,
    rows_to_csv,
)
from billing.models import Cdr
from softswitch.engine.cdr_journal import CdrJournal
from tests.billing.conftest import at, cdr


def row(instance: Cdr) -> tuple:
    return tuple(getattr(instance, column) for column in CDR_COLUMNS)


AWKWARD = [
    cdr('quote"comma,newline\nend', at(1), caller=r"\N", callee="", phone="", hold_time_ms=0),
    cdr("plain", at(2), caller="sipvicious", fee=Decimal("12.3456")),
]


def test_copy_stores_values_exactly(partitions) -> None:
    with connection.cursor() as cursor:
        assert copy_cdrs(cursor.cursor, (row(instance) for instance in AWKWARD)) == 2
    stored = {instance.call_id: row(instance) for instance in Cdr.objects.all()}
    assert stored == {instance.call_id: row(instance) for instance in AWKWARD}
    assert Cdr.objects.get(call_id="plain").connect_time is not None
    assert Cdr.objects.get(caller=r"\N").connect_time is None


def test_idempotent_copy_skips_flow_numbers_already_stored(partitions) -> None:
    with connection.cursor() as cursor:
        assert copy_cdrs_idempotent(cursor.cursor, [row(AWKWARD[0])]) == 1
        assert copy_cdrs_idempotent(cursor.cursor, [row(i) for i in AWKWARD + AWKWARD]) == 1
    assert Cdr.objects.count() == 2


def test_copy_streams_a_large_iterator(partitions) -> None:
    rows = (row(cdr(f"call-{index}", at(index / 1000))) for index in range(5000))
    with connection.cursor() as cursor:
        assert copy_cdrs(cursor.cursor, rows) == 5000
    assert Cdr.objects.count() == 5000


def test_journal_lines_round_trip_and_a_caller_reading_null_stays_text(partitions) -> None:
    lines = rows_to_csv(row(instance) for instance in AWKWARD)
    with connection.cursor() as cursor:
        assert copy_csv_idempotent(cursor.cursor, lines) == 2
    stored = {instance.call_id: row(instance) for instance in Cdr.objects.all()}
    assert stored == {instance.call_id: row(instance) for instance in AWKWARD}


def test_journal_lines_written_before_quoting_still_load(partitions, tmp_path) -> None:
    """The engine's journal may hold lines from before values were quoted (\\N unquoted) and
    from before rating (no rating columns: the journal's screening appends their defaults)."""
    old = (
        b"7001,old-format,8613800000000,4420700000001,198.51.100.10:5060,,GW-ACME,,,"
        b"2025-03-10T01:00:00+00:00,\\N,2025-03-10T01:00:05+00:00,0,0,0,486,1,1\n"
    )
    screened = CdrJournal(tmp_path, "old")._screen(old, 0)
    with connection.cursor() as cursor:
        assert copy_csv_idempotent(cursor.cursor, io.StringIO(screened.decode())) == 1
    stored = Cdr.objects.get(flow_no=7001)
    assert stored.connect_time is None and stored.callee_ip == "" and stored.end_reason == 486
    assert (stored.account_id, stored.fee_prefix, stored.cost, stored.cost_prefix) == (
        None,
        "",
        0,
        "",
    )
    assert stored.pdd_ms is None


def test_journal_lines_written_before_pdd_load_without_one(partitions, tmp_path) -> None:
    """A rated line from before pdd_ms (22 columns) gets NULL; a current line keeps its PDD."""
    before_pdd = (
        b'7002,"rated","861","442","198.51.100.10:5060","","GW-ACME","","VENDOR",'
        b'"2025-03-10T01:00:00+00:00","\\N","2025-03-10T01:00:05+00:00",0,0,0,487,0,1,'
        b'"\\N","",0,""\n'
    )
    current = rows_to_csv([row(cdr("with-pdd", at(3), pdd_ms=2300))]).getvalue().encode()
    screened = CdrJournal(tmp_path, "old")._screen(before_pdd + current, 0)
    with connection.cursor() as cursor:
        assert copy_csv_idempotent(cursor.cursor, io.StringIO(screened.decode())) == 2
    assert Cdr.objects.get(flow_no=7002).pdd_ms is None
    assert Cdr.objects.get(call_id="with-pdd").pdd_ms == 2300


def test_rows_that_are_not_cdrs_are_written_as_they_are() -> None:
    """The registrations' COPY shares the CSV format: only CDR rows of an older length are
    completed (padding a 6-value row broke every REGISTER's database write)."""
    line = rows_to_csv([(1, "sip:1001@127.0.0.1", None, "udp", 2, "n1")]).getvalue()
    assert line == '1,"sip:1001@127.0.0.1","\\N","udp",2,"n1"\n'
