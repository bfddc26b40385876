"""Gateway reports (SPEC §10): hours summed from the CDRs, exactly; late CDRs correct their
hour; reruns change nothing; the management command rebuilds a range."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from billing.hours import floor_hour
from billing.ingest import CDR_COLUMNS, copy_csv_idempotent, rows_to_csv
from billing.models import MAX_CALL_FEE, Cdr, GatewayHour, PendingReportHour
from billing.partitions import ensure_cdr_partitions
from billing.reports import aggregate_pending, aggregate_range, rebuild, report_rows
from billing.tasks import aggregate_gateway_reports_task
from tests.billing.conftest import DAY, DAY_END, DAY_START, at, cdr, store
from tests.helpers import connect_to_test_database


def answered(name: str, hours: float, hold_s: int, pdd_ms: int | None, **fields) -> Cdr:
    return cdr(name, at(hours), hold_time_ms=hold_s * 1000, pdd_ms=pdd_ms, **fields)


def failed(name: str, hours: float, pdd_ms: int | None = None, **fields) -> Cdr:
    return cdr(name, at(hours), hold_time_ms=0, fee=0, fee_time=0, pdd_ms=pdd_ms, **fields)


# Hour 1: ACME → ALPHA twice answered, once failed after ringing; a phone call → BRAVO.
# Hour 2: ACME → BRAVO answered; an illegal call (no gateway on either side).
CDRS = [
    answered("a1", 1.1, 60, 1000, fee=Decimal("0.5000"), cost=Decimal("0.2000")),
    answered("a2", 1.5, 90, 3000, fee=Decimal("0.7500"), cost=Decimal("0.3000")),
    failed("a3", 1.7, pdd_ms=2000, end_reason=487),
    failed("a4", 1.8, mapping_gateway="", phone="1001", routing_gateway="VENDOR-BRAVO"),
    answered("b1", 2.2, 30, 800, routing_gateway="VENDOR-BRAVO", fee=Decimal("0.1000")),
    failed("x1", 2.3, mapping_gateway="", routing_gateway="", billing_mode=-2, end_reason=-1),
]


def journal(*cdrs: Cdr) -> int:
    """Insert CDRs as the engine's writer does (marking their hours)."""
    lines = rows_to_csv(tuple(getattr(c, column) for column in CDR_COLUMNS) for c in cdrs)
    with connection.cursor() as cursor:
        return copy_csv_idempotent(cursor.cursor, lines)


def stored_rows() -> list[tuple]:
    fields = ("side", "gateway", "period_start", "calls", "answered", "hold_time_ms")
    more = ("pdd_calls", "pdd_total_ms", "fee", "cost")
    return list(GatewayHour.objects.order_by(*fields[:3]).values_list(*fields, *more))


@pytest.fixture
def journaled(partitions) -> None:
    assert journal(*CDRS) == len(CDRS)


def test_the_writer_marks_the_hours_it_inserts_into(journaled) -> None:
    assert set(PendingReportHour.objects.values_list("hour", flat=True)) == {at(1), at(2)}


def test_hours_sum_the_cdrs_per_side(journaled) -> None:
    assert aggregate_pending(at(3)) == [at(1), at(2)]
    zero = Decimal(0)
    assert stored_rows() == [
        ("mapping", "GW-ACME", at(1), 3, 2, 150_000, 3, 6000, Decimal("1.25"), Decimal("0.5")),
        ("mapping", "GW-ACME", at(2), 1, 1, 30_000, 1, 800, Decimal("0.1"), zero),
        ("routing", "VENDOR-ALPHA", at(1), 3, 2, 150_000, 3, 6000, Decimal("1.25"), Decimal("0.5")),
        ("routing", "VENDOR-BRAVO", at(1), 1, 0, 0, 0, 0, zero, zero),
        ("routing", "VENDOR-BRAVO", at(2), 1, 1, 30_000, 1, 800, Decimal("0.1"), zero),
    ]
    assert not PendingReportHour.objects.exists()


