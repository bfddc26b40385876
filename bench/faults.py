"""Faults under load: no CDR lost, none duplicated (`make faults`).

sipp (mapping gateway, UAC) → engine → sipp (routing gateway, UAS) at `--rate` calls/s, and
in each of three runs one fault in the middle of the load:

- **postgres**: the engine's database link is cut (a proxy between engine and PostgreSQL,
  tests/proxy.py: connections dropped, new ones refused) for `--fault-seconds`;
- **redis**: Redis frozen for the engine (the proxy passes nothing: a black hole);
- **kill**: the engine is killed with SIGKILL and started again at once (same spool).

sipp's own trace (-trace_shortmsg) says which calls it saw answered (200 to its INVITE) and
completed (200 to its BYE). Once the CDRs have settled, each such Call-ID must have exactly
one CDR: for the postgres and redis faults every completed call, for kill every answered
call (a call answered when the engine died is closed with end reason "engine restart").

    make faults                                        30 calls/s, 15 s faults
    make faults FAULTS_ARGS="--only kill --rate 50"

Works in its own database (default `vosadmin_harness`) and Redis db 13, on the server
DATABASE_URL / REDIS_URL name; writes its figures into docs/benchmarks.md ("Faults").
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import sip_engine
from bench.watch import EngineWatch, conclude, stop_engine

# CDRs reach PostgreSQL from the engine's journal in batches, and a writer that saw the
# database fail retries with a pause: wait this long at most for the last ones.
SETTLE_SECONDS = 120


@dataclass
class FaultRun:
    """One fault under load and what sipp and the CDRs say about it."""

    fault: str
    answered: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    failed: int = 0
    cdrs: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    @property
    def expected(self) -> set[str]:
        """The calls that must have a CDR each."""
        return self.answered if self.fault == "kill" else self.completed

    @property
    def passed(self) -> bool:
        return bool(self.expected) and not self.lost and not self.duplicated


def sipp_calls(process: object) -> tuple[set[str], set[str]]:
    """The Call-IDs a finished sipp UAC saw answered and completed (its -trace_shortmsg)."""
    answered, completed = set(), set()
    workdir = Path(process.args[process.args.index("-stf") + 1]).parent  # type: ignore[attr-defined]
    for path in workdir.glob("*short*.log"):
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) < 7 or parts[3] != "R" or not parts[6].startswith("SIP/2.0 200"):
                continue
            if parts[5].endswith(" INVITE"):
                answered.add(parts[4])
            elif parts[5].endswith(" BYE"):
                completed.add(parts[4])
    return answered, completed


def cdr_counts(call_ids: set[str]) -> collections.Counter[str]:
    from billing.models import Cdr

    counts: collections.Counter[str] = collections.Counter()
    ids = sorted(call_ids)
    for start in range(0, len(ids), 5000):
        counts.update(
            Cdr.objects.filter(call_id__in=ids[start : start + 5000]).values_list(
                "call_id", flat=True
            )
        )
    return counts


def under_load(
    runner: object,
    fault: str,
    events: list[tuple[float, str, Callable[[], None]]],
    *,
    gateway_port: int,
    rate: int,
    seconds: int,
    hold_ms: int = 1000,
    settle_seconds: float = SETTLE_SECONDS,
) -> FaultRun:
    """Place calls for `seconds`, doing each (at seconds, what, action) of `events` on time;
    then wait for the CDRs and compare them with what sipp saw."""
    gateway = sip_engine.answering_gateway(gateway_port, rate * seconds * 2)
    caller = sip_engine.customer_calls(
        runner,
        rate,
        seconds,
        hold_ms,
        background=True,
        extra=["-trace_shortmsg"],
    )
    started = time.monotonic()
    try:
        for at, what, action in sorted(events, key=lambda event: event[0]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            print(f"{fault}: {what} at {time.monotonic() - started:.1f} s", flush=True)
            action()
        run = sip_engine.finish(caller)
    finally:
        if caller.poll() is None:
            caller.kill()
        gateway.kill()
        gateway.wait()
    result = FaultRun(fault, failed=run.failed)
    result.answered, result.completed = sipp_calls(caller)
    deadline = time.monotonic() + settle_seconds
    while True:  # until every expected call has its CDR (or the deadline: then some are lost)
        counts = cdr_counts(result.expected)
        if len(counts) == len(result.expected) or time.monotonic() > deadline:
            break
        time.sleep(2)
    time.sleep(3)  # a duplicate would come with the same batches: one more look
    counts = cdr_counts(result.expected)
    result.cdrs = sum(counts.values())
    result.lost = sorted(result.expected - set(counts))
    result.duplicated = sorted(call_id for call_id, n in counts.items() if n > 1)
    print(summary(result), flush=True)
    return result


def summary(run: FaultRun) -> str:
    return (
        f"| {run.fault} | {len(run.answered):,} | {len(run.completed):,} | {run.failed:,} | "
        f"{run.cdrs:,} | {len(run.lost)} | {len(run.duplicated)} | "
        f"{'passed' if run.passed else 'FAILED'} |"
    )


def fault_events(
    fault: str, runner: object, database: Any, redis: Any, at: float, seconds: float
) -> list[tuple[float, str, Callable[[], None]]]:
    """When to stage a fault and when to end it."""
    if fault == "postgres":
        return [
            (at, "database link cut", database.cut),
            (at + seconds, "restored", database.restore),
        ]
    if fault == "redis":
        return [(at, "Redis black-holed", redis.stall), (at + seconds, "restored", redis.restore)]
    return [(at, "engine SIGKILLed and restarted", lambda: kill_and_restart(runner))]


def kill_and_restart(runner: Any) -> None:
    """SIGKILL, then start again at once (same port, same spool)."""
    os.kill(runner.process.pid, signal.SIGKILL)
    runner.process.wait()
    runner.start()


FAULTS_HEADER = [
    "| fault | calls answered (sipp) | completed (sipp) | failed (sipp) | their CDRs | lost | "
    "duplicated | result |",
    "|---|---|---|---|---|---|---|---|",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=30, help="calls per second")
    parser.add_argument("--seconds", type=int, default=45, help="load per fault")
    parser.add_argument("--fault-at", type=float, default=10)
    parser.add_argument("--fault-seconds", type=float, default=15)
    parser.add_argument("--only", choices=["postgres", "redis", "kill"], action="append")
    parser.add_argument("--database", default="vosadmin_harness")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--no-report", action="store_true", help="leave docs/benchmarks.md")
    arguments = parser.parse_args()
    env = sip_engine.bench_environment(arguments.database, arguments.redis_db)
    sip_engine.setup_django(env)
    from tests.engine.harness import EngineRunner, free_port  # needs Django set up
    from tests.proxy import database_proxy, redis_proxy

    gateway_port = free_port(sip_engine.GATEWAY_IP)
    sip_engine.create_route(gateway_port)
    database, database_url = database_proxy()
    redis, redis_url = redis_proxy(env["REDIS_URL"])
    runner = EngineRunner(
        node="faults",
        env={"DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"},
    ).start()
    watch = EngineWatch.of(runner)
    runs = []
    try:
        for name in arguments.only or ["postgres", "redis", "kill"]:
            events = fault_events(
                name, runner, database, redis, arguments.fault_at, arguments.fault_seconds
            )
            runs.append(
                under_load(
                    runner,
                    name,
                    events,
                    gateway_port=gateway_port,
                    rate=arguments.rate,
                    seconds=arguments.seconds,
                )
            )
    finally:
        stopped = stop_engine(runner)
        database.close()
        redis.close()
    failures = [
        f"{run.fault}: lost {run.lost[:5]} duplicated {run.duplicated[:5]}"
        for run in runs
        if not run.passed
    ]
    failures += [f"the engine logged a traceback:\n{t}" for t in watch.tracebacks()[:3]]
    if stopped:
        failures.append(stopped)
    lines = [*FAULTS_HEADER, *(summary(run) for run in runs)]
    print("\n".join(lines))
    text = (
        f"`make faults` (bench/faults.py): {arguments.rate} calls/s for "
        f"{arguments.seconds} s per fault, {arguments.fault_seconds:g} s of fault from "
        f"{arguments.fault_at:g} s (PostgreSQL link cut, Redis black-holed, engine "
        "SIGKILLed and restarted); each call sipp completed (for kill: saw answered) must "
        "have exactly one CDR with its Call-ID."
    )
    conclude("Faults", [text, "", *lines], failures, not arguments.no_report)


if __name__ == "__main__":
    main()
