"""A soak: calls at a steady rate through the engine for a stated time (`make soak`).

sipp (mapping gateway, UAC) → engine → sipp (routing gateway, UAS answering at once), each
call held `--hold-ms`, at `--rate` calls/s for `--seconds`. Every `--interval` s the engine's
RSS (/proc/<pid>/status) and its open transactions, dialogs, calls and legs (the line it logs
on SIGUSR2) are sampled. Fails if, over the second half of the run (the rate steady, every
32 s transaction timer long in its stride):

- the least-squares slope of RSS exceeds `--max-rss-slope` MB per minute, or
- a count's fitted growth over that half exceeds `--max-count-growth` of its mean there (plus
  20, for counts near zero);

or if, `DRAIN_SECONDS` after the last call, any transaction, dialog, call or leg is left, if
a line of the gateways' limits (`--lines`, leased in chunks) is still held in Redis
`LINES_BACK_SECONDS` later, or if the engine logged a traceback.

    make soak                                    10 min at 250 calls/s (half of bench-calls' 500)
    make soak SOAK_SECONDS=120 RATE=50

Works in its own database (default `vosadmin_harness`) and Redis db 13, on the server
DATABASE_URL / REDIS_URL name; writes its figures into docs/benchmarks.md ("Soak").
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

from bench import sip_engine
from bench.compare import LINES, lines_note
from bench.watch import DRAIN_SECONDS, EngineWatch, conclude, drained, slope, stop_engine

METRICS = ("rss_mb", "transactions", "dialogs", "calls", "legs")
# Transactions live up to 32 s (Timer J/H/K/M) and legs 32 s after their call: the counts rise
# for 32 s after the calls start (later on a slow machine), then hold steady.
STEADY_AFTER = 42.0
# sipp's last calls end `--hold-ms` after the last is placed, a failing one after its 30 s
# receive timeout: past this, sipp is stopped.
SIPP_GRACE = 60.0
LINES_BACK_SECONDS = 5.0  # a pool goes back 1-2 s after its lease (engine/capacity.py)


@dataclass
class Sample:
    seconds: float  # since the calls started
    rss_mb: float
    transactions: int
    dialogs: int
    calls: int
    legs: int


@dataclass
class SoakReport:
    rate: int
    seconds: int
    samples: list[Sample] = field(default_factory=list)
    drained_counts: dict[str, int] = field(default_factory=dict)
    drained_rss_mb: float = 0.0
    lines_held: dict[str, str] = field(default_factory=dict)  # in Redis once drained
    completed: int = 0
    failed: int = 0
    achieved: float = 0.0
    fits: dict[str, tuple[float, float]] = field(default_factory=dict)  # slope/min, mean
    tracebacks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def steady(self, after: float) -> list[Sample]:
        """The samples from `after` to the end of the calls (sipp may run a little longer)."""
        return [s for s in self.samples if after <= s.seconds <= self.seconds + 1]


def sample(watch: EngineWatch, seconds: float) -> Sample:
    counts = watch.counts()
    return Sample(
        round(seconds, 1),
        watch.rss_kb() / 1024,
        counts["server_transactions"] + counts["client_transactions"],
        counts["dialogs"],
        counts["calls"],
        counts["legs"],
    )


def soak(
    runner: object,
    *,
    rate: int,
    seconds: int,
    gateway_port: int,
    interval: float = 10,
    hold_ms: int = 1000,
    drain_seconds: float = DRAIN_SECONDS,
) -> SoakReport:
    """Run the soak against `runner` (a tests.engine.harness.EngineRunner whose database has
    `sip_engine.create_route(gateway_port)`); return the samples and what the run did, for
    `judge` to apply its bounds."""
    watch = EngineWatch.of(runner)
    report = SoakReport(rate, seconds)
    gateway = sip_engine.answering_gateway(gateway_port, rate * seconds)
    caller = sip_engine.customer_calls(
        runner,
        rate,
        seconds,
        hold_ms,
        background=True,
    )
    started = time.monotonic()
    try:
        report.samples.append(sample(watch, 0))
        while caller.poll() is None and time.monotonic() < started + seconds + SIPP_GRACE:
            next_sample = started + len(report.samples) * interval
            while caller.poll() is None and time.monotonic() < next_sample:
                time.sleep(0.2)
            if caller.poll() is None:
                report.samples.append(sample(watch, time.monotonic() - started))
                print(report.samples[-1], flush=True)
        if caller.poll() is None:
            caller.terminate()  # its last calls are stuck: sipp prints its statistics and exits
        run = sip_engine.finish(caller)
        report.completed, report.failed, report.achieved = run.successful, run.failed, run.rate
    finally:
        if caller.poll() is None:
            caller.kill()
        gateway.kill()
        gateway.wait()
    report.drained_counts = watch.wait_drained(drain_seconds)
    report.drained_rss_mb = watch.rss_kb() / 1024
    report.lines_held = lines_held_after_the_calls()
    report.tracebacks = watch.tracebacks()
    return report


def lines_held_after_the_calls(timeout: float = LINES_BACK_SECONDS) -> dict[str, str]:
    """The lines still held in Redis once every node's pool had time to go back (a pool goes
    back a second or two after its lease: a timer that never fired would keep it)."""
    import redis
    from django.conf import settings

    from softswitch.redis_keys import CAPACITY_IN_USE_KEY

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    deadline = time.monotonic() + timeout
    try:
        while (held := client.hgetall(CAPACITY_IN_USE_KEY)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return held
    finally:
        client.close()


def judge(report: SoakReport, max_rss_slope: float, max_count_growth: float) -> None:
    """Fit each metric over the second half of the run (and at least one full 32 s timer
    period after the start, with margin: `STEADY_AFTER`) and apply the bounds."""
    steady = report.steady(max(report.seconds / 2, STEADY_AFTER))
    xs = [s.seconds / 60 for s in steady]
    for metric in METRICS:
        ys = [float(getattr(s, metric)) for s in steady]
        report.fits[metric] = (slope(xs, ys), sum(ys) / len(ys) if ys else 0.0)
    span = (xs[-1] - xs[0]) if len(xs) > 1 else 0.0
    if len(steady) < 3:
        report.failures.append(f"only {len(steady)} samples in the second half: run longer")
    rss_slope, _ = report.fits["rss_mb"]
    if rss_slope > max_rss_slope:
        report.failures.append(
            f"RSS grows {rss_slope:.2f} MB/min over the second half (bound {max_rss_slope})"
        )
    for metric in METRICS[1:]:
        per_minute, mean = report.fits[metric]
        if per_minute * span > max_count_growth * mean + 20:
            report.failures.append(
                f"{metric} grow {per_minute:.0f}/min over the second half (mean {mean:.0f}; "
                f"bound {max_count_growth:.0%} of the mean + 20 over {span:.1f} min)"
            )
    if not drained(report.drained_counts):
        report.failures.append(
            f"after the last call the engine still holds {report.drained_counts}"
        )
    if report.lines_held:
        report.failures.append(f"after the last call Redis still holds lines {report.lines_held}")
    if report.completed == 0:
        report.failures.append("no call completed")
    report.failures += [f"the engine logged a traceback:\n{t}" for t in report.tracebacks[:3]]


def figures(report: SoakReport, max_rss_slope: float, max_count_growth: float) -> list[str]:
    """The report's markdown: samples once a minute (and the last), fits, verdict."""
    every = max(1, round(60 / (report.samples[1].seconds or 60 if len(report.samples) > 1 else 60)))
    shown = report.samples[::every]
    if report.samples and shown[-1] is not report.samples[-1]:
        shown.append(report.samples[-1])
    left = report.drained_counts
    transactions_left = left.get("server_transactions", 0) + left.get("client_transactions", 0)
    lines = [
        "| time | RSS | transactions | dialogs | calls | legs |",
        "|---|---|---|---|---|---|",
        *(
            f"| {s.seconds:.0f} s | {s.rss_mb:.1f} MB | {s.transactions:,} | {s.dialogs:,} | "
            f"{s.calls:,} | {s.legs:,} |"
            for s in shown
        ),
        f"| drained | {report.drained_rss_mb:.1f} MB | {transactions_left} "
        f"| {left.get('dialogs', 0)} | {left.get('calls', 0)} | {left.get('legs', 0)} |",
        "",
        "Slope over the second half, per minute: "
        + ", ".join(
            f"{metric} {per_minute:+.2f}" if metric == "rss_mb" else f"{metric} {per_minute:+.1f}"
            for metric, (per_minute, _) in report.fits.items()
        )
        + f" (bounds: RSS {max_rss_slope:g} MB/min; counts {max_count_growth:.0%} of their mean"
        " + 20 over the half).",
        "",
        f"{report.completed:,} calls completed, {report.failed:,} failed, "
        f"{report.achieved:,.0f} calls/s sustained: "
        + ("**passed**." if not report.failures else "**FAILED**: " + "; ".join(report.failures)),
    ]
    return lines


