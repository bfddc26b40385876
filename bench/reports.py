"""Gateway report benchmark (issue 15): `make bench-reports`, never part of `make test`.

Works in its own database, `vosadmin_reportbench`, on the PostgreSQL server that DATABASE_URL
names (the embedded one under `make`), so it never touches development or test data. It
measures:

1. aggregation: `--count` generated CDRs (500,000 unless told otherwise) over one closed day,
   their hours marked as the engine's CDR writer marks them, then the beat task's
   `aggregate_pending` (every hour recomputed, one transaction each), and the same day again
   through `rebuild` (what `manage.py aggregate_reports` runs);
2. the report query: the report rows of that day copied over `--history` days — report rows
   depend on gateways and hours, not on how many CDRs there were — with the generator's
   gateways (4 mapping, 3 routing: the 10 M-CDR bench database's), then under `--copies`
   names per gateway as well; `/api/v1/reports/gateways/` over 30 days, in-process through
   the real view (p50 / p95 / p99 of `--samples` requests).

It prints a Markdown report for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cdr_query import (  # noqa: E402 - after the path is set
    bench_database_url,
    create_bench_database,
    percentiles,
    postgres_version,
    setup_django,
    time_requests,
    viewer_token,
)

BENCH_DATABASE = "vosadmin_reportbench"


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500_000, help="CDRs to aggregate")
    parser.add_argument("--copies", type=int, default=25, help="names per generated gateway")
    parser.add_argument("--history", type=int, default=90, help="days of report rows")
    parser.add_argument("--samples", type=int, default=300, help="requests per query figure")
    return parser.parse_args()


def fill(count: int, report: Callable[[str], None]) -> datetime:
    """`count` CDRs over the last closed day, their hours marked; returns that day's end."""
    from django.db import connection

    from billing.generation import generate_cdrs
    from billing.hours import floor_hour

    end = floor_hour(datetime.now(UTC)) - timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_cdr, billing_gatewayhour, billing_pendingreporthour")
    started = time.monotonic()
    generate_cdrs(count, days=1, end=end, seed=2025)
    report(f"- generated {count:,} CDRs over 24 hours in {time.monotonic() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_cdr")  # generate_cdrs marked the hours
    return end


def report_aggregation(count: int, end: datetime, report: Callable[[str], None]) -> None:
    """The beat task's run over the marked hours, then a rebuild of the same day."""
    from billing.models import GatewayHour
    from billing.reports import aggregate_pending, rebuild

    started = time.monotonic()
    hours = aggregate_pending(datetime.now(UTC))
    elapsed = time.monotonic() - started
    rows = GatewayHour.objects.count()
    report(
        f"- beat task (`aggregate_pending`), {len(hours)} marked hours, one transaction each: "
        f"**{elapsed:.2f} s** for {count:,} CDRs ({count / elapsed:,.0f} CDRs/s), "
        f"{rows} report rows"
    )
    started = time.monotonic()
    written = sum(rows or 0 for _, rows in rebuild(end - timedelta(days=1), end))
    elapsed = time.monotonic() - started
    report(
        f"- `aggregate_reports` over the same 24 hours (a UTC day per transaction): "
        f"**{elapsed:.2f} s** "
        f"({count / elapsed:,.0f} CDRs/s), {written} report rows"
    )


