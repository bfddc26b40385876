"""CDR query benchmark (issue 6): `make bench-cdr-query`, never part of `make test`.

Works in its own database, `vosadmin_cdrbench`, on the PostgreSQL server that DATABASE_URL
names (the embedded one under `make`), so it never touches development or test data. It fills
that database with generated CDRs (10,000,000 over 30 days unless told otherwise; `--reuse`
keeps a previous fill of the same size) and measures, in-process through the real API views:

1. COPY ingest: `generate_cdrs` end to end, then COPY of pre-rendered batches by 1 and by 2
   concurrent writers (the database's share of the work);
2. the first page of one billing mode over one day (p50 / p95 / p99 of `--samples` requests);
3. the same with a caller prefix;
4. a CSV export of 1,000,000 rows through the WSGI and the ASGI paths: time and the process's
   resident memory while it streams.

It prints a Markdown report for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DATABASE = "vosadmin_cdrbench"
MODES = [1, 1, 0, 0, -2]  # wholesale and retail traffic dominate; illegal calls matter most
EXPORT_ROWS = 1_000_000
COPY_ROWS = 400_000


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000_000, help="CDRs to generate")
    parser.add_argument("--days", type=int, default=30, help="days they span")
    parser.add_argument("--samples", type=int, default=300, help="requests per query figure")
    parser.add_argument("--reuse", action="store_true", help="keep a previous fill of --count")
    return parser.parse_args()


def bench_database_url(url: str, name: str = BENCH_DATABASE) -> str:
    """DATABASE_URL with the database name replaced by the bench database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_bench_database(url: str, name: str = BENCH_DATABASE) -> None:
    """CREATE DATABASE `name` (vosadmin_cdrbench) on the server of `url`, unless it exists."""
    admin = psycopg2.connect(**connection_parameters(url, dbname="postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def connection_parameters(url: str, **overrides: str) -> dict[str, Any]:
    """psycopg2 keyword arguments for a DATABASE_URL (the form settings.py accepts)."""
    from vosadmin.settings import database_from_url

    settings = database_from_url(url, "bench")
    parameters = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": settings["PORT"],
    }
    return {key: value for key, value in {**parameters, **overrides}.items() if value}


def setup_django() -> None:
    """Django on the bench database (DATABASE_URL already names it), migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vosadmin.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client, without a test database
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)


def postgres_version(number: int) -> str:
    """150020 → 15.20."""
    return f"{number // 10000}.{number % 10000}"


def rss_mb() -> float:
    """This process's resident memory, MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentiles(durations: list[float]) -> str:
    """p50 / p95 / p99 / max in ms."""
    cuts = statistics.quantiles(durations, n=100, method="inclusive")
    ms = [1000 * value for value in (cuts[49], cuts[94], cuts[98], max(durations))]
    return "p50 {:.1f} ms · p95 **{:.1f} ms** · p99 {:.1f} ms · max {:.1f} ms".format(*ms)


def fill(count: int, days: int, reuse: bool, report: Callable[[str], None]) -> datetime:
    """Generate the CDRs (unless --reuse finds them); returns the end of the generated span."""
    from django.db import connection
    from django.db.models import Max

    from billing.generation import generate_cdrs
    from billing.models import Cdr

    if reuse and Cdr.objects.count() == count:
        report(f"- reused {count:,} CDRs already in `{BENCH_DATABASE}`")
        return Cdr.objects.aggregate(last=Max("start_time"))["last"]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_cdr")
    end = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    generate_cdrs(count, days=days, end=end, seed=2025)
    elapsed = time.monotonic() - started
    report(
        f"- `generate_cdrs --count {count} --days {days}` (generation and COPY overlapped): "
        f"{elapsed:.0f} s, **{count / elapsed:,.0f} CDRs/s**"
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_cdr")
    return end


def copy_rate(url: str, writers: int, end: datetime) -> float:
    """CDRs/s COPYing pre-rendered batches into fresh days, `writers` connections at once."""
    from billing.generation import generate_rows
    from billing.ingest import COLUMN_LIST, COPY_OPTIONS, CsvStream
    from billing.partitions import drop_cdr_partitions_before, ensure_cdr_partitions

    share = COPY_ROWS // writers
    days = [end - timedelta(days=400 + writer) for writer in range(writers)]
    ensure_cdr_partitions(min(days).date() - timedelta(days=1), max(days).date())
    batches = [
        CsvStream(generate_rows(share, 1, day, seed=index)).read() for index, day in enumerate(days)
    ]
    sql = f"COPY billing_cdr ({COLUMN_LIST}) FROM STDIN WITH ({COPY_OPTIONS})"

    def write(batch: str) -> None:
        writer = psycopg2.connect(**connection_parameters(url))
        try:
            with writer, writer.cursor() as cursor:
                cursor.copy_expert(sql, io.StringIO(batch), 1 << 16)
        finally:
            writer.close()

    threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    drop_cdr_partitions_before((end - timedelta(days=300)).date())
    return share * writers / elapsed


def viewer_token() -> str:
    """The API token of a viewer (created on the first run)."""
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    user, _ = User.objects.get_or_create(username="bench-viewer")
    user.groups.add(Group.objects.get_or_create(name="Viewer")[0])
    return Token.objects.get_or_create(user=user)[0].key


def one_day(rng: random.Random, end: datetime, days: int) -> dict[str, str]:
    """The start range of a random whole UTC day inside the generated span."""
    first = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0)
    day = first + timedelta(days=rng.randrange(days - 2))
    return {"start_after": day.isoformat(), "start_before": (day + timedelta(days=1)).isoformat()}


def caller_prefix(rng: random.Random, mode: int) -> str:
    """A prefix an operator would type: 2 to 7 leading digits of a plausible caller."""
    number = {0: f"1{rng.randrange(1, 200):03d}", -2: str(rng.randrange(10**6))}.get(
        mode, str(rng.randrange(10**9, 10**10))
    )
    return number[: rng.randint(2, min(7, len(number)))] + "*"


def time_requests(
    client: Any, url: str, requests: Iterator[dict[str, Any]], samples: int
) -> list[float]:
    """Seconds per request (each must answer 200)."""
    durations = []
    for _, params in zip(range(samples), requests, strict=False):
        started = time.perf_counter()
        response = client.get(url, params)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
    return durations


def day_queries(
    end: datetime, days: int, extra: Callable[[random.Random, int], dict[str, str]]
) -> Iterator[dict[str, Any]]:
    """One billing mode over a random day, plus what `extra` adds, forever (repeatably)."""
    rng = random.Random(6)
    while True:
        mode = rng.choice(MODES)
        yield {**one_day(rng, end, days), "billing_mode": mode, **extra(rng, mode)}


def no_more(rng: random.Random, mode: int) -> dict[str, str]:
    return {}


def a_caller_prefix(rng: random.Random, mode: int) -> dict[str, str]:
    return {"caller": caller_prefix(rng, mode)}


def a_caller_address(rng: random.Random, mode: int) -> dict[str, str]:
    """A scanner's network (illegal calls) or a customer gateway's address, any port."""
    if mode == -2:
        return {"caller_ip": f"{rng.choice([45, 77, 185, 193])}.{rng.randrange(256)}.*"}
    return {"caller_ip": rng.choice(["198.51.100.10", "203.0.113.30", "10.1.7.*"])}


def export_window(rows: int) -> dict[str, str]:
    """The start range holding the newest `rows` CDRs."""
    from billing.models import Cdr

    newest = Cdr.objects.order_by("-start_time", "-flow_no")
    after = newest.values_list("start_time", flat=True)[rows - 1]
    before = newest.values_list("start_time", flat=True)[0] + timedelta(microseconds=1)
    return {"start_after": after.isoformat(), "start_before": before.isoformat()}


def measure_export(chunks: Iterator[bytes]) -> tuple[int, float, float, float]:
    """(rows, seconds, RSS before, RSS peak) while consuming a CSV stream."""
    before = peak = rss_mb()
    started = time.monotonic()
    lines = 0
    for index, chunk in enumerate(chunks):
        lines += chunk.count(b"\n")
        if index % 50 == 0:
            peak = max(peak, rss_mb())
    return lines - 1, time.monotonic() - started, before, max(peak, rss_mb())


def wsgi_export(client: Any, params: dict[str, str]) -> Iterator[bytes]:
    response = client.get("/api/v1/cdrs/", {**params, "format": "csv"})
    assert response.status_code == 200
    yield from response.streaming_content


def asgi_export(token: str, params: dict[str, str]) -> Iterator[bytes]:
    """The ASGI path (daphne's): the response's async iterator, drained chunk by chunk."""
    import asyncio

    from django.test import AsyncClient

    loop = asyncio.new_event_loop()
    headers = {"Authorization": f"Token {token}"}
    response = loop.run_until_complete(
        AsyncClient().get("/api/v1/cdrs/", {**params, "format": "csv"}, headers=headers)
    )
    assert response.status_code == 200 and response.is_async
    stream = aiter(response.streaming_content)
    try:
        while True:
            try:
                yield loop.run_until_complete(anext(stream))
            except StopAsyncIteration:
                return
    finally:
        loop.close()


def report_queries(
    token: str, end: datetime, arguments: argparse.Namespace, report: Callable[[str], None]
) -> None:
    """Response times of first pages: the two targets, then two figures for context."""
    from django.contrib.auth.models import User
    from django.test import Client
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    page = Client()
    page.force_login(User.objects.get(username="bench-viewer"))
    samples, few = arguments.samples, max(arguments.samples // 3, 10)
    figures = [
        ("API, one billing mode, one day", api, "/api/v1/cdrs/", no_more, samples),
        ("API, … and a caller prefix", api, "/api/v1/cdrs/", a_caller_prefix, samples),
        ("API, … and a caller IP instead (no index)", api, "/api/v1/cdrs/", a_caller_address, few),
        ("console page with the day's summary", page, "/cdrs/", no_more, few),
    ]
    report("\n### First page (50 CDRs), in-process through the views\n")
    time_requests(api, "/api/v1/cdrs/", day_queries(end, arguments.days, no_more), 20)  # warm-up
    for label, client, url, extra, count in figures:
        durations = time_requests(client, url, day_queries(end, arguments.days, extra), count)
        report(f"- {label} ({count} requests): {percentiles(durations)}")


def report_exports(token: str, count: int, report: Callable[[str], None]) -> None:
    """The newest 1,000,000 CDRs as CSV, through the WSGI and the ASGI paths."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    params = export_window(min(EXPORT_ROWS, count // 2))
    report("\n### CSV export\n")
    for label, chunks in (
        ("WSGI", wsgi_export(client, params)),
        ("ASGI", asgi_export(token, params)),
    ):
        rows, seconds, before, peak = measure_export(chunks)
        report(
            f"- {label}: {rows:,} rows in **{seconds:.1f} s** ({rows / seconds:,.0f} rows/s); "
            f"resident memory {before:.0f} MB before, {peak:.0f} MB at most while streaming"
        )


def main() -> None:
    arguments = parse_arguments()
    lines: list[str] = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    # Before anything imports the settings, which read DATABASE_URL once.
    url = os.environ["DATABASE_URL"] = bench_database_url(os.environ["DATABASE_URL"])
    create_bench_database(url)
    setup_django()
    from django.db import connection

    report(f"## CDR queries — {datetime.now(UTC):%Y-%m-%d}\n")
    report(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GB RAM, "
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"PostgreSQL {postgres_version(connection.cursor().connection.server_version)}.\n"
    )
    report("### COPY ingest\n")
    end = fill(arguments.count, arguments.days, arguments.reuse, report)
    for writers in (1, 2):
        rate = copy_rate(url, writers, end)
        who = "one writer" if writers == 1 else f"{writers} concurrent writers"
        report(f"- COPY of pre-rendered batches, {who}: **{rate:,.0f} CDRs/s**")

    token = viewer_token()
    report_queries(token, end, arguments, report)
    report_exports(token, arguments.count, report)
    print("\n".join(["", "---- Markdown for docs/benchmarks.md ----", *lines]))


if __name__ == "__main__":
    main()