def test_ratios_per_hour_and_per_day(journaled) -> None:
    aggregate_pending(at(3))
    mapping = GatewayHour.objects.filter(side="mapping")
    first_hour = report_rows(mapping, "hour")[0]
    assert (first_hour.calls, first_hour.answered, first_hour.asr) == (3, 2, Decimal("66.67"))
    assert (first_hour.acd, first_hour.pdd_ms, first_hour.minutes) == (
        Decimal("75.0"),
        2000,
        Decimal("2.50"),
    )
    assert first_hour.margin == Decimal("0.75")
    [day] = report_rows(mapping, "day")
    assert (day.gateway, day.period_start, day.calls, day.answered) == ("GW-ACME", DAY_START, 4, 3)
    assert (day.asr, day.acd, day.pdd_ms, day.minutes) == (
        Decimal("75.00"),
        Decimal("60.0"),
        1700,  # (1000 + 3000 + 2000 + 800) / 4
        Decimal("3.00"),
    )
    assert (day.fee, day.cost, day.margin) == (Decimal("1.35"), Decimal("0.5"), Decimal("0.85"))
    bravo = report_rows(GatewayHour.objects.filter(gateway="VENDOR-BRAVO"), "hour")[0]
    assert (bravo.asr, bravo.acd, bravo.pdd_ms) == (Decimal("0.00"), Decimal("0.0"), None)


def test_the_open_hour_waits_until_it_closes(journaled) -> None:
    assert aggregate_pending(at(2.5)) == [at(1)]
    assert set(GatewayHour.objects.values_list("period_start", flat=True)) == {at(1)}
    assert list(PendingReportHour.objects.values_list("hour", flat=True)) == [at(2)]


def test_a_late_cdr_corrects_its_hour_and_reruns_change_nothing(journaled) -> None:
    aggregate_pending(at(5))
    assert aggregate_pending(at(5)) == []  # nothing new: nothing recomputed
    late = answered("late", 1.9, 120, 500, fee=Decimal("1.0000"), cost=Decimal("0.4000"))
    assert journal(late) == 1  # an engine back from an outage, hours later
    assert journal(late) == 0  # its replay inserts nothing and marks nothing new
    assert aggregate_pending(at(5)) == [at(1)]
    acme = GatewayHour.objects.get(side="mapping", gateway="GW-ACME", period_start=at(1))
    assert (acme.calls, acme.answered, acme.hold_time_ms, acme.pdd_total_ms) == (
        4,
        3,
        270_000,
        6500,
    )
    assert (acme.fee, acme.cost) == (Decimal("2.25"), Decimal("0.9"))
    before = stored_rows()
    aggregate_range(DAY_START, DAY_END)
    aggregate_range(DAY_START, DAY_END)
    assert stored_rows() == before


def test_the_beat_task_is_scheduled_and_runs(journaled, settings) -> None:
    from vosadmin.core.schedules import SCHEDULES

    assert any(s.task.endswith("aggregate_gateway_reports_task") for s in SCHEDULES)
    assert aggregate_gateway_reports_task.apply().get() == [
        f"{at(1):%Y-%m-%dT%H:00Z}",
        f"{at(2):%Y-%m-%dT%H:00Z}",
    ]


