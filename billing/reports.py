"""Gateway reports (SPEC §10, VOS3000 *Data report → Gateway report*): CDRs summed per
mapping gateway and per routing gateway and hour into `GatewayHour`, read per hour or per day.

Aggregation (docs/adr/0007-gateway-reports.md): an hour's rows are always recomputed whole
from its CDRs (delete and insert in one transaction), so any run is idempotent and a rerun
gives the same rows. Which hours to recompute: the CDR writer marks the hours of the CDRs it
inserts in `PendingReportHour` (billing.ingest, same transaction as the CDRs), and the beat
task recomputes every closed hour so marked, then deletes the marks it saw — a CDR that
arrives late marks its old hour again, which the next run corrects. Bulk loads
(`generate_cdrs`, imports) do not mark: `manage.py aggregate_reports --start … --end …`
rebuilds their range.

Reading: a day is the sum of its hours (the console's time zone), ratios are computed from the
sums — ASR = answered / calls, ACD = hold time / answered, PDD = average of the calls that
had one — and a 30-day report reads 720 rows per gateway, never a CDR.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.db.models.functions import Trunc

from billing.hours import HOUR, HOUR_OF_START, ceil_day, ceil_hour, floor_hour, hour_shift
from billing.models import GatewayHour, PendingReportHour
from billing.partitions import existing_partition_days

MICROSECOND = timedelta(microseconds=1)
TABLE = GatewayHour._meta.db_table
PENDING_TABLE = PendingReportHour._meta.db_table
LOCK_KEY = 4_210_002  # pg_advisory_xact_lock key (billing.partitions has 4_210_001)
SUMMED = ("calls", "answered", "hold_time_ms", "pdd_calls", "pdd_total_ms", "fee", "cost")
# One scan of the range's CDRs gives both sides (GROUPING SETS); CDRs without a gateway on a
# side (phones, illegal calls, calls never routed) count only on the other side.
AGGREGATE = f"""
INSERT INTO {TABLE} (side, gateway, period_start, {", ".join(SUMMED)})
SELECT side, gateway, hour, calls, answered, hold_time_ms, pdd_calls, pdd_total_ms, fee, cost
FROM (
    SELECT
        CASE WHEN GROUPING(mapping_gateway) = 0 THEN 'mapping' ELSE 'routing' END AS side,
        COALESCE(mapping_gateway, routing_gateway) AS gateway,
        {HOUR_OF_START} AS hour,
        count(*) AS calls,
        count(connect_time) AS answered,
        sum(hold_time_ms) AS hold_time_ms,
        count(pdd_ms) AS pdd_calls,
        COALESCE(sum(pdd_ms), 0) AS pdd_total_ms,
        sum(fee) AS fee,
        sum(cost) AS cost
    FROM billing_cdr
    WHERE start_time >= %(start)s AND start_time < %(end)s
    GROUP BY GROUPING SETS (
        ({HOUR_OF_START}, mapping_gateway),
        ({HOUR_OF_START}, routing_gateway)
    )
) AS summed
WHERE gateway <> ''
"""


def aggregate_range(start: datetime, end: datetime) -> int:
    """Recompute the report rows of every report hour that [start, end) overlaps from the
    CDRs, in one transaction, and delete those hours' marks; returns the rows written.

    The marks are deleted before the CDRs are summed, and each statement sees what committed
    before it started: a writer whose mark the DELETE cannot see (not committed yet) keeps it,
    and the next run sums its CDRs; one whose mark it deletes committed its CDRs before the sum.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # One recompute at a time (beat and the command may overlap): a second one waits, then
        # sees the first one's rows and replaces them, rather than inserting beside them.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        bounds = {"start": floor_hour(start), "end": ceil_hour(end), "shift": hour_shift()}
        cursor.execute(
            f"DELETE FROM {PENDING_TABLE} WHERE hour >= %(start)s AND hour < %(end)s", bounds
        )
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE period_start >= %(start)s AND period_start < %(end)s",
            bounds,
        )
        cursor.execute(AGGREGATE, bounds)
        return cursor.rowcount


def mark_hours(start: datetime, end: datetime) -> None:
    """Mark every hour of [start, end) for recomputing, as the CDR writer marks the hours it
    inserts into: what bulk loads that bypass the writer (generated CDRs) call."""
    hours, hour = [], floor_hour(start)
    while hour < end:
        hours.append(PendingReportHour(hour=hour))
        hour += HOUR
    PendingReportHour.objects.bulk_create(hours)


def aggregate_pending(now: datetime) -> list[datetime]:
    """Recompute every closed hour (ended by `now`) that received CDRs since it was last
    computed, oldest first, each in its own short transaction; returns those hours.

    The open hour stays marked until it closes. A writer inserting into an hour while it is
    recomputed either committed first (its CDRs are counted) or its mark outlives the recompute
    (the next run counts them): no CDR is missed (`aggregate_range`).
    """
    closed = floor_hour(now)
    hours = list(
        PendingReportHour.objects.filter(hour__lt=closed)
        .order_by("hour")
        .values_list("hour", flat=True)
        .distinct()
    )
    for hour in hours:
        aggregate_range(hour, hour + HOUR)
    return hours


