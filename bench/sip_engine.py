"""SIP engine benchmarks with sipp: REGISTER rate, REGISTER flood, call rate, INVITE flood.

    bench/register.sh   authenticated REGISTERs at rising rates, 30 s each   (make bench-register)
    bench/flood.sh      10,000 unknown REGISTERs/s + legitimate ones; 5,000 illegal INVITEs/s +
                        50 legitimate calls/s                                    (make bench-flood)
    bench/calls.sh      full calls (sipp UAC → engine → sipp UAS) with CDRs, 60 s (make bench-calls)

Each run works in its own database, `vosadmin_sipbench`, on the server DATABASE_URL names (the
embedded PostgreSQL under `make`), and in Redis database 14, so development and test data are
never touched. It creates the accounts and gateways it needs, starts `manage.py runsipengine`,
drives it with sipp from other loopback addresses, and writes its figures into
docs/benchmarks.md under "SIP engine".
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SCENARIOS = BASE_DIR / "tests" / "sipp"
BENCH_SCENARIOS = Path(__file__).resolve().parent / "sipp"
REPORT = BASE_DIR / "docs" / "benchmarks.md"
DATABASE = "vosadmin_sipbench"
ACCOUNTS = 20_000
PHONE_IP, CUSTOMER_IP, GATEWAY_IP, ATTACKER_IP = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.66"
GATEWAY_PORT = 15090


# The server as the caller configured it; the bench's own database is created on it.
SERVER_URL = os.environ.get("DATABASE_URL", "")


def bench_environment(database_name: str = DATABASE, redis_db: int = 14) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL of the bench's own database and Redis db."""
    database = urlsplit(SERVER_URL)
    redis = urlsplit(os.environ["REDIS_URL"])
    return {
        "DATABASE_URL": urlunsplit(database._replace(path=f"/{database_name}")),
        "REDIS_URL": urlunsplit(redis._replace(path=f"/{redis_db}")),
    }


def setup_django(env: dict[str, str]) -> None:
    """Create the bench database (env's DATABASE_URL) afresh and migrate it; Django then
    works on it."""
    import psycopg2

    if "django" in sys.modules:  # a second run in this process: let go of the old database
        from django.db import connections

        connections.close_all()
    admin = urlsplit(SERVER_URL)
    query = dict(part.split("=", 1) for part in admin.query.split("&") if part)
    connection = psycopg2.connect(
        dbname=admin.path.lstrip("/") or "postgres",
        user=admin.username or "postgres",
        password=admin.password,
        host=query.get("host") or admin.hostname,
        port=admin.port or query.get("port"),
    )
    connection.autocommit = True
    name = urlsplit(env["DATABASE_URL"]).path.lstrip("/")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vosadmin.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def set_parameters(**values: object) -> None:
    from vosadmin.core.parameters import update_parameter

    for name, value in values.items():
        update_parameter(name, value)


def create_phones() -> None:
    from softswitch.models import Phone

    Phone.objects.bulk_create(
        [Phone(e164=f"77{n:06d}", password=f"pw{n:06d}") for n in range(ACCOUNTS)], batch_size=5000
    )


def create_route(gateway_port: int, rated: bool = False, lines: int = 0) -> None:
    """The customer's mapping gateway and the vendor's routing gateway; `rated`: with a
    customer account (a balance no call exhausts) and a clearing account, both with rates;
    `lines`: the line limit of both (0: none)."""
    from softswitch.models import MappingGateway, RoutingGateway

    customer, vendor = create_accounts() if rated else (None, None)
    MappingGateway.objects.create(
        name="BENCH-CUSTOMER", ips=[CUSTOMER_IP], account=customer, capacity=lines
    )
    RoutingGateway.objects.create(
        name="BENCH-VENDOR",
        host=GATEWAY_IP,
        port=gateway_port,
        prefixes=["86"],
        clearing_account=vendor,
        capacity=lines,
    )


