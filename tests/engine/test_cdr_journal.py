"""CDRs go through a local journal: written once, kept while the database refuses, replayed
without duplicates."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError

from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.flow_numbers import FlowNumberGenerator
from billing.ingest import CdrRow, Inserted, rows_to_csv
from billing.models import Cdr
from softswitch.choices import CurrentCallStateChoices
from softswitch.engine import cdr_journal
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.cdr_writer import CdrWriter
from softswitch.engine.store import close_connection, write_cdr_batch
from softswitch.models import CurrentCall
from softswitch.redis_keys import CAPACITY_IN_USE_KEY
from softswitch.rules.cdr import CallRecord, cdr_row
from softswitch.rules.charging import unrated
from tests.engine.harness import requires_sipp, run_sipp, sipp_finished, wait_for
from tests.engine.test_calls import (
    CUSTOMER_IP,
    call,
    cdr,
    customer,
    gateway_uas,
    routing_gateway,
)

__all__ = ["customer"]  # a fixture of the engine tests, used here too

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def cdr_rows(count: int, start: datetime = START) -> list[CdrRow]:
    flow = FlowNumberGenerator(5)
    return [
        CdrRow(
            flow_no=flow.next(int(start.timestamp() * 1000)),
            call_id=f"call-{i}",
            caller="1001",
            callee="8613",
            caller_ip="127.0.0.1:5060",
            callee_ip="127.0.0.1:5090",
            mapping_gateway="",
            phone="1001",
            routing_gateway="GW",
            start_time=start,
            connect_time=start + timedelta(seconds=2),
            stop_time=start + timedelta(seconds=12),
            hold_time_ms=10_000,
            fee_time=10,
            fee=Decimal("0.01"),
            end_reason=200,
            end_direction=0,
            billing_mode=0,
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


def test_cdrs_journaled_during_a_write_wait_for_the_next_step(tmp_path, monkeypatch) -> None:
    """A flush writes what was pending when it began, however much that is (a backlog goes
    in batches of at most MAX_BATCH_BYTES); calls that end meanwhile wait for the next
    step, so that under load a batch holds an interval's CDRs, not one round trip's."""
    monkeypatch.setattr(cdr_journal, "MAX_BATCH_BYTES", 600)  # a few lines per batch
    journal = CdrJournal(tmp_path, "n1")
    rows = cdr_rows(12)
    for row in rows[:10]:
        journal.append(row)
    batches: list[int] = []

    def write(data: bytes) -> Inserted:
        batches.append(data.count(b"\n"))
        if len(batches) == 1:
            journal.append(rows[10])  # calls ending while the batch is written
            journal.append(rows[11])
        return write_cdr_batch(data)

    writer = CdrWriter(journal, ThreadPoolExecutor(1), write)
    assert flush(writer) and len(batches) > 1  # the ten pending lines, in several batches
    assert Cdr.objects.count() == sum(batches) < 12 and journal.has_pending()
    assert flush(writer) and Cdr.objects.count() == 12 and not journal.has_pending()


def test_outage_keeps_cdrs_and_recovery_writes_them(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    outage = True

    def write(data: bytes) -> Inserted:
        if outage:
            raise OperationalError("server closed the connection unexpectedly")
        return write_cdr_batch(data)

    recoveries: list[bool] = []
    writer = CdrWriter(
        journal, ThreadPoolExecutor(1), write, on_recovered=lambda: recoveries.append(True)
    )
    for row in cdr_rows(20):
        journal.append(row)
    assert not flush(writer) and writer.database_down
    assert journal.has_pending() and Cdr.objects.count() == 0
    outage = False
    assert flush(writer) and not writer.database_down
    assert Cdr.objects.count() == 20
    # the failed batch might have been committed: the engine reloads every balance, once
    assert recoveries == [True]
    journal.append(cdr_rows(1, start=START + timedelta(hours=2))[0])
    assert flush(writer) and recoveries == [True]


def test_replay_after_a_crash_before_the_offset_write_adds_nothing_twice(tmp_path) -> None:
    journal = CdrJournal(tmp_path, "n1")
    rows = cdr_rows(10)
    for row in rows:
        journal.append(row)
    end = journal.sync()
    data, _ = journal.read_pending(end)
    assert write_cdr_batch(data).rows == 10  # committed, then the process dies before commit()
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


def journal_lines(rows: list[CdrRow]) -> bytes:
    return rows_to_csv(rows).getvalue().encode()


def test_a_torn_tail_is_quarantined_and_later_cdrs_still_arrive(tmp_path, caplog) -> None:
    """Power loss or a full disk cut the last line: the fragment goes to the quarantine file
    (logged at ERROR with its path) and the CDRs journaled after it reach the database."""
    before, after = cdr_rows(3), cdr_rows(2, start=START + timedelta(hours=1))
    whole = journal_lines(before)
    torn = journal_lines(cdr_rows(1, start=START + timedelta(minutes=5)))[:40]
    (tmp_path / "cdr-n1.csv").write_bytes(whole + torn)
    journal = CdrJournal(tmp_path, "n1")
    for row in after:
        journal.append(row)
    assert flush(CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch))
    assert Cdr.objects.count() == 5 and not journal.has_pending()
    assert journal.quarantine_path == tmp_path / "cdr-n1.quarantine"
    assert journal.quarantine_path.read_bytes() == torn + b"\n"
    logged = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any(str(journal.quarantine_path) in r.getMessage() for r in logged)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x00\x00\x00\x00\x00",
        b'1,"call-x","1001"',
        b'12,"unterminated',
        b"not a cdr at all",
        b'x,"call-x","1001","8613","","","","","","2026-11-26 10:00:00+00:00",\\N,'
        b'"2026-11-26 10:00:01+00:00",0,0,"0.00",200,0,0',
        b'5,"call-x","1001","8613","","","","","","yesterday",\\N,'
        b'"2026-11-26 10:00:01+00:00",0,0,"0.00",200,0,0',
    ],
    ids=["zeros", "short", "open-quote", "text", "bad-flow-number", "bad-time"],
)
def test_a_garbage_line_in_the_middle_is_quarantined_not_blocking(tmp_path, garbage) -> None:
    before, after = cdr_rows(2), cdr_rows(2, start=START + timedelta(hours=1))
    (tmp_path / "cdr-n1.csv").write_bytes(
        journal_lines(before) + garbage + b"\n" + journal_lines(after)
    )
    journal = CdrJournal(tmp_path, "n1")
    writer = CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch)
    assert flush(writer) and writer.written == 4
    assert Cdr.objects.count() == 4 and not journal.has_pending()
    assert journal.quarantine_path.read_bytes() == garbage + b"\n"


@pytest.mark.parametrize(
    "values",
    [
        {"fee": Decimal("10000000000")},
        {"cost": Decimal("-10000000000.5")},
        {"fee": Decimal("NaN")},
        {"fee_time": 2**31},
        {"hold_time_ms": 2**63},
        {"end_direction": 2**15},
        {"pdd_ms": -(2**31) - 1},
        {"account_id": 2**63},
        {"flow_no": 2**63},
    ],
    ids=lambda values: next(iter(values)),
)
def test_a_cdr_the_columns_cannot_hold_is_quarantined_not_blocking(tmp_path, values) -> None:
    """A value past its column's range (a fee of 10^10, a smallint of 2^15) made every COPY
    fail with "numeric field overflow", which the writer took for an outage: no CDR was
    written, and no fee charged, from then on."""
    before, after = cdr_rows(2), cdr_rows(2, start=START + timedelta(hours=1))
    bad = journal_lines([before[0]._replace(call_id="too-big", **values)])
    (tmp_path / "cdr-n1.csv").write_bytes(journal_lines(before) + bad + journal_lines(after))
    journal = CdrJournal(tmp_path, "n1")
    writer = CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch)
    assert flush(writer) and writer.written == 4
    assert Cdr.objects.count() == 4 and not journal.has_pending()
    assert journal.quarantine_path.read_bytes() == bad


def test_a_line_is_quarantined_once_even_while_the_database_is_down(tmp_path) -> None:
    outage = True

    def write(data: bytes) -> Inserted:
        if outage:
            raise OperationalError("server closed the connection unexpectedly")
        return write_cdr_batch(data)

    (tmp_path / "cdr-n1.csv").write_bytes(b"garbage\n" + journal_lines(cdr_rows(2)))
    journal = CdrJournal(tmp_path, "n1")
    writer = CdrWriter(journal, ThreadPoolExecutor(1), write)
    assert not flush(writer) and not flush(writer)
    outage = False
    assert flush(writer) and Cdr.objects.count() == 2
    assert journal.quarantine_path.read_bytes() == b"garbage\n"


def test_a_number_with_a_line_break_stays_one_journal_line(tmp_path) -> None:
    """A caller ID is attacker-controlled (%0A in a From URI): it must neither split a CDR
    in two (both halves quarantined, the CDR lost) nor let the second half pass as a CDR."""
    (row,) = cdr_rows(1)
    journal = CdrJournal(tmp_path, "n1")
    journal.append(row._replace(caller='10\n1,"forged",\r"x'))
    assert journal.sync() == journal.path.stat().st_size
    assert journal.path.read_bytes().count(b"\n") == 1
    assert flush(CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch))
    assert Cdr.objects.get().caller == '10%0A1,"forged",%0D"x'


@requires_sipp
def test_the_engine_starts_on_a_torn_journal_and_its_cdrs_still_arrive(
    engine_factory, customer, tmp_path
) -> None:
    whole = journal_lines(cdr_rows(2))
    torn = journal_lines(cdr_rows(1, start=START + timedelta(minutes=5)))[:57]
    (tmp_path / "cdr-test-node.csv").write_bytes(whole + torn)
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor)
    # one node: the journal written above is its own
    runner = engine_factory(env={"SIP_SPOOL_DIR": str(tmp_path), "SIP_WORKERS": "1"})
    assert call(runner, "8613800000031").outcome() == "ANSWERED"
    sipp_finished(uas)
    assert cdr(callee="8613800000031").end_reason == 200
    assert Cdr.objects.count() == 3
    assert (tmp_path / "cdr-test-node.quarantine").read_bytes() == torn + b"\n"
    assert f"moved to {tmp_path / 'cdr-test-node.quarantine'}" in runner.log()


def engine_restart_cdrs() -> Any:
    return Cdr.objects.filter(end_reason=Reason.ENGINE_RESTART)


@requires_sipp
def test_answered_calls_of_a_killed_engine_get_one_cdr_each_after_restarts(
    engine_factory, customer, tmp_path, redis_client
) -> None:
    """kill -9 with answered calls up: the next start bills each of them once, ended by the
    server for "engine restart" at the last moment the dead engine was known alive."""
    calls = 5
    vendor = routing_gateway("VENDOR", ["86"], capacity=2 * calls)  # its lines are counted
    uas = gateway_uas(vendor, calls=calls)
    spool = {"SIP_SPOOL_DIR": str(tmp_path)}
    runner = engine_factory(env=spool)
    callers = run_sipp(
        "uac_gateway_call_wait.xml",
        runner.address,
        rows=[f"2125550100;86138{i:08d};" for i in range(calls)],
        local_ip=CUSTOMER_IP,
        calls=calls,
        timeout=60,
        background=True,
    )
    connected = CurrentCall.objects.filter(state=CurrentCallStateChoices.CONNECTED)
    wait_for(lambda: connected.count() == calls, timeout=15)
    time.sleep(1.5)  # a little hold time, and heartbeats after the answers
    killed = time.time()
    runner.kill()
    for peer in (callers, uas):
        peer.kill()
    engine_factory(env=spool).stop()
    restarted = engine_factory(env=spool)
    wait_for(lambda: engine_restart_cdrs().count() >= calls, timeout=15)
    restarted.stop()
    engine_factory(env=spool)
    time.sleep(1)
    assert Cdr.objects.count() == engine_restart_cdrs().count() == calls
    assert engine_restart_cdrs().values("call_id").distinct().count() == calls
    for record in engine_restart_cdrs():
        assert record.end_direction == Direction.SERVER
        assert record.connect_time is not None
        assert record.connect_time <= record.stop_time <= at(killed + 2)
        assert record.stop_time >= at(killed - 1.5)  # the heartbeat ran while the calls were up
        held = record.stop_time - record.connect_time
        assert abs(held - timedelta(milliseconds=record.hold_time_ms)) < timedelta(milliseconds=1)
    assert not redis_client.hgetall(CAPACITY_IN_USE_KEY)  # the dead run's lines are back


def at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def answered_record(flow_no: int) -> CallRecord:
    start = START.timestamp()
    return CallRecord(
        call_id=f"call-{flow_no}",
        caller="1001",
        callee="8613",
        caller_ip="127.0.0.2:5060",
        billing_mode=1,
        start_time=start,
        connect_time=start + 2,
        flow_no=flow_no,
    )


def test_only_calls_without_a_journaled_cdr_are_left_open_and_only_once(tmp_path) -> None:
    """Killed after a call's CDR was journaled but before its close was written: that call is
    not billed again; a call still up is, and after forgetting, never twice."""
    journal = CdrJournal(tmp_path, "n1")
    up, ended, closed = (answered_record(n) for n in (101, 102, 103))
    for record in (up, ended, closed):
        journal.open_calls.opened(record)
    for record in (closed, ended):
        journal.append(cdr_row(record, record.flow_no, unrated(record, 2)))
        journal.open_calls.closed(record.flow_no)
        if record is closed:  # a writer round: fsync, then the close is written
            journal.flush_buffer()
            journal.fsync()
            journal.synced()
    journal.close()  # killed before the next round: ended's close is lost, its CDR is not
    reopened = CdrJournal(tmp_path, "n1")
    assert reopened.calls_left_open() == [up]  # every field of the record comes back
    reopened.forget_calls_left_open()
    reopened.close()
    assert CdrJournal(tmp_path, "n1").calls_left_open() == []


def test_a_caller_that_was_not_utf8_comes_back_from_the_open_call_log(tmp_path) -> None:
    """The parser keeps header bytes that are not UTF-8 as lone surrogates, which orjson
    refuses: such a record is written by json instead and read back unchanged."""
    journal = CdrJournal(tmp_path, "n1")
    odd, plain = answered_record(201), answered_record(202)
    odd.caller = b"10\xff01".decode("utf-8", "surrogateescape")
    plain.routing_gateway = "GW-Ä"  # non-ASCII UTF-8: orjson's line
    journal.open_calls.opened(odd)
    journal.open_calls.opened(plain)
    journal.close()
    assert CdrJournal(tmp_path, "n1").calls_left_open() == [odd, plain]


def test_a_batch_of_garbage_only_is_set_aside_and_the_journal_compacted(tmp_path) -> None:
    (tmp_path / "cdr-n1.csv").write_bytes(b"garbage\nmore garbage\n")
    journal = CdrJournal(tmp_path, "n1")
    assert flush(CdrWriter(journal, ThreadPoolExecutor(1), write_cdr_batch))
    assert not journal.has_pending() and journal.path.stat().st_size == 0
    assert journal.quarantine_path.read_bytes() == b"garbage\nmore garbage\n"
