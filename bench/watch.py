"""Watching a running SIP engine from outside, for the harnesses (bench/fuzz_sip.py,
bench/soak.py, bench/faults.py and their short versions in tests/engine/test_harnesses.py).

RSS comes from /proc/<pid>/status; open transactions, dialogs, calls and legs from the line the
engine logs on SIGUSR2 (`Engine.log_object_counts`); liveness from a valid OPTIONS answered.
An engine of several workers (SIP_WORKERS) is watched whole: its processes' RSS added up, and
its workers' counts (the dispatcher passes SIGUSR2 on: each worker logs its line) summed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

COUNTS = re.compile(r"object counts: (.*)")
COUNT = re.compile(r"(\w+)=(\d+)")  # in a counts line (cyclic garbage may add its types)
TRACEBACK = "Traceback (most recent call last)"
# Every transaction ends by Timer J/H/K/M (32 s) at the latest; a call's legs are forgotten 32 s
# after it ends. Drained means: nothing left of the traffic, waited for at most this long.
DRAIN_SECONDS = 32 + 60


def rss_kb(pid: int) -> int:
    """The process's resident set size (VmRSS, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class EngineWatch:
    """Reads an engine's log (from where the watch started) and samples its state."""

    pid: int
    log_path: Path
    offset: int = 0
    seen: str = ""
    workers: int = 1  # processes that log counts (more than one: they are the pid's children)
    _counts_seen: int = field(default=0)

    @classmethod
    def of(cls, runner: object) -> EngineWatch:
        """Watch a `tests.engine.harness.EngineRunner` (from its current log position)."""
        log_path: Path = runner.log_path  # type: ignore[attr-defined]
        pid = runner.process.pid  # type: ignore[attr-defined]
        workers: int = runner.workers  # type: ignore[attr-defined]
        offset = log_path.stat().st_size if log_path.exists() else 0
        return cls(pid, log_path, offset, workers=workers)

    def read_log(self) -> str:
        """Everything the engine logged since the watch started."""
        with self.log_path.open("rb") as handle:
            handle.seek(self.offset)
            self.seen += handle.read().decode(errors="replace")
            self.offset = handle.tell()
        return self.seen

    def rss_kb(self) -> int:
        """The engine's RSS: of its one process, or of the dispatcher and its workers."""
        children = psutil.Process(self.pid).children() if self.workers > 1 else []
        return rss_kb(self.pid) + sum(rss_kb(child.pid) for child in children)

    def counts(self, timeout: float = 30) -> dict[str, int]:
        """Ask for a counts line (SIGUSR2) from every worker and return their sums:
        server_transactions, client_transactions, dialogs, calls, legs."""
        os.kill(self.pid, signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = COUNTS.findall(self.read_log())
            if len(found) >= self._counts_seen + self.workers:
                self._counts_seen = len(found)
                totals: dict[str, int] = {}
                for line in found[-self.workers :]:
                    for key, value in COUNT.findall(line):
                        totals[key] = totals.get(key, 0) + int(value)
                return totals
            time.sleep(0.05)
        raise AssertionError(f"the engine logged no object counts within {timeout} s")

    def tracebacks(self) -> list[str]:
        """The tracebacks the engine logged (each with the lines that precede and follow it)."""
        text = self.read_log()
        found = []
        start = text.find(TRACEBACK)
        while start >= 0:
            found.append(text[max(0, text.rfind("\n", 0, start - 1) - 300) : start + 3000])
            start = text.find(TRACEBACK, start + 1)
        return found

    def wait_drained(self, timeout: float = DRAIN_SECONDS, slack: int = 0) -> dict[str, int]:
        """Poll the counts until no transaction, dialog, call or leg is left (at most `slack`
        transactions: the harness's own probes) or `timeout` passes; return the last counts."""
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if drained(counts, slack) or time.monotonic() > deadline:
                return counts
            time.sleep(2)


def drained(counts: dict[str, int], slack: int = 0) -> bool:
    transactions = counts["server_transactions"] + counts["client_transactions"]
    return transactions <= slack and counts["dialogs"] == counts["calls"] == counts["legs"] == 0


def options_request(
    target: tuple[str, int], local: tuple[str, int], transport: str = "UDP"
) -> bytes:
    """A valid OPTIONS, new transaction each time."""
    host, port = local
    token = uuid.uuid4().hex
    return (
        f"OPTIONS sip:{target[0]}:{target[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK{token};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:probe@{host}>;tag={token[:10]}\r\n"
        f"To: <sip:{target[0]}:{target[1]}>\r\n"
        f"Call-ID: {token}@{host}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def options_answered(target: tuple[str, int], source_ip: str, timeout: float = 30) -> float | None:
    """Send a valid OPTIONS over UDP (again every 2 s) until a 200 comes back; its delay in
    seconds, or None if nothing came within `timeout` (the engine stopped answering)."""
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source_ip, 0))
        sock.settimeout(2)
        while time.monotonic() - started < timeout:
            sock.sendto(options_request(target, sock.getsockname()), target)
            try:
                while True:
                    data = sock.recv(65535)
                    if data.startswith(b"SIP/2.0 200"):
                        return time.monotonic() - started
            except TimeoutError:
                continue
    return None


def slope(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of ys over xs (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def stop_engine(runner: object, timeout: float = 60) -> str | None:
    """SIGTERM the engine of a tests.engine.harness.EngineRunner; what went wrong, or None."""
    try:
        status = runner.stop(timeout=timeout)  # type: ignore[attr-defined]
    except AssertionError as error:  # did not stop: the runner dumped its stacks and killed it
        return f"the engine did not stop within {timeout:.0f} s of SIGTERM:\n{str(error)[-3000:]}"
    return None if status == 0 else f"the engine did not stop cleanly (status {status})"


def conclude(heading: str, body: list[str], failures: list[str], report: bool) -> None:
    """End a harness run: write its section of docs/benchmarks.md (unless `report` is off),
    print the failures and exit with status 1 if there are any."""
    if report:
        from bench import sip_engine  # sets up Django: only once the run is over

        stamp = f"Measured {datetime.now(UTC):%Y-%m-%d} on {sip_engine.machine()}."
        sip_engine.write_section(heading, [*body, "", stamp])
    for failure in failures:
        print("FAILED:", failure)
    raise SystemExit(1 if failures else 0)