def create_accounts() -> tuple[Any, Any]:
    """A customer account and a clearing account, each with a rate group of 1,000 prefixes."""
    from decimal import Decimal

    from billing.models import Account, Rate, RateGroup
    from billing.payments import make_payment

    accounts = []
    for name, kind, fee in (("BENCH-RETAIL", 0, "0.0600"), ("BENCH-CARRIER", 2, "0.0300")):
        group = RateGroup.objects.create(name=name)
        Rate.objects.bulk_create(
            Rate(rate_group=group, prefix=f"86{n:03d}", period=60, fee=Decimal(fee))
            for n in range(1000)
        )
        Rate.objects.create(rate_group=group, prefix="86", period=6, fee=Decimal(fee))
        accounts.append(Account.objects.create(account=name, type=kind, rate_group=group))
    make_payment(accounts[0].pk, "1000000", "bench", None)
    return accounts[0], accounts[1]


class SystemUnderTest:
    """A SIP server process on 127.0.0.1:`port`, its output in `log`, its CPU time measured."""

    port = 15060

    def __init__(
        self, command: list[str], log: Path, env: dict[str, str] | None = None, settle: float = 4
    ) -> None:
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        time.sleep(settle)
        if self.process.poll() is not None:
            raise SystemExit(f"{command[0]} did not start:\n{log.read_text()}")
        import psutil

        self.ps = psutil.Process(self.process.pid)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time of the process and its children (an engine's workers)."""
        import psutil

        total = 0.0
        for process in (self.ps, *self.ps.children(recursive=True)):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


class Engine(SystemUnderTest):
    """`manage.py runsipengine` on a free port, with its CPU time measured."""

    def __init__(self, env: dict[str, str], prefix: list[str] | None = None) -> None:
        """`prefix`: run the engine under it (e.g. `taskset -c 1`)."""
        log = Path(tempfile.mkdtemp(prefix="sipbench-")) / "engine.log"
        full_env = {
            **os.environ,
            "SIP_WORKERS": "1",  # one process unless the benchmark says how many
            **env,
            "SIP_SPOOL_DIR": str(log.parent / "spool"),
            "LOG_LEVEL": "WARNING",
            "SIP_NODE_NAME": "bench",
            "VOSADMIN_PROCESS": "sipengine",
        }
        command = [*(prefix or []), sys.executable, "manage.py", "runsipengine"]
        super().__init__([*command, "--listen", self.address], log, full_env)


@dataclass
class SippRun:
    """What one sipp run achieved. For a scenario that logs each call's outcome (the customer
    calls: `OUTCOME_LOG`), `successful` counts the calls answered and `failed` adds those
    refused with a status (e.g. 503 from overload control) or never answered to sipp's own
    failures: sipp counts a refused call that ends its scenario cleanly as successful."""

    successful: int
    failed: int
    per_second: list[int]  # successful calls in each 1 s period of sipp's statistics
    elapsed: float
    output: str
    workdir: str = ""  # sipp's working directory (its -trace_rtt files)
    stats_file: str = ""  # its -trace_stat statistics
    refused: int = 0  # of the failed, those refused with 503 (overload control sheds so)

    @property
    def rate(self) -> float:
        """The sustained rate: successful calls per second, the median over the run's periods
        without the first two and the last three (ramp-up and drain)."""
        steady = self.per_second[2:-3] or self.per_second
        return float(statistics.median(steady)) if steady else 0.0


def sipp(
    scenario: Path,
    target: str,
    *,
    local_ip: str,
    rate: int,
    calls: int,
    rows: list[str] | None = None,
    extra: list[str] | None = None,
    background: bool = False,
    prefix: list[str] | None = None,
) -> SippRun | subprocess.Popen[str]:
    """Run sipp (under `prefix`, e.g. `taskset -c 0`); with `background`, return the process
    (see `finish`)."""
    workdir = Path(tempfile.mkdtemp(prefix="sipbench-sipp-"))
    command = [
        *(prefix or []),
        shutil.which("sipp") or "sipp",
        target,
        "-sf",
        str(scenario),
        "-i",
        local_ip,
        "-p",
        "0",
        "-r",
        str(rate),
        "-m",
        str(calls),
        "-nostdin",
        "-l",
        str(max(rate * 4, 1000)),
        "-max_socket",
        "1024",
        "-trace_stat",
        "-stf",
        str(workdir / "stats.csv"),
        "-fd",
        "1",
        *(extra or []),
    ]
    if rows is not None:
        (workdir / "data.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
        command += ["-inf", str(workdir / "data.csv")]
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    process.started = time.monotonic()  # type: ignore[attr-defined]
    return process if background else finish(process)


def finish(process: subprocess.Popen[str]) -> SippRun:
    """Wait for a sipp run and read its statistics."""
    output, _ = process.communicate()
    elapsed = time.monotonic() - process.started  # type: ignore[attr-defined]
    stats = Path(process.args[process.args.index("-stf") + 1])
    successful, failed = _statistic(output, "Successful call"), _statistic(output, "Failed call")
    refused = 0
    if (outcomes := stats.parent / OUTCOME_LOG).exists():
        logged = outcomes.read_text().split("\n")
        answered = sum(1 for line in logged if line.endswith("ANSWERED"))
        refused = sum(1 for line in logged if line.endswith("FAILED 503"))
        successful, failed = answered, failed + successful - answered
    return SippRun(
        successful,
        failed,
        _per_second(stats),
        elapsed,
        output,
        workdir=str(stats.parent),
        stats_file=str(stats),
        refused=refused,
    )


def _statistic(output: str, name: str) -> int:
    values = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", output)
    return int(values[-1]) if values else 0


def _per_second(stats: Path) -> list[int]:
    if not stats.exists():
        return []
    with stats.open() as handle:
        return [int(row["SuccessfulCall(P)"]) for row in csv.DictReader(handle, delimiter=";")]


def register_rows() -> list[str]:
    return [
        f"77{n:06d};[authentication username=77{n:06d} password=pw{n:06d}];3600"
        for n in range(ACCOUNTS)
    ]


# Benchmarks -----------------------------------------------------------------------------


REGISTER_HEADER = [
    "| workers | target REGISTER/s | achieved | successful | failed | engine CPU |",
    "|---|---|---|---|---|---|",
]


def bench_register(env: dict[str, str], rates: list[int], duration: int, workers: int) -> list[str]:
    """Authenticated REGISTER (401 challenge, then digest) at each rate for `duration` s, to
    an engine of `workers` processes (SIP_WORKERS; its CPU counts them all and the dispatcher)."""
    engine = Engine({**env, "SIP_WORKERS": str(workers)})
    lines = []
    try:
        for rate in rates:
            before = engine.cpu_seconds()
            run = phone_registrations(engine, rate, duration)
            cpu = cpu_share(engine, before, run)
            lines.append(
                f"| {workers} | {rate} | {run.rate:,.0f}/s | {run.successful} | {run.failed} "
                f"| {cpu:.0f} % |"
            )
            print(lines[-1], flush=True)
    finally:
        engine.stop()
    return lines


def flood(engine: Engine, scenario: str, rate: int, duration: int) -> subprocess.Popen[str]:
    """Send-and-forget requests from the attacker's address for `duration` s (background)."""
    return sipp(
        BENCH_SCENARIOS / scenario,
        engine.address,
        local_ip=ATTACKER_IP,
        rate=rate,
        calls=rate * duration,
        background=True,
    )


def answering_gateway(port: int, calls: int) -> subprocess.Popen[str]:
    """A sipp routing gateway that answers every call (background)."""
    return sipp(
        BENCH_SCENARIOS / "uas.xml",
        "127.0.0.1:1",
        local_ip=GATEWAY_IP,
        rate=1,
        calls=calls,
        extra=["-p", str(port)],
        background=True,
    )


OUTCOME_LOG = "outcomes.log"  # in sipp's working directory: one line per call (see SippRun)


def customer_calls(
    engine: Any,
    rate: int,
    duration: int,
    hold_ms: int,
    *,
    background: bool = False,
    extra: list[str] | None = None,
    prefix: list[str] | None = None,
    recv_timeout_ms: int = 30_000,
) -> Any:
    """A mapping gateway's calls through the engine, each held `hold_ms` (a SippRun, or with
    `background` the sipp process: see `finish`). A call that waits `recv_timeout_ms` for a
    message fails, so that datagrams dropped while the engine was down or past its capacity
    cannot keep sipp, and the bench, waiting for ever. The callers vary, as a gateway's do
    (with several workers, its calls are spread over them by caller: ADR 0011)."""
    rows = [f"21255{n % 10_000:05d};86138{n:08d};" for n in range(rate * duration)]
    return sipp(
        SCENARIOS / "uac_gateway_call.xml",
        engine.address,
        local_ip=CUSTOMER_IP,
        rate=rate,
        calls=rate * duration,
        rows=rows,
        extra=[
            *("-d", str(hold_ms), "-recv_timeout", str(recv_timeout_ms)),
            *("-trace_logs", "-log_file", OUTCOME_LOG),
            *(extra or []),
        ],
        background=background,
        prefix=prefix,
    )


def phone_registrations(engine: Engine, rate: int, duration: int) -> SippRun:
    """Phones registering with digest authentication."""
    return sipp(
        SCENARIOS / "register.xml",
        engine.address,
        local_ip=PHONE_IP,
        rate=rate,
        calls=rate * duration,
        rows=register_rows(),
    )


def cpu_share(engine: Engine, before: float, run: SippRun) -> float:
    """The engine's CPU use during a run, in % of one core (over the periods sipp reported)."""
    seconds = len(run.per_second) or run.elapsed
    return (engine.cpu_seconds() - before) / seconds * 100


def bench_register_flood(
    env: dict[str, str], flood_rate: int, legit_rate: int, duration: int, max_retry: int
) -> list[str]:
    """Unknown-account REGISTERs from one address while phones keep registering."""
    set_parameters(SS_REPLY_UNAUTHORIZED=False, SS_AUTHENTICATION_MAX_RETRY=max_retry)
    create_phones()
    engine = Engine(env)
    try:
        before = engine.cpu_seconds()
        attack = flood(engine, "flood_register.xml", flood_rate, duration)
        legit = phone_registrations(engine, legit_rate, duration)
        sent, cpu = finish(attack), cpu_share(engine, before, legit)
    finally:
        engine.stop()
    mode = "unlimited (0)" if max_retry == 0 else str(max_retry)
    return [
        f"| {mode} | {sent.successful / sent.elapsed:,.0f}/s | {legit_rate}/s | "
        f"{legit.successful} | {legit.failed} | {cpu:.0f} % |"
    ]


def bench_calls(
    env: dict[str, str], rate: int, duration: int, hold_ms: int, rated: bool = False
) -> tuple[str, float, float]:
    """Full calls with a CDR each; checks that every completed call's CDR was written.
    `rated`: every call admitted against an account (a Redis reservation), rated and charged.
    Returns the table row, the engine's CPU milliseconds per call and its share of a core."""
    from billing.models import Cdr

    create_route(GATEWAY_PORT, rated)
    engine = Engine(env)
    try:
        gateway = answering_gateway(GATEWAY_PORT, rate * duration)
        before = engine.cpu_seconds()
        run = customer_calls(engine, rate, duration, hold_ms)
        cpu = cpu_share(engine, before, run)
        per_call = (engine.cpu_seconds() - before) / max(run.successful, 1) * 1000
        gateway.kill()
        cdrs = answered_cdrs_written(Cdr, run.successful)
    finally:
        engine.stop()
    failed_share = run.failed / max(run.successful + run.failed, 1) * 100
    row = (
        f"| {'rated and charged' if rated else 'not rated'} | {rate} | {run.rate:,.0f}/s | "
        f"{run.successful} | {run.failed} ({failed_share:.2f} %) | {cdrs} | {cpu:.0f} % | "
        f"{per_call:.2f} ms |"
    )
    return row, per_call, cpu


def answered_cdrs_written(cdr_model: Any, expected: int, quiet_seconds: float = 5) -> int:
    """The answered calls' CDRs in PostgreSQL once the engine's journal has drained: waits
    until `expected` are there, or until the count has not moved for `quiet_seconds`."""
    count, last_change = -1, time.monotonic()
    while time.monotonic() - last_change < quiet_seconds:
        now = cdr_model.objects.filter(end_reason=200).count()
        if now >= expected:
            return now
        if now != count:
            count, last_change = now, time.monotonic()
        time.sleep(0.5)
    return count


def bench_invite_flood(
    env: dict[str, str], flood_rate: int, legit_rate: int, duration: int
) -> list[str]:
    """Illegal INVITEs (silent, not recorded) while a customer's calls go through."""
    set_parameters(SS_REPLY_UNAUTHORIZED=False, SERVER_BILLING_RECORD_ILLEGAL_CALL=0)
    create_route(GATEWAY_PORT)
    engine = Engine(env)
    try:
        gateway = answering_gateway(GATEWAY_PORT, legit_rate * duration)
        before = engine.cpu_seconds()
        attack = flood(engine, "flood_invite.xml", flood_rate, duration)
        legit = customer_calls(engine, legit_rate, duration, 500)
        sent, cpu = finish(attack), cpu_share(engine, before, legit)
        gateway.kill()
    finally:
        engine.stop()
    return [
        f"| {sent.successful / sent.elapsed:,.0f}/s | {legit_rate}/s | {legit.successful} | "
        f"{legit.failed} | {cpu:.0f} % |"
    ]


# Report -------------------------------------------------------------------------------


def machine() -> str:
    import psutil

    return (
        f"{platform.machine()}, {psutil.cpu_count()} CPUs (shared), Python "
        f"{platform.python_version()}, sipp {_sipp_version()}"
    )


def _sipp_version() -> str:
    output = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    match = re.search(r"SIPp (v[\d.]+)", output)
    return match[1] if match else "?"


def write_section(heading: str, body: list[str], report: Path = REPORT) -> None:
    """Replace (or add) a `### heading` section under "## SIP engine" in docs/benchmarks.md.
    `body` ends with its "Measured …" stamp; what a person wrote under the old stamp (the
    notes on the figures) is kept under the new one, and a reminder to revise it printed."""
    text = report.read_text() if report.exists() else "# Benchmarks\n"
    if "## SIP engine" not in text:
        text += "\n## SIP engine\n\nSee `bench/sip_engine.py` for how each figure is measured.\n"
    section = f"### {heading}\n\n" + "\n".join(body) + "\n"
    pattern = re.compile(rf"### {re.escape(heading)}\n.*?(?=\n### |\n## |\Z)", re.S)
    if (old := pattern.search(text)) is not None:
        notes = _notes_after_stamp(old.group(0))
        if notes:
            section = section.rstrip("\n") + "\n\n" + notes
            print(f'{report.name}: the notes under "{heading}" were kept: revise them')
        text = text[: old.start()] + section.rstrip("\n") + "\n" + text[old.end() :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    report.write_text(text.rstrip("\n") + "\n")


# A run's stamp: "Measured <date> on <machine>." — its sentence, not the rest of its line.
_STAMP = re.compile(r"\nMeasured [^\n]*?\.(?=\s|$)")


def _notes_after_stamp(section: str) -> str:
    """What follows the section's first stamp, stripped ('' if nothing does)."""
    stamp = _STAMP.search(section)
    return section[stamp.end() :].strip() if stamp else ""


REGISTER_TEXT = (
    "`bench/register.sh`: sipp registers 20,000 accounts (401 challenge, then digest "
    "MD5) at each rate for 30 s, first to one engine process, then to one worker per core "
    "behind the one address (SIP_WORKERS, docs/adr/0011; sipp shares the cores), with "
    "lightweight registration off (SS_ENDPOINTTIMETOLIVE 0: sipp does not answer its "
    "OPTIONS). Target (issue 14): 3,000/s sustained with no failures."
)
FLOOD_TEXT = (
    "`bench/flood.sh`: silent mode (SS_REPLY_UNAUTHORIZED Off). First 10,000 REGISTERs/s "
    "for unknown accounts from one address while 200 phones/s register (with the "
    "default suspension, then with none); then 5,000 illegal INVITEs/s "
    "(SERVER_BILLING_RECORD_ILLEGAL_CALL 0) while a customer places 50 calls/s."
)
REGISTER_FLOOD_HEADER = [
    "| SS_AUTHENTICATION_MAX_RETRY | unknown REGISTERs sent | legitimate "
    "rate | registered | failed | engine CPU |",
    "|---|---|---|---|---|---|",
]
INVITE_FLOOD_HEADER = [
    "| illegal INVITEs sent | legitimate calls | completed | failed | engine CPU |",
    "|---|---|---|---|---|",
]
SATURATED_SHARE = 85  # % of a core past which bench-calls' rated/unrated comparison reads low
CALLS_HEADER = [
    "| rating | target calls/s | achieved | answered | failed | CDRs written (answered) "
    "| engine CPU | engine CPU per call |",
    "|---|---|---|---|---|---|---|---|",
]


def run_register(arguments: argparse.Namespace, env: dict[str, str], stamp: str) -> None:
    setup_django(env)
    create_phones()
    # sipp's phones never answer the OPTIONS of lightweight registration: each probe would be
    # sent 11 times (Timer E) to every bound phone each minute, a load of its own
    set_parameters(SS_ENDPOINTTIMETOLIVE=0)
    rates = [int(rate) for rate in arguments.rates.split(",")]
    lines = list(REGISTER_HEADER)
    for workers in arguments.workers or (1, os.cpu_count() or 1):
        lines += bench_register(env, rates, arguments.duration or 30, workers)
    write_section("Authenticated REGISTER", [REGISTER_TEXT, "", *lines, "", stamp])


def run_flood(arguments: argparse.Namespace, env: dict[str, str], stamp: str) -> None:
    duration = arguments.duration or 30
    rows = list(REGISTER_FLOOD_HEADER)
    for max_retry in (6, 0):
        setup_django(env)
        rows += bench_register_flood(env, 10_000, 200, duration, max_retry)
        print(rows[-1], flush=True)
    setup_django(env)
    invite = [*INVITE_FLOOD_HEADER, *bench_invite_flood(env, 5_000, 50, duration)]
    print(invite[-1], flush=True)
    write_section("Floods", [FLOOD_TEXT, "", *rows, "", *invite, "", stamp])


def run_calls(arguments: argparse.Namespace, env: dict[str, str], stamp: str) -> None:
    duration = arguments.duration or 60
    lines = list(CALLS_HEADER)
    per_call: dict[bool, list[float]] = {False: [], True: []}
    busiest = 0.0
    for _ in range(arguments.repeat):
        for rated in (False, True):
            setup_django(env)
            row, cpu, share = bench_calls(env, arguments.rate, duration, 500, rated)
            lines.append(row)
            per_call[rated].append(cpu)
            busiest = max(busiest, share)
            print(row, flush=True)
    unrated, rated_cpu = (statistics.median(per_call[key]) for key in (False, True))
    summary = (
        f"Median engine CPU per call over {arguments.repeat} alternating pairs: "
        f"{unrated:.2f} ms not rated, {rated_cpu:.2f} ms rated and charged "
        f"(**{(rated_cpu / unrated - 1) * 100:+.0f} %**)."
    )
    if busiest > SATURATED_SHARE:
        summary += (
            f" The engine ran at up to {busiest:.0f} % of a core: near saturation its CPU per "
            "call grows and the comparison reads too low; measure at a lower `--rate`."
        )
    print(summary, flush=True)
    text = (
        f"`bench/calls.sh`: sipp UAC (mapping gateway) → engine → sipp UAS (routing "
        f"gateway), {duration} s, 500 ms hold time, a CDR per call. Target: 500 calls/s "
        "with under 0.1 % failed and every CDR written. Run twice in one go: without "
        "accounts, then with every call rated and charged (the mapping gateway's account "
        "and the vendor's clearing account with 1,001 rates each: admission with a Redis "
        "reservation, fee and cost at the end, the balance charged with the CDR batch). "
        "Target: rating costs under 10 % more engine CPU per call. One run's CPU per call "
        "moves by up to ±10 % between runs on this machine, so `--repeat N` alternates N "
        "pairs and compares their medians. Answered and failed come from the outcome each "
        "call logs (a call refused with a status, e.g. 503 from overload control, is failed: "
        "sipp itself counts it successful) and CPU per call is per answered call."
    )
    write_section("Calls", [text, "", *lines, "", summary, "", stamp])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bench", choices=["register", "flood", "calls"])
    parser.add_argument("--duration", type=int, default=None, help="seconds per step")
    parser.add_argument("--rates", default="1000,2000,2500,3000,3500", help="REGISTER rates")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=None,
        help="register: engine worker counts to run, e.g. 1,2 (default: 1, then one per core)",
    )
    parser.add_argument("--rate", type=int, default=500, help="call rate")
    parser.add_argument("--repeat", type=int, default=3, help="calls: pairs of runs")
    arguments = parser.parse_args()
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}."
    runner = {"register": run_register, "flood": run_flood, "calls": run_calls}[arguments.bench]
    runner(arguments, bench_environment(), stamp)


if __name__ == "__main__":
    main()
