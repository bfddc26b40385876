"""A bounded SIP fuzzer against a real engine (`make fuzz-sip`).

Sends the RFC 4475 torture messages as they are, then N messages drawn from a seed: real
messages (tests/sip/samples.py and RFC 4475) with fresh branches and Call-IDs, most of them
mutated (tests/sip/mutations.py), over UDP and TCP from several loopback addresses, one of them
a mapping gateway (so INVITEs are routed, to a gateway that answers 486). Fails if:

- the engine logs a traceback or exits;
- a valid OPTIONS (from another address, every `--probe-every` messages and after each wave)
  gets no 200 within 30 s;
- its transactions, dialogs, calls and legs are not all gone `DRAIN_SECONDS` after a wave
  (Timer J/H is 32 s), read from the counts the engine logs on SIGUSR2;
- its RSS, measured once each of two equal waves has drained, grew by more than
  `--max-rss-growth-mb` from the first wave to the second (the first wave warms the allocator
  and caches; a second equal wave must not need more memory).

    make fuzz-sip                                   50,000 messages, seed 1
    make fuzz-sip FUZZ_SIP_ARGS="--messages 200000 --seed 7"

Works in its own database (default `vosadmin_harness`) and Redis db 13, on the server
DATABASE_URL / REDIS_URL name; writes its figures into docs/benchmarks.md ("Fuzzing").
"""

from __future__ import annotations

import argparse
import contextlib
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from bench.watch import (
    DRAIN_SECONDS,
    EngineWatch,
    conclude,
    drained,
    options_answered,
    stop_engine,
)
from tests.sip.mutations import SEEDS, TORTURE, RandomChooser, freshen, mutate
from tests.sip.samples import INVITE, REGISTER

PROBE_IP = "127.0.0.2"  # a mapping gateway's address: its OPTIONS are answered
GATEWAY_IP = "127.0.0.3"  # the routing gateway (SinkGateway)
SOURCES = ["127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"]  # the first is a gateway's
TCP_SHARE = 0.25
# Half the messages start from requests the engine acts on (a routable INVITE from the mapping
# gateway's address reaches routing and the gateway), half from SEEDS (samples + RFC 4475).
ROUTABLE_INVITE = INVITE.replace(b"+4930123456", b"8613800000000").replace(
    b"+4930999", b"2125550100"
)
ENGINE_SEEDS = [
    ROUTABLE_INVITE,
    REGISTER,
    *(
        ROUTABLE_INVITE.replace(b"INVITE", method).split(b"Content-Type")[0]
        + b"Content-Length: 0\r\n\r\n"
        for method in (b"OPTIONS", b"BYE", b"CANCEL", b"ACK", b"INFO")
    ),
]
MUTATED_SHARE = 0.8
TCP_MESSAGES_PER_CONNECTION = 40


def create_data(gateway_port: int) -> None:
    """A mapping gateway (the probe's and one fuzz source's address), a routing gateway for
    every number the seed messages dial, a phone the REGISTER seed names; suspension off (a
    suspended source would only be dropped) and replies to unknown sources on."""
    from softswitch.models import MappingGateway, Phone, RoutingGateway
    from vosadmin.core.parameters import update_parameter

    MappingGateway.objects.create(name="FUZZ-CUSTOMER", ips=[PROBE_IP, SOURCES[0]])
    RoutingGateway.objects.create(
        name="FUZZ-VENDOR",
        host=GATEWAY_IP,
        port=gateway_port,
        prefixes=[str(digit) for digit in range(10)],
    )
    Phone.objects.create(e164="4930999", password="pw-4930999")
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 0)
    update_parameter("SS_REPLY_UNAUTHORIZED", True)


class SinkGateway:
    """A routing gateway on UDP that refuses every call (486) and answers other requests 200."""

    def __init__(self, host: str = GATEWAY_IP) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        from softswitch.sip.message import Request, build_response
        from softswitch.sip.parser import try_parse_message

        while self.running:
            try:
                data, remote = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            message = try_parse_message(data)
            if isinstance(message, Request) and message.method != "ACK":
                status = 486 if message.method == "INVITE" else 200
                with contextlib.suppress(Exception):
                    response = build_response(message, status, to_tag=uuid.uuid4().hex[:8])
                    self.sock.sendto(response.to_bytes(), remote)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