def rebuild(start: datetime, end: datetime) -> Iterator[tuple[datetime, int | None]]:
    """Recompute [start, end) rounded out to whole hours, a day of the console's time zone per
    transaction; yields each day's start and the rows written (for progress output) — None for
    a day that has lost CDRs to retention (a UTC day it overlaps has no partition), whose
    report rows are kept, not erased."""
    cursor, end = floor_hour(start), ceil_hour(end)
    stored = set(existing_partition_days())
    while cursor < end:
        stop = min(ceil_hour(ceil_day(cursor + HOUR)), end)
        whole = all(day in stored for day in utc_days(cursor, stop))
        yield cursor, aggregate_range(cursor, stop) if whole else None
        cursor = stop


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days (CDR partitions) that [start, end) overlaps."""
    first, last = start.astimezone(UTC).date(), (end - MICROSECOND).astimezone(UTC).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


# The columns of a report row, in the API's JSON, the CSV file and the page's table.
REPORT_COLUMNS = (
    "gateway",
    "period_start",
    "calls",
    "answered",
    "asr",
    "acd",
    "pdd_ms",
    "minutes",
    "fee",
    "cost",
    "margin",
)
# What the page's chart can show, per gateway and period.
CHART_METRICS = ("calls", "asr", "acd", "pdd_ms", "minutes", "margin")
CHART_GATEWAYS = 8  # the busiest; more lines than this are unreadable


@dataclass(frozen=True)
class ReportRow:
    """One gateway over one period, with the ratios the report shows."""

    gateway: str
    period_start: datetime
    calls: int
    answered: int
    hold_time_ms: int
    pdd_calls: int
    pdd_total_ms: int
    fee: Decimal
    cost: Decimal

    @property
    def asr(self) -> Decimal:
        """Answer-seizure ratio: answered calls in percent of calls."""
        return _ratio(self.answered * 100, self.calls, "0.01")

    @property
    def acd(self) -> Decimal:
        """Average call duration of the answered calls, in seconds."""
        return _ratio(self.hold_time_ms, self.answered * 1000, "0.1")

    @property
    def pdd_ms(self) -> int | None:
        """Average post-dial delay of the calls that rang or answered; None if none did."""
        return round(self.pdd_total_ms / self.pdd_calls) if self.pdd_calls else None

    @property
    def minutes(self) -> Decimal:
        """Answered time in minutes."""
        return _ratio(self.hold_time_ms, 60_000, "0.01")

    @property
    def margin(self) -> Decimal:
        """Fee minus cost."""
        return self.fee - self.cost


def _ratio(numerator: int, denominator: int, places: str) -> Decimal:
    if not denominator:
        return Decimal(places) * 0
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(places))


def report_rows(hours: QuerySet[GatewayHour], granularity: str) -> list[ReportRow]:
    """The filtered hours per gateway and `granularity` ("hour": the rows as they are; "day":
    summed per day of the console's time zone), by period then gateway."""
    if granularity == "hour":
        rows = hours.order_by("period_start", "gateway").values_list(
            "gateway", "period_start", *SUMMED
        )
    else:
        rows = (
            hours.annotate(period=Trunc("period_start", granularity))
            .values("gateway", "period")
            .annotate(**{name: Sum(name) for name in SUMMED})
            .order_by("period", "gateway")
            .values_list("gateway", "period", *SUMMED)
        )
    return [ReportRow(*row) for row in rows]


def chart_data(rows: list[ReportRow]) -> dict:
    """The report's rows as the page's chart reads them (static/js/gateway_report.js): the
    periods (Unix seconds) and, per gateway of the CHART_GATEWAYS busiest, each metric's
    value per period (None where the gateway had no call)."""
    periods = sorted({row.period_start for row in rows})
    index = {period: position for position, period in enumerate(periods)}
    by_gateway: dict[str, list[ReportRow]] = {}
    for row in rows:
        by_gateway.setdefault(row.gateway, []).append(row)
    busiest = sorted(by_gateway, key=lambda name: -sum(row.calls for row in by_gateway[name]))
    series = []
    for gateway in busiest[:CHART_GATEWAYS]:
        values: dict[str, list] = {metric: [None] * len(periods) for metric in CHART_METRICS}
        for row in by_gateway[gateway]:
            for metric in CHART_METRICS:
                value = getattr(row, metric)
                values[metric][index[row.period_start]] = None if value is None else float(value)
        series.append({"gateway": gateway, **values})
    return {"periods": [int(period.timestamp()) for period in periods], "series": series}