def workers(count: int) -> str:
    return "one process" if count == 1 else f"{count} workers, RSS added up, counts summed"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--rate", type=int, default=250, help="calls per second")
    parser.add_argument("--hold-ms", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    parser.add_argument("--max-rss-slope", type=float, default=1.0, help="MB per minute")
    parser.add_argument("--max-count-growth", type=float, default=0.10, help="share of mean")
    parser.add_argument("--database", default="vosadmin_harness")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--workers", type=int, default=1, help="the engine's SIP_WORKERS")
    parser.add_argument("--lines", type=int, default=LINES, help="both gateways' line limit")
    parser.add_argument("--no-report", action="store_true", help="leave docs/benchmarks.md")
    arguments = parser.parse_args()
    sip_engine.setup_django(sip_engine.bench_environment(arguments.database, arguments.redis_db))
    from tests.engine.harness import EngineRunner, free_port  # needs Django set up

    gateway_port = free_port(sip_engine.GATEWAY_IP)
    sip_engine.create_route(gateway_port, lines=arguments.lines)
    engine_env = {"LOG_LEVEL": "INFO", "SIP_WORKERS": str(arguments.workers)}
    runner = EngineRunner(node="soak", env=engine_env).start()
    try:
        report = soak(
            runner,
            rate=arguments.rate,
            seconds=arguments.seconds,
            gateway_port=gateway_port,
            interval=arguments.interval,
            hold_ms=arguments.hold_ms,
        )
        judge(report, arguments.max_rss_slope, arguments.max_count_growth)
    finally:
        stopped = stop_engine(runner)
    lines = figures(report, arguments.max_rss_slope, arguments.max_count_growth)
    print("\n".join(lines))
    text = (
        f"`make soak` (bench/soak.py): sipp UAC → engine ({workers(arguments.workers)}) → "
        f"sipp UAS at {arguments.rate} "
        f"calls/s for {arguments.seconds} s, {arguments.hold_ms} ms hold, engine sampled "
        f"every {arguments.interval:g} s (RSS from /proc, counts from its SIGUSR2 line); "
        "the memory and counts must not grow over the second half, and nothing may be left "
        "once the calls are over and the 32 s timers have run." + lines_note(arguments.lines)
    )
    if stopped:
        report.failures.append(stopped)
    conclude("Soak", [text, "", *lines], report.failures, not arguments.no_report)


if __name__ == "__main__":
    main()
