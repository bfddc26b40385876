"""Benchmark: what an engine node's Prometheus metrics cost (issue 15: under 2 % of the
engine's CPU at 500 calls/s).

    .venv/bin/python bench/engine_metrics.py [--engine-ms-per-call 1.54] [--scrape-seconds 15]

In-process, no engine, database or sipp needed, so it runs in seconds: it times the two costs
the metrics add (softswitch/engine/metrics.py) on real parsed SIP messages —

- the counting wrapper around each message received and sent (a request, a response), times
  the messages of one call through the B2BUA (7 requests and 8 responses: INVITE, ACK and BYE
  in and out, 100/180/200 and the BYE's 200 in and out, one more 100), and
- one scrape: the collector's families rendered by prometheus_client for a node with 500 calls
  up and 40 distinct end reasons, spread over the scrape interval —

and relates them to the engine's measured CPU per call (docs/benchmarks.md, `make
bench-calls`). It prints a Markdown section for docs/benchmarks.md. What it does not measure:
a 500 calls/s load run with and without scraping (on a shared 2-CPU machine a 1 % difference
is below the noise of such runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import timeit
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from softswitch.engine.metrics import (
    EngineCollector,
    JournalBacklog,
    Tallies,
    _counting,
)
from softswitch.sip.parser import parse_message

HEADERS = (
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-bench\r\n"
    b"From: <sip:2125550100@192.0.2.10>;tag=a1\r\nTo: <sip:8613800000001@198.51.100.1>\r\n"
    b"Call-ID: bench@192.0.2.10\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n"
)
REQUEST = (
    b"INVITE sip:8613800000001@198.51.100.1 SIP/2.0\r\n"
    + HEADERS
    + (b"Contact: <sip:2125550100@192.0.2.10>\r\nMax-Forwards: 70\r\n\r\n")
)
RESPONSE = b"SIP/2.0 180 Ringing\r\n" + HEADERS + b"\r\n"
REQUESTS_PER_CALL, RESPONSES_PER_CALL = 7, 8


def wrapper_seconds(raw: bytes, number: int = 200_000) -> float:
    """Seconds the counting wrapper adds to handing one message on."""
    message = parse_message(raw)
    tallies = Tallies()

    def plain(message: object, flow: object) -> None:
        return None

    counted = _counting(plain, tallies.received)
    bare = min(timeit.repeat(lambda: plain(message, None), number=number, repeat=5))
    wrapped = min(timeit.repeat(lambda: counted(message, None), number=number, repeat=5))
    return (wrapped - bare) / number


def scrape_seconds(number: int = 300) -> tuple[float, int]:
    """CPU seconds of one scrape of a busy node, and the size of its text."""
    tallies = Tallies()
    tallies.calls.update(answered=1_000_000, failed=400_000)
    tallies.end_reasons.update({str(code): 1000 for code in [*range(400, 440), -1, -2]})
    for kind in ("request", "response"):
        for method in ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "other"):
            tallies.received[kind, method] = tallies.sent[kind, method] = 123_456
    tallies.security = Counter(register_failed=10, unauthorized=20, register_replaced=3)
    calls = SimpleNamespace(calls=dict.fromkeys(range(500)), by_dialog=dict.fromkeys(range(1000)))
    engine = SimpleNamespace(
        switch=SimpleNamespace(calls=calls),
        layer=SimpleNamespace(servers=dict.fromkeys(range(3000)), clients={}),
        bindings=SimpleNamespace(bindings=dict.fromkeys(range(10_000))),
        tcp=[],
    )
    registry = CollectorRegistry(auto_describe=True)
    registry.register(EngineCollector(engine, tallies, JournalBacklog(Path(os.devnull))))
    text = generate_latest(registry)
    seconds = min(timeit.repeat(lambda: generate_latest(registry), number=number, repeat=3))
    return seconds / number, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine-ms-per-call", type=float, default=1.54)
    parser.add_argument("--scrape-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=500.0, help="calls per second")
    arguments = parser.parse_args()
    request, response = wrapper_seconds(REQUEST), wrapper_seconds(RESPONSE)
    per_call = REQUESTS_PER_CALL * request + RESPONSES_PER_CALL * response
    scrape, size = scrape_seconds()
    engine_per_second = arguments.rate * arguments.engine_ms_per_call / 1000
    counting = arguments.rate * per_call
    scraping = scrape / arguments.scrape_seconds
    share = 100 * (counting + scraping) / engine_per_second
    rows = [
        ("counting a request / a response", f"{request * 1e6:.2f} µs / {response * 1e6:.2f} µs"),
        (
            f"per call ({REQUESTS_PER_CALL} requests, {RESPONSES_PER_CALL} responses)",
            f"{per_call * 1e6:.1f} µs",
        ),
        (f"one scrape (500 calls up, 42 end reasons; {size:,} bytes)", f"{scrape * 1000:.2f} ms"),
        (
            f"at {arguments.rate:.0f} calls/s, scraped every {arguments.scrape_seconds:.0f} s",
            f"{(counting + scraping) * 1000:.1f} ms of CPU per second",
        ),
        ("share of the engine's CPU", f"**{share:.2f} %** ({'met' if share < 2 else 'not met'})"),
    ]
    print("### Engine metrics (issue 15)\n")
    print(
        f"`python bench/engine_metrics.py`: the cost of SIP_METRICS_LISTEN at "
        f"{arguments.rate:.0f} calls/s, against {arguments.engine_ms_per_call} ms of engine CPU "
        "per call (`make bench-calls`). Target: under 2 %.\n"
    )
    print("| what | cost |\n|---|---|")
    for what, cost in rows:
        print(f"| {what} | {cost} |")
    print(
        f"\nMeasured on {platform.machine()}, Python {platform.python_version()}; in-process "
        "timings (the best of 5 runs), not a load run with and without scraping."
    )


if __name__ == "__main__":
    main()
