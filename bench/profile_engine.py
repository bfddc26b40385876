"""One rate of bench/compare.py's harness against the engine, optionally under py-spy: how the
engine's hot path is profiled (docs/adr/0009). With bench/gcprobe on PYTHONPATH it also
measures the cyclic collector:

    DATABASE_URL=… REDIS_URL=… GCPROBE_OUT=/tmp/gc PYTHONPATH=bench/gcprobe:. \\
      .venv/bin/python -m vosadmin.stack exec -- \\
      .venv/bin/python -m bench.profile_engine 800 30 --py-spy /tmp/engine.txt --format raw

prints the step's row (as in docs/benchmarks.md); `--format flamegraph` writes an SVG. py-spy
is the `profile` extra: `.venv/bin/pip install -e ".[profile]"`.
"""

from __future__ import annotations

import argparse
import subprocess

from bench.compare import SIPP_CORE, run_rate, vosadmin
from bench.sip_engine import bench_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rate", type=int, help="calls per second")
    parser.add_argument("seconds", type=int)
    parser.add_argument("--py-spy", dest="output", help="record with py-spy into this file")
    parser.add_argument("--format", default="raw", choices=["raw", "flamegraph"])
    parser.add_argument("--lines", type=int, default=0, help="both gateways' line limit")
    args = parser.parse_args()
    engine, _ = vosadmin(bench_environment(), True, lines=args.lines)()  # on core 1, rated
    try:
        spy = args.output and subprocess.Popen(
            [
                "taskset", "-c", SIPP_CORE,  # the sampler must not share the engine's core
                ".venv/bin/py-spy", "record", "--nonblocking", "-p", str(engine.process.pid),
                "-o", args.output, "-f", args.format, "-d", str(args.seconds + 3), "-r", "200",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        step = run_rate(engine, args.rate, args.seconds, pinned=True)
        if spy:
            spy.wait()
    finally:
        engine.stop()
    print(step.row())


if __name__ == "__main__":
    main()
