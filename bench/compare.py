"""Side by side: sippy's b2bua_simple and the vosadmin engine on one harness (make bench-compare).

Both systems relay the same calls: a sipp UAC (a customer's gateway, 127.0.0.2) places 500 ms
calls at rising rates, 20 s each, through the system under test to a sipp UAS (the vendor's
gateway, 127.0.0.3:15090) that answers at once. sipp runs on core 0, the system under test on
core 1 (`taskset`); PostgreSQL and Redis are not pinned. vosadmin writes a CDR for every call
and rates and charges it (a customer account and a clearing account with 1,001 rates each);
sippy writes nothing. A rate passes when under 0.1 % of the calls failed on either leg and the
sustained rate is at least 97 % of the offered one; a system's ladder stops at its first
failing rate, or `--past N` rates after it (to see how it degrades: calls refused with 503 by
overload control are counted apart from the other failures). The figures go to
docs/benchmarks.md ("Compared with sippy").

    bench/compare.sh [--rates 100,200,...] [--seconds 20] [--mode pinned|all-cores] [--past N]

`--mode all-cores` runs only vosadmin, unpinned, for the whole-machine figure. sippy comes from
its own virtualenv (var/bench/sippy, made by compare.sh), never from the project's.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.sip_engine import (
    BENCH_SCENARIOS,
    GATEWAY_IP,
    GATEWAY_PORT,
    Engine,
    SippRun,
    SystemUnderTest,
    answered_cdrs_written,
    bench_environment,
    create_route,
    customer_calls,
    finish,
    machine,
    setup_django,
    sipp,
    write_section,
)

SIPPY = Path(os.environ.get("SIPPY_B2BUA", "var/bench/sippy/bin/b2bua_simple"))
HOLD_MS = 500
PASS_FAILED_SHARE = 0.001
PASS_SUSTAINED_SHARE = 0.97
LINES = 10_000  # vosadmin's gateways' line limit, as a carrier sets one (never reached)
SIPP_CORE, SYSTEM_CORE = "0", "1"


@dataclass
class Step:
    """One rate of one system's ladder."""

    offered: int
    caller: SippRun
    gateway: SippRun
    setup_ms: list[float]
    cpu_percent: float
    cdrs: int | None

    @property
    def passed(self) -> bool:
        calls = self.caller.successful + self.caller.failed
        failed_share = max(self.caller.failed, self.gateway.failed) / max(calls, 1)
        return (
            failed_share < PASS_FAILED_SHARE
            and self.caller.rate >= PASS_SUSTAINED_SHARE * self.offered
        )

    def row(self) -> str:
        p50, p95 = percentile(self.setup_ms, 50), percentile(self.setup_ms, 95)
        cdrs = "—" if self.cdrs is None else f"{self.cdrs:,}"
        resent = retransmissions(self.caller) + retransmissions(self.gateway)
        return (
            f"| {self.offered} | {self.caller.rate:,.0f}/s | {self.caller.failed} | "
            f"{self.caller.refused} | {self.gateway.failed} | {resent} | "
            f"{p50:.0f} ms | {p95:.0f} ms | {self.cpu_percent:.0f} % | {cdrs} | "
            f"{'pass' if self.passed else 'FAIL'} |"
        )


def percentile(values: list[float], share: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[share - 1]


def retransmissions(run: SippRun) -> int:
    """Messages sipp had to send again (its statistics' cumulative counter, last period)."""
    stats = Path(run.stats_file) if run.stats_file else None
    if stats is None or not stats.exists():
        return 0
    with stats.open() as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return int(rows[-1].get("Retransmissions(C)", 0)) if rows else 0


class Sippy(SystemUnderTest):
    """sippy's b2bua_simple on core 1, relaying to the answering gateway."""

    def __init__(self) -> None:
        log = Path("var/bench/sippy.log").resolve()
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            "taskset", "-c", SYSTEM_CORE, str(SIPPY.resolve()), "-f",
            "-l", "127.0.0.1", "-p", str(self.port),
            "-n", f"{GATEWAY_IP}:{GATEWAY_PORT}",
        ]  # fmt: skip
        super().__init__(command, log, settle=2)


