"""The engine node's Prometheus metrics (SPEC §10) and its heartbeat in Redis.

With `SIP_METRICS_LISTEN` set, `EngineMetrics.install()` counts SIP messages, ended calls,
security events and configuration reloads in plain dicts (one increment each, no lock, no
Prometheus object on the call path) and serves `/metrics` from prometheus_client's HTTP server
thread; `EngineCollector` turns the dicts and the engine's own tables (calls, dialogs,
transactions, bindings, TCP connections) into metric families at scrape time only.

Independently of that, `Heartbeat` writes the node's heartbeat and its CDR journal backlog to
Redis every few seconds (softswitch/redis_keys.py): the console's "process down" and "CDRs
waiting" alarms read them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from softswitch.engine.overload import SHED_METHODS
from softswitch.redis_keys import HEARTBEATS_KEY, SECURITY_EVENTS, cdr_backlog_key
from softswitch.sip.message import Request
from softswitch.sip.parser import Malformed

if TYPE_CHECKING:
    from softswitch.engine.process import Engine
    from softswitch.rules.cdr import CallRecord
    from softswitch.rules.charging import CallCharges

SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)  # Linux ≥ 4.6; Python does not name it
MEMINFO_SIZE = 9 * 4  # SK_MEMINFO_VARS u32 values, RMEM_ALLOC first

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
BACKLOG_TTL = 60  # a node that stops reporting its backlog does not leave a stale figure
# Methods get their own label value; anything else on the wire is "other" (low cardinality).
METHODS = frozenset(
    {
        *("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "PRACK", "UPDATE"),
        *("REFER", "NOTIFY", "SUBSCRIBE", "MESSAGE"),
    }
)
RELOAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def method_label(message: Any) -> str:
    """The method a message belongs to (a response: its CSeq's), or "other"."""
    try:
        method = message.method if isinstance(message, Request) else message.cseq.method
    except Exception:
        return "other"
    return method if method in METHODS else "other"


def message_kind(message: Any) -> str:
    if isinstance(message, Malformed):
        return "malformed"
    return "request" if isinstance(message, Request) else "response"


class Tallies:
    """What the wrappers count (read by the collector's thread: plain dicts copied whole)."""

    def __init__(self) -> None:
        self.received: Counter[tuple[str, str]] = Counter()  # (kind, method)
        self.sent: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[str] = Counter()  # answered / failed
        self.end_reasons: Counter[str] = Counter()
        self.security: Counter[str] = Counter()


class JournalBacklog:
    """The number of CDR lines between the journal's committed offset and its end.

    Newlines are counted incrementally from the start of the file to each of the two offsets,
    so each byte is read about twice however long the database stays away; a compaction
    (the file truncated to 0) starts the counts again. Blocking: run it in an executor.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines_to: dict[str, tuple[int, int]] = {"committed": (0, 0), "end": (0, 0)}
        self.cdrs = 0
        self.bytes = 0

    def measure(self, committed: int) -> int:
        """Update and return the backlog, from `committed` to the journal's current end."""
        end = self.path.stat().st_size  # the journal is unbuffered: its size is what was written
        committed = min(committed, end)  # compacted since `committed` was read
        if end < self.lines_to["end"][0] or committed < self.lines_to["committed"][0]:
            self.lines_to = {"committed": (0, 0), "end": (0, 0)}
        with open(self.path, "rb") as journal:
            for name, offset in (("committed", committed), ("end", end)):
                self.lines_to[name] = self._advance(journal, *self.lines_to[name], offset)
        self.bytes = end - committed
        self.cdrs = self.lines_to["end"][1] - self.lines_to["committed"][1]
        return self.cdrs

    @staticmethod
    def _advance(journal: Any, start: int, lines: int, offset: int) -> tuple[int, int]:
        journal.seek(start)
        remaining = offset - start
        while remaining > 0:
            chunk = journal.read(min(remaining, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            remaining -= len(chunk)
        return offset - remaining, lines


class Heartbeat:
    """Every HEARTBEAT_SECONDS: this node's heartbeat and CDR backlog, written to Redis."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backlog = JournalBacklog(engine.journal.path)

    async def beat(self) -> None:
        engine = self.engine
        loop = asyncio.get_running_loop()
        cdrs = await loop.run_in_executor(
            engine.executor, self.backlog.measure, engine.journal.committed
        )
        node = engine.settings.node
        with contextlib.suppress(Exception):  # Redis away: the alarm sees the beat go stale
            pipe = engine.redis.pipeline(transaction=False)
            pipe.hset(HEARTBEATS_KEY, f"engine:{node}", f"{engine.clock.now():.3f}")
            pipe.set(cdr_backlog_key(node), cdrs, ex=BACKLOG_TTL)
            await pipe.execute()


class EngineCollector(Collector):
    """The engine's metrics, computed when Prometheus scrapes (never on the call path)."""

    def __init__(self, engine: Engine, tallies: Tallies, backlog: JournalBacklog) -> None:
        self.engine = engine
        self.tallies = tallies
        self.backlog = backlog

    def collect(self) -> Iterator[Any]:
        yield from self._traffic()
        yield from self._state()

    def _traffic(self) -> Iterator[Any]:
        tallies = self.tallies
        for direction, counts in (("received", tallies.received), ("sent", tallies.sent)):
            family = CounterMetricFamily(
                f"vosadmin_sip_messages_{direction}",
                f"SIP messages {direction}, by kind (request, response, malformed) and method.",
                labels=["kind", "method"],
            )
            for (kind, method), count in dict(counts).items():
                family.add_metric([kind, method], count)
            yield family
        ended = dict(tallies.calls)
        yield _counter(
            "vosadmin_sip_calls", "Calls ended, by result (answered or failed).", "result", ended
        )
        yield CounterMetricFamily(
            "vosadmin_sip_calls_started",
            "Calls started: those ended plus those in progress.",
            value=sum(ended.values()) + len(self.engine.switch.calls.calls),
        )
        yield _counter(
            "vosadmin_sip_call_ends",
            "Calls ended, by end reason (SIP status or negative internal code, SPEC §7).",
            "end_reason",
            tallies.end_reasons,
        )
        security = Counter(dict.fromkeys(SECURITY_EVENTS, 0))
        security.update(dict(tallies.security))
        yield _counter(
            "vosadmin_sip_security_events",
            "Security events: failed registrations, unauthorised requests, replaced bindings.",
            "event",
            security,
        )
        shed = Counter(dict.fromkeys(SHED_METHODS, 0))
        shed.update(dict(self.engine.overload.shed))
        yield _counter(
            "vosadmin_sip_requests_shed",
            "New INVITEs and REGISTERs answered 503 because the engine was behind (overload).",
            "method",
            shed,
        )

    def _state(self) -> Iterator[Any]:
        engine = self.engine
        calls = engine.switch.calls
        yield _gauge("vosadmin_sip_calls_in_progress", "Calls in progress.", len(calls.calls))
        yield _gauge("vosadmin_sip_dialogs", "Dialogs (call legs) up.", len(calls.by_dialog))
        transactions = GaugeMetricFamily(
            "vosadmin_sip_transactions", "SIP transactions in progress.", labels=["role"]
        )
        transactions.add_metric(["server"], len(engine.layer.servers))
        transactions.add_metric(["client"], len(engine.layer.clients))
        yield transactions
        registered = len(engine.bindings.bindings)
        yield _gauge("vosadmin_sip_registrations", "Phones registered on this node.", registered)
        yield _gauge("vosadmin_sip_tcp_connections", "Open SIP TCP connections.", len(engine.tcp))
        yield _gauge(
            "vosadmin_sip_receive_queue_delay_seconds",
            "How long the engine's last probe waited unread in its UDP socket (what overload "
            "control reads; one every 100 ms).",
            engine.probe.last or 0.0,  # (the age of one unread needs the loop's clock)
        )
        yield _gauge(
            "vosadmin_sip_receive_queue_bytes",
            "Bytes of datagrams waiting unread in the engine's UDP socket.",
            _receive_queue_bytes(engine.udp.transport),
        )
        yield _gauge(
            "vosadmin_cdr_journal_backlog",
            "CDRs journaled on this node and not yet in the database (at the last heartbeat).",
            self.backlog.cdrs,
        )
        yield _gauge(
            "vosadmin_cdr_journal_backlog_bytes",
            "Bytes of the CDR journal not yet in the database (at the last heartbeat).",
            self.backlog.bytes,
        )


def _receive_queue_bytes(transport: Any) -> int:
    """What the kernel counts in the socket's receive queue (`SO_MEMINFO` RMEM_ALLOC, `ss -u`'s
    Recv-Q: each datagram with its buffer); 0 where it cannot be read."""
    try:
        sock = transport.get_extra_info("socket")
        meminfo = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, MEMINFO_SIZE)
    except (AttributeError, OSError):
        return 0
    return int(struct.unpack_from("I", meminfo)[0])


def _counter(name: str, documentation: str, label: str, counts: Mapping[str, int]) -> Any:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for value, count in dict(counts).items():
        family.add_metric([value], count)
    return family


def _gauge(name: str, documentation: str, value: float) -> Any:
    return GaugeMetricFamily(name, documentation, value=value)


class EngineMetrics:
    """`/metrics` of one engine node: counting wrappers, the collector and the HTTP thread."""

    def __init__(self, engine: Engine, heartbeat: Heartbeat) -> None:
        self.engine = engine
        self.tallies = Tallies()
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(EngineCollector(engine, self.tallies, heartbeat.backlog))
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, memory
        self.reloads = Histogram(
            "vosadmin_sip_config_reload_seconds",
            "Time to apply one configuration change notification (NOTIFY) to the cache.",
            buckets=RELOAD_BUCKETS,
            registry=self.registry,
        )
        self.server: Any = None

    def install(self) -> None:
        """Wrap the engine's entry points with the counting ones (replacing bound methods on
        the instances is the point, hence the method-assign ignores)."""
        engine, tallies = self.engine, self.tallies
        layer, calls = engine.layer, engine.switch.calls
        layer.receive = _counting(layer.receive, tallies.received)  # type: ignore[method-assign]
        layer._send = _counting(layer._send, tallies.sent, position=1)  # type: ignore[method-assign]
        layer.send_stateless = _counting(layer.send_stateless, tallies.sent)  # type: ignore[method-assign]
        calls.write_cdr = _ending(calls.write_cdr, tallies)  # type: ignore[method-assign,assignment]
        engine.counters.security = _security(engine.counters.security, tallies.security)  # type: ignore[method-assign]
        engine.listener.on_notify = _timed(engine.listener.on_notify, self.reloads)

    def serve(self, listen: tuple[str, int]) -> None:
        """Serve `/metrics` on `listen` from a daemon thread."""
        host, port = listen
        self.server, _ = start_http_server(port, addr=host, registry=self.registry)
        logger.info("SIP engine metrics on http://%s:%s/metrics", host, port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _counting(
    function: Callable[..., Any], counts: Counter[tuple[str, str]], position: int = 0
) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any) -> Any:
        message = args[position]
        counts[message_kind(message), method_label(message)] += 1
        return function(*args)

    return wrapper


def _ending(
    function: Callable[[CallRecord], CallCharges | None], tallies: Tallies
) -> Callable[[CallRecord], CallCharges | None]:
    @functools.wraps(function)
    def wrapper(record: CallRecord) -> CallCharges | None:
        tallies.calls["answered" if record.connect_time else "failed"] += 1
        tallies.end_reasons[str(record.end_reason)] += 1
        return function(record)

    return wrapper


def _security(function: Callable[..., None], counts: Counter[str]) -> Callable[..., None]:
    @functools.wraps(function)
    def wrapper(metric: str, now: float, count: int = 1) -> None:
        counts[metric] += count
        function(metric, now, count)

    return wrapper


def _timed(function: Callable[..., Any], histogram: Histogram) -> Callable[..., Any]:
    @functools.wraps(function)
    async def wrapper(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args)
        finally:
            histogram.observe(time.perf_counter() - started)

    return wrapper