@dataclass
class FuzzReport:
    """What a fuzz run did and saw."""

    sent_udp: int = 0
    sent_tcp: int = 0
    tcp_connections: int = 0
    probes: int = 0
    slowest_probe: float = 0.0
    failures: list[str] = field(default_factory=list)
    wave_rss_kb: list[int] = field(default_factory=list)  # after each wave drained
    wave_end_counts: list[dict[str, int]] = field(default_factory=list)  # at the last message
    wave_counts: list[dict[str, int]] = field(default_factory=list)  # once drained
    start_rss_kb: int = 0
    peak_rss_kb: int = 0
    seconds: float = 0.0

    @property
    def rss_growth_kb(self) -> int:
        """From the first drained wave to the last."""
        return self.wave_rss_kb[-1] - self.wave_rss_kb[0] if len(self.wave_rss_kb) > 1 else 0


class Sender:
    """UDP sockets and TCP connections from each source address to the engine."""

    def __init__(self, target: tuple[str, int], sources: list[str]) -> None:
        self.target = target
        self.udp = {}
        for source in sources:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((source, 0))
            sock.setblocking(False)
            self.udp[source] = sock
        self.tcp: dict[str, tuple[socket.socket, int]] = {}
        self.connections = 0

    def send(self, data: bytes, source: str, transport: str) -> None:
        if transport == "udp":
            with contextlib.suppress(BlockingIOError, OSError):
                self.udp[source].sendto(data, self.target)
            return
        sock, sent = self.tcp.get(source, (None, 0))
        if sock is None or sent >= TCP_MESSAGES_PER_CONNECTION:
            self._close(source)
            sock = socket.create_connection(self.target, timeout=5, source_address=(source, 0))
            sock.setblocking(False)
            self.connections += 1
            sent = 0
        try:
            sock.sendall(data)
            self.tcp[source] = (sock, sent + 1)
        except OSError:  # the engine closed it (garbage on a stream): open another next time
            self._close(source)

    def drain(self) -> None:
        """Read and drop whatever the engine answered (a full socket buffer would make it keep
        unsent responses in memory)."""
        for sock in [*self.udp.values(), *(sock for sock, _ in self.tcp.values())]:
            with contextlib.suppress(BlockingIOError, OSError):
                while sock.recv(65535):
                    pass

    def _close(self, source: str) -> None:
        sock, _ = self.tcp.pop(source, (None, 0))
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for source in list(self.tcp):
            self._close(source)
        for sock in self.udp.values():
            sock.close()


def fuzz(
    runner: object,
    *,
    messages: int,
    seed: int,
    waves: int = 2,
    rate: float = 2000,
    probe_every: int = 500,
    drain_seconds: float = DRAIN_SECONDS,
) -> FuzzReport:
    """Fuzz the engine of `runner` (a tests.engine.harness.EngineRunner) in `waves` equal waves;
    return what was seen (report.failures empty: it held)."""
    watch = EngineWatch.of(runner)
    host, port = runner.address.rsplit(":", 1)  # type: ignore[attr-defined]
    target = (host, int(port))
    rng = random.Random(seed)
    chooser = RandomChooser(rng)
    report = FuzzReport(start_rss_kb=watch.rss_kb())
    sender = Sender(target, SOURCES)
    started = time.monotonic()
    try:
        for index, torture in enumerate(TORTURE):  # the RFC 4475 set as it is, both transports
            sender.send(torture, SOURCES[index % len(SOURCES)], "udp")
            sender.send(torture, SOURCES[index % len(SOURCES)], "tcp")
            sender.drain()
        per_wave = messages // waves
        for wave in range(waves):
            wave_started = time.monotonic()
            for number in range(per_wave):
                seeds = ENGINE_SEEDS if rng.random() < 0.5 else SEEDS
                data = freshen(rng.choice(seeds), f"{seed}w{wave}n{number}x{rng.getrandbits(32)}")
                if rng.random() < MUTATED_SHARE:
                    data = mutate(data, chooser)
                transport = "tcp" if rng.random() < TCP_SHARE else "udp"
                sender.send(data, rng.choice(SOURCES), transport)
                if transport == "tcp":
                    report.sent_tcp += 1
                else:
                    report.sent_udp += 1
                if number % 50 == 0:
                    sender.drain()
                    pause = wave_started + number / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                if number % probe_every == probe_every - 1 and not probe(watch, target, report):
                    return finish(report, watch, sender, started)
            report.peak_rss_kb = max(report.peak_rss_kb, watch.rss_kb())
            report.wave_end_counts.append(watch.counts())
            sender.close()
            report.tcp_connections += sender.connections
            sender = Sender(target, SOURCES)
            counts = watch.wait_drained(drain_seconds)
            report.wave_counts.append(counts)
            report.wave_rss_kb.append(watch.rss_kb())
            print(
                f"wave {wave + 1}: counts {report.wave_end_counts[-1]} at its end, {counts} "
                f"once drained; RSS {watch.rss_kb()} kB",
                flush=True,
            )
            if not drained(counts):
                report.failures.append(
                    f"wave {wave + 1}: {drain_seconds:.0f} s after the last message the engine "
                    f"still holds {counts} (transactions must expire after Timer J/H, 32 s)"
                )
            if not probe(watch, target, report):
                break
    finally:
        sender.close()
    return finish(report, watch, sender, started)