def run_rate(system: SystemUnderTest, rate: int, seconds: int, pinned: bool) -> Step:
    """One rate: the answering gateway, then the calls; both sipps on core 0 when pinned."""
    prefix = ["taskset", "-c", SIPP_CORE] if pinned else []
    calls = rate * seconds
    gateway = sipp(
        BENCH_SCENARIOS / "uas.xml",
        "127.0.0.1:1",
        local_ip=GATEWAY_IP,
        rate=1,
        calls=calls,
        extra=["-p", str(GATEWAY_PORT), "-recv_timeout", "10000", "-timeout", str(seconds + 20)],
        background=True,
        prefix=prefix,
    )
    time.sleep(1)  # the gateway's socket is open before the first INVITE reaches it
    before = system.cpu_seconds()
    caller = customer_calls(
        system,
        rate,
        seconds,
        HOLD_MS,
        extra=["-trace_rtt", "-rtt_freq", "1"],
        prefix=prefix,
        recv_timeout_ms=10_000,
    )
    cpu = (system.cpu_seconds() - before) / max(len(caller.per_second), 1) * 100
    answered = finish(gateway)
    return Step(rate, caller, answered, setup_times(caller), cpu, None)


def setup_times(run: SippRun) -> list[float]:
    """INVITE → 200 times of every call, in ms, from sipp's -trace_rtt file."""
    files = list(Path(run.workdir).glob("*_rtt.csv")) if run.workdir else []
    times: list[float] = []
    for path in files:
        with path.open() as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                value = row.get("response_time_ms") or row.get("response_time")
                if value:
                    times.append(float(value))
    return times


def ladder(
    name: str, start, rates: list[int], seconds: int, pinned: bool, past: int = 0
) -> list[Step]:
    """Rising rates until the first that fails, and `past` more after it (how the system
    degrades past its capacity); a fresh system for each rate."""
    steps: list[Step] = []
    for rate in rates:
        if sum(not step.passed for step in steps) > past:
            break
        system, count_cdrs = start()
        try:
            step = run_rate(system, rate, seconds, pinned)
            step.cdrs = count_cdrs(step.caller.successful)
        finally:
            system.stop()
        steps.append(step)
        print(f"{name}: {step.row()}", flush=True)
    return steps


def vosadmin(env: dict[str, str], pinned: bool, workers: int = 1, lines: int = 0):
    """A starter for the engine with rating on, on a fresh database each time: one worker
    on core 1 (`pinned`), or `workers` of them anywhere; `lines`: both gateways' line limit."""

    def start() -> tuple[Engine, object]:
        setup_django(env)
        create_route(GATEWAY_PORT, rated=True, lines=lines)
        prefix = ["taskset", "-c", SYSTEM_CORE] if pinned else []
        engine = Engine({**env, "SIP_WORKERS": str(workers)}, prefix=prefix)
        from billing.models import Cdr

        return engine, lambda expected: answered_cdrs_written(Cdr, expected)

    return start


def sippy() -> tuple[Sippy, object]:
    return Sippy(), lambda expected: None