def copy_rows(end: datetime, history: int, copies: int) -> str:
    """Copy the aggregated day's rows over `history` days; with `copies`, under that many new
    names per gateway (`GW-ACME-1`…); returns how many gateways and rows there are now."""
    from django.db import connection

    name, first = ("gateway || '-' || copy", 0) if copies else ("gateway", 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_gatewayhour (side, gateway, period_start, calls, answered, "
            "hold_time_ms, pdd_calls, pdd_total_ms, fee, cost) "
            f"SELECT side, {name}, period_start - make_interval(days => day), "
            "calls, answered, hold_time_ms, pdd_calls, pdd_total_ms, fee, cost "
            "FROM billing_gatewayhour AS base, "
            "generate_series(%s, %s) AS day, generate_series(1, %s) AS copy "
            "WHERE period_start >= %s",
            [first, history - 1, max(copies, 1), end - timedelta(days=1)],
        )
        cursor.execute("VACUUM ANALYZE billing_gatewayhour")
        cursor.execute(
            "SELECT side, count(DISTINCT gateway), count(*) FROM billing_gatewayhour GROUP BY side"
        )
        sides = {side: (gateways, rows) for side, gateways, rows in cursor.fetchall()}
    total = sum(rows for _, rows in sides.values())
    return (
        f"{sides['mapping'][0]} mapping and {sides['routing'][0]} routing gateways, "
        f"{history} days: {total:,} hour rows"
    )


def thirty_days(end: datetime, **extra: str) -> Iterator[dict[str, Any]]:
    """A 30-day range ending on a random day of the history, forever (repeatably)."""
    rng = random.Random(15)
    while True:
        last = end - timedelta(days=rng.randrange(0, 30))
        yield {"start": (last - timedelta(days=30)).isoformat(), "end": last.isoformat(), **extra}


def time_reports(
    api: Any, end: datetime, figures: list[tuple[str, dict, int]], report: Callable[[str], None]
) -> None:
    """p50/p95/p99 of each figure's 30-day reports (label, parameters, requests)."""
    url = "/api/v1/reports/gateways/"
    time_requests(api, url, thirty_days(end), 5)  # warm-up
    for label, params, samples in figures:
        durations = time_requests(api, url, thirty_days(end, **params), samples)
        rows = len(api.get(url, next(thirty_days(end, **params))).json()["results"])
        report(f"- {label}, {rows:,} rows ({samples} requests): {percentiles(durations)}")


def report_queries(
    token: str, end: datetime, arguments: argparse.Namespace, report: Callable[[str], None]
) -> None:
    """30-day reports with the generator's gateways (the shape of the 10 M-CDR bench
    database), then with `--copies` names per gateway."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    samples, history = arguments.samples, arguments.history
    report("\n### 30-day gateway report, in-process through the API view\n")
    report(f"Report rows: {copy_rows(end, history, 0)} (the aggregated day, copied).\n")
    time_reports(
        api,
        end,
        [
            ("per day, every mapping gateway", {"granularity": "day"}, samples),
            ("per hour, every routing gateway", {"side": "routing"}, samples),
        ],
        report,
    )
    report(f"\nReport rows: {copy_rows(end, history, arguments.copies)}.\n")
    one = {"side": "routing", "gateway": "VENDOR-ALPHA-1"}
    time_reports(
        api,
        end,
        [
            ("per day, every mapping gateway", {"granularity": "day"}, max(samples // 3, 10)),
            ("per day, one routing gateway", {**one, "granularity": "day"}, samples),
            ("per hour, one routing gateway", one, samples),
        ],
        report,
    )


def main() -> None:
    arguments = parse_arguments()
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    # Before anything imports the settings, which read DATABASE_URL once.
    url = bench_database_url(os.environ["DATABASE_URL"], BENCH_DATABASE)
    os.environ["DATABASE_URL"] = url
    create_bench_database(url, BENCH_DATABASE)
    setup_django()
    from django.db import connection

    report(f"## Gateway reports — {datetime.now(UTC):%Y-%m-%d}\n")
    report(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GB RAM, "
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {postgres_version(connection.cursor().connection.server_version)}.\n"
    )
    report("### Hourly aggregation (target: 500,000 CDRs in under 10 s)\n")
    end = fill(arguments.count, report)
    report_aggregation(arguments.count, end, report)
    report_queries(viewer_token(), end, arguments, report)
    print("\n".join(["", "---- Markdown for docs/benchmarks.md ----", *lines]))


if __name__ == "__main__":
    main()