def probe(watch: EngineWatch, target: tuple[str, int], report: FuzzReport) -> bool:
    """The engine is alive and still answers a valid OPTIONS."""
    report.probes += 1
    if watch.pid and not _alive(watch.pid):
        report.failures.append("the engine exited")
        return False
    delay = options_answered(target, PROBE_IP)
    if delay is None:
        report.failures.append(f"no answer to a valid OPTIONS within 30 s (probe {report.probes})")
        return False
    report.slowest_probe = max(report.slowest_probe, delay)
    return True


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "State:\tZ" not in status.read()
    except FileNotFoundError:
        return False


def finish(report: FuzzReport, watch: EngineWatch, sender: Sender, started: float) -> FuzzReport:
    sender.close()
    report.tcp_connections += sender.connections
    report.seconds = time.monotonic() - started
    for traceback in watch.tracebacks()[:3]:
        report.failures.append(f"the engine logged a traceback:\n{traceback}")
    return report


def check_memory(report: FuzzReport, max_growth_mb: float) -> None:
    if report.rss_growth_kb > max_growth_mb * 1024:
        report.failures.append(
            f"RSS grew by {report.rss_growth_kb / 1024:.1f} MB from the first drained wave to "
            f"the last ({report.wave_rss_kb} kB); the bound is {max_growth_mb} MB"
        )


def main() -> None:
    from bench import sip_engine

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=2000, help="messages per second at most")
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--probe-every", type=int, default=500)
    parser.add_argument("--max-rss-growth-mb", type=float, default=8.0)
    parser.add_argument("--database", default="vosadmin_harness")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--workers", type=int, default=1, help="the engine's SIP_WORKERS")
    parser.add_argument("--no-report", action="store_true", help="leave docs/benchmarks.md")
    arguments = parser.parse_args()
    sip_engine.setup_django(sip_engine.bench_environment(arguments.database, arguments.redis_db))
    from tests.engine.harness import EngineRunner  # needs Django set up

    gateway = SinkGateway()
    create_data(gateway.port)
    engine_env = {"LOG_LEVEL": "INFO", "SIP_WORKERS": str(arguments.workers)}
    runner = EngineRunner(node="fuzz", env=engine_env).start()
    try:
        report = fuzz(
            runner,
            messages=arguments.messages,
            seed=arguments.seed,
            waves=arguments.waves,
            rate=arguments.rate,
            probe_every=arguments.probe_every,
        )
        check_memory(report, arguments.max_rss_growth_mb)
    finally:
        stopped = stop_engine(runner)
        gateway.close()
    if stopped:
        report.failures.append(stopped)
    summary = (
        f"| {arguments.messages:,} | {arguments.seed} | {report.sent_udp:,} / {report.sent_tcp:,} "
        f"({report.tcp_connections} connections) | {report.probes} ({report.slowest_probe:.2f} s) "
        f"| {report.start_rss_kb / 1024:.0f} / {report.peak_rss_kb / 1024:.0f} / "
        f"{', '.join(f'{kb / 1024:.1f}' for kb in report.wave_rss_kb)} MB "
        f"| {report.rss_growth_kb / 1024:+.1f} MB (bound {arguments.max_rss_growth_mb:g}) "
        f"| {'passed' if not report.failures else 'FAILED'} |"
    )
    print(summary)
    body = [FUZZ_TEXT, "", *FUZZ_HEADER, summary]
    conclude("Fuzzing", body, report.failures, not arguments.no_report)


FUZZ_TEXT = (
    "`make fuzz-sip` (bench/fuzz_sip.py): the RFC 4475 messages, then mutated real messages "
    "over UDP and TCP from four loopback addresses, in two equal waves; a valid OPTIONS must "
    "be answered every 500 messages, no traceback logged, every transaction gone after each "
    "wave (Timer J/H, 32 s), and RSS after the second drained wave within the bound of the "
    "first."
)
FUZZ_HEADER = [
    "| messages | seed | UDP / TCP sent | OPTIONS probes (slowest) | RSS start / peak / "
    "after each wave | growth | result |",
    "|---|---|---|---|---|---|---|",
]


if __name__ == "__main__":
    main()