def test_command_rebuilds_a_range_of_bulk_loaded_cdrs(partitions) -> None:
    store(*CDRS)  # a bulk load: no hours marked
    assert not PendingReportHour.objects.exists()
    out = io.StringIO()
    call_command("aggregate_reports", "--start", "2025-03-10", "--end", "2025-03-11", stdout=out)
    assert "5 report rows" in out.getvalue()
    rows = stored_rows()
    GatewayHour.objects.filter(gateway="GW-ACME").update(calls=99)  # damaged rows are repaired
    call_command("aggregate_reports", "--start", "2025-03-10T00:30", "--end", "2025-03-10T03:00")
    assert stored_rows() == rows


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("yesterday", "2025-03-11", "is not a date"),
        ("2025-03-11", "2025-03-10", "--start must be before --end"),
    ],
)
def test_command_refuses_bad_ranges(db, start: str, end: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("aggregate_reports", "--start", start, "--end", end)


def test_a_day_of_hours_stays_within_its_range(partitions) -> None:
    """Only the hours asked for are rewritten; rows outside the range are kept."""
    journal(*CDRS)
    aggregate_range(DAY_START, DAY_END)
    journal(failed("next-day", 25.5))
    aggregate_range(at(25), at(26))
    assert GatewayHour.objects.filter(period_start__lt=DAY_END).count() == 5
    assert GatewayHour.objects.filter(period_start=at(25)).count() == 2


def test_an_hour_of_the_dearest_calls_is_reported_and_so_are_the_hours_after(
    partitions, viewer_api
) -> None:
    """10,001 calls at the most a CDR holds (MAX_CALL_FEE) in one gateway-hour: more than
    10^14, which the report row's fee could not hold — the hour failed with 'numeric field
    overflow' on every run, and no later hour was ever reported."""
    store(*[cdr(f"dear-{i}", at(1.5), fee=MAX_CALL_FEE) for i in range(10_001)])
    store(cdr("after", at(3.5), mapping_gateway="GW-OTHER", fee=Decimal("0.0250")))
    PendingReportHour.objects.bulk_create([PendingReportHour(hour=at(h)) for h in (1, 3)])
    aggregate_pending(at(5))
    fees = dict(GatewayHour.objects.filter(side="mapping").values_list("period_start", "fee"))
    assert fees == {at(1): MAX_CALL_FEE * 10_001, at(3): Decimal("0.0250")}
    day = {"side": "mapping", "granularity": "day", "start": DAY_START.isoformat()}
    response = viewer_api.get("/api/v1/reports/gateways/", {**day, "end": DAY_END.isoformat()})
    assert response.status_code == 200, response.content
    assert f"{MAX_CALL_FEE * 10_001:.4f}" in {row["fee"] for row in response.json()["results"]}


def test_generated_cdrs_have_a_plausible_pdd() -> None:
    """Answered calls rang before their answer, busy and unrouted calls have none."""
    from billing.generation import generate_rows

    index = {column: position for position, column in enumerate(CDR_COLUMNS)}
    rows = list(generate_rows(3000, 1, DAY_END, seed=15))
    answered = [row for row in rows if row[index["connect_time"]] is not None]
    for row in answered:
        waited = row[index["connect_time"]] - row[index["start_time"]]
        assert 300 <= row[index["pdd_ms"]] <= waited.total_seconds() * 1000
    busy = [row for row in rows if row[index["end_reason"]] in (486, 503, -1)]
    assert busy and all(row[index["pdd_ms"]] is None for row in busy)
    cancelled = [row for row in rows if row[index["end_reason"]] == 487]
    assert cancelled and all(row[index["pdd_ms"]] is not None for row in cancelled)


def test_command_keeps_the_reports_of_days_whose_cdrs_are_gone(partitions) -> None:
    """Retention drops CDR partitions, not report rows: a rebuild over such days keeps them."""
    store(*CDRS)
    aggregate_range(DAY_START, DAY_END)
    rows = stored_rows()
    out = io.StringIO()
    call_command("aggregate_reports", "--start", "2025-03-01", "--end", "2025-03-11", stdout=out)
    assert "2025-03-01 UTC: no CDRs kept for this day, reports kept" in out.getvalue()
    assert stored_rows() == rows
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE billing_cdr DETACH PARTITION billing_cdr_p20250310")
    call_command("aggregate_reports", "--start", "2025-03-10", "--end", "2025-03-11", stdout=out)
    assert stored_rows() == rows


@pytest.mark.django_db(transaction=True)
def test_a_cdr_committed_while_its_hour_is_recomputed_is_counted_by_the_next_run() -> None:
    """A writer that found its hour already marked, and commits after a recompute of that hour
    unmarked it and summed the hour without its CDR, must leave the hour marked again."""
    ensure_cdr_partitions(DAY - timedelta(days=1), DAY + timedelta(days=1))
    with transaction.atomic():
        assert journal(answered("before", 1.1, 60, 1000)) == 1
    writer = connect_to_test_database()
    writer.autocommit = False
    try:
        with writer.cursor() as cursor:
            lines = rows_to_csv(
                [tuple(getattr(answered("during", 1.2, 30, 500), column) for column in CDR_COLUMNS)]
            )
            assert copy_csv_idempotent(cursor, lines) == 1  # not committed yet
        assert aggregate_pending(at(3)) == [at(1)]  # does not see "during"
        writer.commit()
    finally:
        writer.close()
    aggregate_pending(at(3))
    hour = GatewayHour.objects.get(side="mapping", period_start=at(1))
    assert (hour.calls, hour.hold_time_ms) == (2, 90_000)


def test_hours_and_days_are_those_of_a_half_hour_time_zone(partitions, settings) -> None:
    """Asia/Kolkata is UTC+5:30: its hours start at :30 past UTC hours, and 23:50 and 00:10
    there are two days, not one UTC hour."""
    settings.TIME_ZONE = "Asia/Kolkata"
    journal(answered("late", 18 + 20 / 60, 60, 900), answered("early", 18 + 40 / 60, 30, 700))
    assert aggregate_pending(at(20)) == [at(17.5), at(18.5)]
    mapping = GatewayHour.objects.filter(side="mapping")
    hours = report_rows(mapping, "hour")
    assert [(row.period_start, row.calls) for row in hours] == [(at(17.5), 1), (at(18.5), 1)]
    days = report_rows(mapping, "day")
    assert [(row.period_start, row.calls) for row in days] == [(at(-5.5), 1), (at(18.5), 1)]
    assert list(rebuild(at(17.5), at(19.5))) == [(at(17.5), 2), (at(18.5), 2)]
    assert [(row.period_start, row.calls) for row in report_rows(mapping, "hour")] == [
        (at(17.5), 1),
        (at(18.5), 1),
    ]


def test_a_quarter_hour_time_zone_reports_its_own_hours_and_days(partitions, settings) -> None:
    """Asia/Kathmandu is UTC+5:45: its midnight is 18:15 UTC, so its hours start at :15."""
    settings.TIME_ZONE = "Asia/Kathmandu"
    midnight = at(18.25)  # 2025-03-11 00:00 there
    assert floor_hour(midnight) == midnight
    journal(answered("late", 18.25 - 10 / 60, 60, 900), answered("early", 18.25 + 10 / 60, 30, 700))
    aggregate_pending(at(22))
    days = report_rows(GatewayHour.objects.filter(side="mapping"), "day")
    assert [(row.period_start, row.calls) for row in days] == [(at(-5.75), 1), (midnight, 1)]
    steps = list(rebuild(at(-5.75), at(42.25)))  # two of its days, one transaction each
    assert [start for start, _ in steps] == [at(-5.75), midnight]
    again = report_rows(GatewayHour.objects.filter(side="mapping"), "day")
    assert [(row.period_start, row.calls) for row in again] == [(at(-5.75), 1), (midnight, 1)]


def test_marks_of_other_hours_recompute_the_report_hours_they_overlap(partitions, settings):
    """A mark on a whole UTC hour (written before report hours followed the time zone, or
    under another zone) in Asia/Kolkata: the hours it overlaps are recomputed, once each."""
    settings.TIME_ZONE = "Asia/Kolkata"
    store(cdr("a", at(10 + 40 / 60)), cdr("b", at(11 + 10 / 60)))  # both in the 10:30 hour
    PendingReportHour.objects.bulk_create(
        [PendingReportHour(hour=at(10)), PendingReportHour(hour=at(11))]
    )
    aggregate_pending(at(13))
    rows = GatewayHour.objects.filter(side="mapping").values_list("period_start", "calls")
    assert list(rows) == [(at(10.5), 2)]
    assert not PendingReportHour.objects.exists()


def test_a_rebuild_in_a_zone_whose_minutes_change_with_the_season(db, settings) -> None:
    """Australia/Lord_Howe is +11 in (its) summer and +10:30 in winter: report hours keep the
    summer's minutes, and a winter rebuild must still not insert an hour twice."""
    settings.TIME_ZONE = "Australia/Lord_Howe"
    july = date(2025, 7, 10)
    ensure_cdr_partitions(july - timedelta(days=1), july + timedelta(days=2))
    store(cdr("a", at(13 + 20 / 60, july)), cdr("b", at(13 + 40 / 60, july)))
    list(rebuild(at(-10.5, july), at(37.5, july)))
    assert sum(GatewayHour.objects.filter(side="mapping").values_list("calls", flat=True)) == 2
