"""One rate of bench/compare.py's harness against the engine, optionally under py-spy: how the
engine's hot path is profiled (docs/adr/0009). With bench/gcprobe on PYTHONPATH it also
measures the cyclic collector:

    DATABASE_URL=… REDIS_URL=… GCPROBE_OUT=/tmp/gc PYTHONPATH=bench/gcprobe:. \\
      .venv/bin/python -m vosadmin.stack exec -- \\
      .venv/bin/python -m bench.profile_engine 800 30 --py-spy /tmp/engine.txt --format raw

prints the step's row (as in docs/benchmarks.md); `--format flamegraph` writes an SVG. py-spy
is the `profile` extra: `.venv/bin/pip install -e ".[profile]"`.

`--workers N` runs N workers and the dispatcher unpinned, as `make bench-compare
MODE=all-cores` does, and prints each engine thread's share of a core over the steady part of
the run (the dispatcher's loop is the parent's `sip-dispatcher` thread; docs/adr/0011):

    .venv/bin/python -m vosadmin.stack exec -- \\
      .venv/bin/python -m bench.profile_engine 800 20 --lines 10000 --workers 2

`--one-core` puts the workers and the dispatcher on core 1 too, beside nothing but each
other (sipp on core 0, as for one process): what splitting the engine costs a call, apart
from sharing cores with the load. Every run prints the engine's CPU and context switches a
call.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time

import psutil

from bench.compare import SIPP_CORE, run_rate, vosadmin
from bench.sip_engine import bench_environment

STEADY = (8, 10)  # the seconds of a run whose threads are measured: after 8 s, for 10 s


def thread_seconds(engine: psutil.Process) -> dict[str, float]:
    """CPU seconds of every thread of the engine and its workers, by process and thread id
    (with workers, the parent's busiest thread is the dispatcher's loop)."""
    seconds = {}
    for process in (engine, *engine.children(recursive=True)):
        role = "engine" if process.pid == engine.pid else "worker"
        for thread in process.threads():
            name = f"{role} {process.pid}, thread {thread.id}"
            seconds[name] = thread.user_time + thread.system_time
    return seconds


def context_switches(engine: psutil.Process) -> int:
    """Voluntary and involuntary, of the engine and its workers so far."""
    return sum(sum(p.num_ctx_switches()) for p in (engine, *engine.children(recursive=True)))


def thread_shares(engine: psutil.Process, shares: dict[str, float]) -> None:
    """Fill `shares` with each thread's share of a core over STEADY."""
    time.sleep(STEADY[0])
    before = thread_seconds(engine)
    time.sleep(STEADY[1])
    for name, seconds in thread_seconds(engine).items():
        shares[name] = (seconds - before.get(name, seconds)) / STEADY[1] * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rate", type=int, help="calls per second")
    parser.add_argument("seconds", type=int)
    parser.add_argument("--py-spy", dest="output", help="record with py-spy into this file")
    parser.add_argument("--format", default="raw", choices=["raw", "flamegraph"])
    parser.add_argument("--lines", type=int, default=0, help="both gateways' line limit")
    parser.add_argument(
        "--workers", type=int, default=1, help="more than 1: unpinned (but --one-core)"
    )
    parser.add_argument(
        "--one-core", action="store_true", help="the workers too on core 1, sipp on core 0"
    )
    args = parser.parse_args()
    pinned = args.workers == 1 or args.one_core  # one process on core 1; workers anywhere
    engine, _ = vosadmin(bench_environment(), pinned, args.workers, args.lines)()  # rated
    shares: dict[str, float] = {}
    switches = context_switches(engine.ps)
    measuring = threading.Thread(target=thread_shares, args=(engine.ps, shares))
    try:
        spy = args.output and subprocess.Popen(
            [
                "taskset", "-c", SIPP_CORE,  # the sampler must not share the engine's core
                ".venv/bin/py-spy", "record", "--nonblocking", "-p", str(engine.process.pid),
                "-o", args.output, "-f", args.format, "-d", str(args.seconds + 3), "-r", "200",
                *(["--subprocesses"] if args.workers > 1 else []),
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        measuring.start()
        step = run_rate(engine, args.rate, args.seconds, pinned)
        measuring.join()
        if spy:
            spy.wait()
        switches = context_switches(engine.ps) - switches
    finally:
        engine.stop()
    print(step.row())
    cpu_ms, calls = step.cpu_percent / args.rate * 10, args.rate * args.seconds
    print(f"{cpu_ms:.3f} ms of CPU and {switches / calls:.1f} context switches a call")
    for name, share in sorted(shares.items(), key=lambda item: -item[1]):
        if share >= 0.5:
            print(f"{share:5.1f} % of a core: {name}")


if __name__ == "__main__":
    main()