TABLE_HEADER = [
    "| offered calls/s | sustained | failed (A leg) | of which 503 | failed (B leg) "
    "| retransmissions | setup p50 | setup p95 | CPU of the system | CDRs written | result |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]


def best(steps: list[Step]) -> int:
    return max((step.offered for step in steps if step.passed), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="100,150,200,300,400,500,600,700,800,900,1000,1200")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--mode", choices=["pinned", "all-cores"], default="pinned")
    parser.add_argument("--workers", type=int, default=0, help="all-cores: (default: cores)")
    parser.add_argument(
        "--past", type=int, default=0, help="rates to run past the first failing one"
    )
    parser.add_argument(
        "--lines", type=int, default=LINES, help="vosadmin: both gateways' line limit (0: none)"
    )
    arguments = parser.parse_args()
    rates = [int(rate) for rate in arguments.rates.split(",")]
    env = bench_environment()
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d} on {machine()}."
    if arguments.mode == "all-cores":
        workers = arguments.workers or os.cpu_count() or 1
        pinned = vosadmin(env, True, lines=arguments.lines)
        one = ladder("vosadmin, 1 core", pinned, rates, arguments.seconds, True, arguments.past)
        every = vosadmin(env, False, workers, arguments.lines)
        ours = ladder(
            f"vosadmin, {workers} workers", every, rates, arguments.seconds, False, arguments.past
        )
        first, second = ("one core", one), (f"{workers} workers", ours)
        titles = ("**One worker on core 1** (sipp on core 0)", f"**{workers} workers, unpinned**")
        text = ALL_CORES_TEXT + lines_note(arguments.lines)
        report("vosadmin on every core", text, first, second, titles, stamp)
        return
    theirs = ladder("sippy", sippy, rates, arguments.seconds, True, arguments.past)
    engine = vosadmin(env, True, lines=arguments.lines)
    ours = ladder("vosadmin", engine, rates, arguments.seconds, True, arguments.past)
    titles = ("**sippy b2bua_simple** (no CDRs)", "**vosadmin** (CDRs, rating and charging on)")
    text = PINNED_TEXT + lines_note(arguments.lines)
    report("Compared with sippy", text, ("sippy", theirs), ("vosadmin", ours), titles, stamp)


def lines_note(lines: int) -> str:
    if not lines:
        return " vosadmin's gateways have no line limit (`--lines 0`)."
    return (
        f" vosadmin's mapping and routing gateways have a line limit of {lines:,} each, as a "
        "carrier's have (never reached; `--lines`)."
    )


def report(
    section: str,
    text: str,
    first: tuple[str, list[Step]],
    second: tuple[str, list[Step]],
    titles: tuple[str, str],
    stamp: str,
) -> None:
    """Both ladders' tables and the ratio of their highest passing rates, printed and written
    to docs/benchmarks.md."""
    (first_name, first_steps), (second_name, second_steps) = first, second
    ratio = (
        f"**{best(second_steps) / best(first_steps):.2f}×**"
        if best(first_steps)
        else f"no ratio ({first_name} passed no rate)"
    )
    body = [text, ""]
    for title, steps in zip(titles, (first_steps, second_steps), strict=True):
        body += [title, "", *TABLE_HEADER, *(step.row() for step in steps), ""]
    body += [
        f"Highest passing rate: {first_name} {best(first_steps)}/s, {second_name} "
        f"{best(second_steps)}/s: {ratio}.", "", stamp,
    ]  # fmt: skip
    print(body[-3], flush=True)
    write_section(section, body)


PINNED_TEXT = (
    "`make bench-compare` (bench/compare.py): sipp UAC (127.0.0.2) → system under test → sipp "
    "UAS (127.0.0.3), 500 ms calls, 20 s per rate, sipp on core 0 and the system under test on "
    "core 1 (taskset), one system after the other in the same run. A rate passes with under "
    "0.1 % failed calls on either leg and at least 97 % of it sustained; retransmissions are "
    "both sipps'; setup is INVITE → 200 at the caller."
)
ALL_CORES_TEXT = (
    "`make bench-compare MODE=all-cores`: the same harness, vosadmin with one worker pinned to "
    "core 1 (sipp on core 0), then with SIP_WORKERS workers (default: one per core) behind the "
    "dispatcher, unpinned, sharing the cores with sipp, PostgreSQL and Redis (ADR 0011)."
)


if __name__ == "__main__":
    main()
