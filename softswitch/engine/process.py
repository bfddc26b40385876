"""The SIP engine process: wiring, background tasks, start-up and graceful shutdown.

Start-up: load the configuration (retrying until the database answers), undo a previous run's
concurrency counters, restore this node's registrations, forget its stale current calls, then
serve UDP and TCP on one address. SIGTERM/SIGINT: stop taking new calls, end the calls in
progress (BYE to both sides, a CDR each), write out CDRs, registrations and counters, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import hmac
import io
import logging
import os
import signal
import socket
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis.asyncio
from redis.maint_notifications import MaintNotificationsConfig

from softswitch.engine import store
from softswitch.engine.background import BackgroundLoops
from softswitch.engine.call_manager import CallManager
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.cdr_writer import CdrWriter
from softswitch.engine.clock import Clock
from softswitch.engine.config import ConfigCache
from softswitch.engine.counters import Counters
from softswitch.engine.listener import NotificationListener
from softswitch.engine.metrics import HEARTBEAT_SECONDS, EngineMetrics, Heartbeat
from softswitch.engine.overload import PROBE_SECONDS, DelayProbe, OverloadGuard, OverloadSettings
from softswitch.engine.registrar import BindingStore, Registrar
from softswitch.engine.sip_layer import SipLayer
from softswitch.engine.switch import Switch
from softswitch.engine.tcp_proxy import ProxiedConnection, ProxiedTcp
from softswitch.engine.transport import (
    TCP_BACKLOG,
    DispatchedUdpEndpoint,
    Flow,
    TcpConnection,
    TcpManager,
    UdpEndpoint,
    tcp_socket,
    udp_socket,
    with_buffers,
)
from softswitch.engine.workers import NodeShare, Peers, WorkerSockets, call_id_tag
from softswitch.sip import NATIVE_STATUS
from softswitch.sip.digest import DigestAlgorithm, DigestAuthenticator
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Message
from softswitch.sip.parser import Malformed

logger = logging.getLogger(__name__)

TCP_IDLE_SECONDS = 64.0  # a connection without binding or call is closed after this idle time
FULL_REFRESH_SECONDS = 120.0  # the safety net behind NOTIFY
# Redis is on the call path (capacity): a Redis that stops answering must cost a call at most
# this long before the engine falls back to per-node limits, and must not hold up shutdown.
REDIS_TIMEOUT_SECONDS = 1.0
# A graceful shutdown that takes longer (a database or Redis that stopped answering) is cut
# short: the pending tasks are logged, the CDR journal is synced to disk (what the database did
# not get is written at the next start) and the process exits with status 1.
STOP_SECONDS = 15.0


@dataclass(frozen=True)
class EngineSettings:
    """What one engine node needs to know about itself."""

    listen: tuple[str, int]
    node: str
    node_id: int
    realm: str
    secret: str
    redis_url: str
    spool_dir: Path
    database_params: dict[str, Any]
    advertised_host: str = ""
    count_cyclic_garbage: bool = False  # on SIGUSR2 (SIP_COUNT_CYCLIC_GARBAGE)
    metrics_listen: tuple[str, int] | None = None  # /metrics (SIP_METRICS_LISTEN); None: off
    digest_algorithms: tuple[DigestAlgorithm, ...] = (DigestAlgorithm.MD5, DigestAlgorithm.SHA_256)
    overload: OverloadSettings = field(default_factory=OverloadSettings)  # SIP_OVERLOAD_*
    worker: WorkerSockets | None = None  # one of several workers behind listen (SIP_WORKERS)
    engine: str = ""  # SIP_NODE_NAME, which a worker's node name extends; "": `node`


def digest_secret(secret_key: str) -> bytes:
    """The nonce-signing key, the same on every node that shares SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"vosadmin sip digest nonce", hashlib.sha256).digest()


def advertised_address(settings: EngineSettings) -> tuple[str, int]:
    """The host and port we put in Via and Contact."""
    host, port = settings.listen
    if settings.advertised_host:
        return settings.advertised_host, port
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostbyname(socket.gethostname())
    return host, port


class Engine:
    """One SIP engine node."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="engine-db")
        self.redis = redis.asyncio.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            # Neither CLIENT SETINFO nor CLIENT MAINT_NOTIFICATIONS on connect: Redis before 7.2
            # (and 8) refuses them, and each refusal, caught inside redis-py with its
            # traceback, left cyclic garbage behind every new connection (the soak test saw it).
            driver_info=None,
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        self.counters = Counters(self.redis, settings.node)
        self.journal = CdrJournal(settings.spool_dir, settings.node)
        self.cache = ConfigCache(self.executor, on_change=self._config_changed)
        self.clock = Clock()
        self.probe = DelayProbe(self.clock)
        self.overload = OverloadGuard(self.clock, settings.overload, self.probe)
        self.tcp = self._tcp()
        self.udp = self._udp_endpoint()
        self.peers = self._peers()
        self.bindings = BindingStore(settings.node, self.executor, self.peers, self._share())
        self.switch = Switch(
            cache=self.cache,
            layer=lambda user: SipLayer(self._send, self.clock, user),
            clock=self.clock,
            counters=self.counters,
            authenticator=DigestAuthenticator(digest_secret(settings.secret)),
            realm=settings.realm,
            advertised=advertised_address(settings),
            digest_algorithms=settings.digest_algorithms,
            close_tcp=self.tcp.close,
            close_tcp_from=self.tcp.close_from,
            registrar=lambda switch: Registrar(switch, self.bindings),
            calls=lambda switch: CallManager(
                switch, self.journal, settings.node, settings.node_id, self.executor
            ),
            overload=self.overload,
            ids=IdGenerator(call_id_tag=call_id_tag(settings.worker.index))
            if settings.worker
            else None,
            peers=self.peers,
        )
        self.layer = self.switch.layer
        self.cdr_writer = CdrWriter(
            self.journal,
            self.executor,
            functools.partial(store.write_cdr_batch, origin=settings.node),
            on_committed=self._cdr_batch_committed,
            on_recovered=self.cache.reload_all_accounts,
        )
        self.listener = NotificationListener(
            settings.database_params,
            self.cache.apply_notification,
            self.cache.refresh,
            node=settings.node,
        )
        self.loops = BackgroundLoops()
        self._servers: list[Any] = []
        self.heartbeat = Heartbeat(self)
        self.metrics = EngineMetrics(self, self.heartbeat) if settings.metrics_listen else None
        if self.metrics:
            self.metrics.install()

    def _cdr_batch_committed(self, data: bytes, balances: dict[int, Decimal]) -> None:
        """A CDR batch is in the database: the balances it charged go into the cache (this
        node skips the batch's NOTIFY), and its calls' money is released (ADR 0006)."""
        self.cache.apply_balances(balances)
        self.switch.calls.money.committed(data)

    # Lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Load state and start serving."""
        await self._check_timers()
        await self._load_configuration()
        for previous_run in (self.counters, self.switch.calls.capacity, self.switch.calls.money):
            with contextlib.suppress(Exception):  # Redis away: the node's share stays counted
                await previous_run.forget_previous_run()
        restored = await self.bindings.restore(self.cache.config.phones)
        self.switch.calls.bill_calls_left_open()  # before the CDR writer starts
        share = self.bindings.share
        await asyncio.get_running_loop().run_in_executor(
            self.executor, store.clear_current_calls, self.settings.node, share.engine, share.nodes
        )
        await self._serve()
        if self.metrics and self.settings.metrics_listen:
            self.metrics.serve(self.settings.metrics_listen)
        self._start_loops()
        gc.freeze()  # what start-up loaded lives as long as the process: keep it out of collections
        host, port = self.settings.listen
        logger.info("SIP engine %s: SIP core %s", self.settings.node, NATIVE_STATUS)
        logger.info(
            "SIP engine %s listening on %s:%s (%s); %d registrations restored",
            self.settings.node,
            host,
            port,
            "UDP+TCP",
            restored,
        )

    async def _check_timers(self) -> None:
        """Prove that a timer scheduled through the engine's clock fires (see clock.py)."""
        milliseconds = 1000 * await self.clock.self_check()
        logger.info("SIP engine: timer self-check passed (%.1f ms)", milliseconds)

    def _start_loops(self) -> None:
        calls = self.switch.calls
        self.loops.loop("config listener", self.listener.step)
        self.loops.every("counters", self.counters.interval, self.counters.flush)
        self.loops.loop("CDR writer", self.cdr_writer.step)
        self.loops.every("bindings", 0.1, self.bindings.flush)
        self.loops.every("housekeeping", 1.0, self._housekeeping)
        self.loops.every("queue probe", PROBE_SECONDS, self.udp.send_probe)
        self.loops.every("heartbeat", 1.0, self.journal.heartbeat)
        self.loops.every("monitor heartbeat", HEARTBEAT_SECONDS, self.heartbeat.beat)
        self.loops.every("full refresh", FULL_REFRESH_SECONDS, self.cache.refresh)
        self.loops.every("current calls", 1.0, calls.sync_current_calls)
        self.loops.every("gateway probes", 1.0, calls.gateways.tick)

    async def _load_configuration(self) -> None:
        pause = 0.5
        while not await self.cache.refresh():
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    def _tcp(self) -> TcpManager | ProxiedTcp:
        """A worker's connections are the dispatcher's (tcp_proxy.py)."""
        worker = self.settings.worker
        if worker is None:
            return TcpManager(
                self._on_stream_message, self._on_broken_stream, self._on_tcp_opened, self.clock
            )
        return ProxiedTcp(
            worker.link(),
            self._on_stream_message,
            self._on_broken_stream,
            self._on_tcp_opened,
            self.clock,
        )

    def _udp_endpoint(self) -> UdpEndpoint:
        def on_datagram(data: bytes, remote: tuple[str, int]) -> None:
            self.switch.on_datagram(data, remote)

        def on_peer(message: bytes) -> None:
            self.switch.on_peer(message)

        worker = self.settings.worker
        return (
            DispatchedUdpEndpoint(on_datagram, on_peer, worker, self.probe)
            if worker
            else UdpEndpoint(on_datagram, self.probe)
        )

    def _share(self) -> NodeShare:
        """This node's place among its engine's nodes (workers.NodeShare)."""
        worker, engine = self.settings.worker, self.settings.engine or self.settings.node
        return NodeShare(engine, worker.index, worker.count) if worker else NodeShare(engine)

    def _peers(self) -> Peers:
        """The other workers behind our address (workers.py); none for a single engine."""
        worker = self.settings.worker
        if worker is None or not isinstance(self.udp, DispatchedUdpEndpoint):
            return Peers.none()
        return Peers(worker.index, worker.peers, self.udp.tell_peer)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.settings.listen
        worker = self.settings.worker
        # a worker's datagrams come from the dispatcher, on its inbox (workers.py)
        sock = udp_socket((host, port)) if worker is None else with_buffers(worker.inbox())
        transport, _ = await loop.create_datagram_endpoint(lambda: self.udp, sock=sock)
        logger.info(self.overload.describe())
        self._servers = [transport]
        tcp = self.tcp
        if isinstance(tcp, ProxiedTcp):
            tcp.start()
        else:
            server = await loop.create_server(
                lambda: TcpConnection(tcp), sock=tcp_socket((host, port)), backlog=TCP_BACKLOG
            )
            self._servers.append(server)

    async def stop(self) -> None:
        """Graceful shutdown: end calls, write everything out, close."""
        logger.info("SIP engine %s stopping", self.settings.node)
        await self.switch.calls.shutdown()
        await self.loops.stop()
        if self.metrics:
            self.metrics.stop()
        udp, *tcp_server = self._servers
        for server in tcp_server:
            server.close()
        self.tcp.release_all()
        await self.cdr_writer.flush()
        for leases in (self.switch.calls.money, self.switch.calls.capacity):
            with contextlib.suppress(Exception):  # what this node still holds: pools, the
                await leases.forget_previous_run()  # money of unwritten CDRs
        await self.bindings.flush()
        await self.switch.calls.sync_current_calls()
        await self.counters.flush()
        udp.close()
        self.journal.close()
        await self.redis.aclose()
        for _ in range(self.executor._max_workers):
            self.executor.submit(store.close_connection)
        self.executor.shutdown(wait=True)

    async def run_until_signalled(self) -> None:
        """Start, wait for SIGTERM or SIGINT, stop."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGUSR2, self.log_object_counts)
        await self.start()
        await stop.wait()
        stopping = asyncio.create_task(self.stop())
        done, _ = await asyncio.wait({stopping}, timeout=STOP_SECONDS)
        if done:
            stopping.result()
            return
        logger.error(
            "SIP engine %s: shutdown did not finish in %.0f s; stopping anyway. %s",
            self.settings.node,
            STOP_SECONDS,
            pending_tasks(),
        )
        if not self.journal.closed:
            self.journal.close()
        os._exit(1)  # a thread stuck in I/O would hold up a normal exit

    def log_object_counts(self) -> None:
        """`kill -USR2 <pid>`: log what a leak would grow (sampled by bench/soak.py and
        bench/fuzz_sip.py, which parse this line)."""
        calls = self.switch.calls
        garbage = ""
        if self.settings.count_cyclic_garbage:
            garbage = f" cyclic_garbage={cyclic_garbage()}"
        logger.info(
            "object counts: server_transactions=%d client_transactions=%d dialogs=%d "
            "calls=%d legs=%d%s",
            len(self.layer.servers),
            len(self.layer.clients),
            len(calls.by_dialog),
            len(calls.calls),
            len(calls.legs_by_call_id),
            garbage,
        )

    # Plumbing ---------------------------------------------------------------------------

    def _housekeeping(self) -> None:
        now = self.clock.now()
        self.switch.registrar.sweep(now)
        self.switch.sweep(now)
        self.switch.calls.forget_legs(self.clock.monotonic())
        self.overload.check()
        self._close_idle_connections()
        self.counters.gauge("tcp_connections", len(self.tcp), now)

    def _close_idle_connections(self) -> None:
        """Close TCP connections that carry no binding and no call and have been idle."""
        busy = self.switch.registrar.bound_connections() | self.switch.calls.connections_in_use()
        limit = self.clock.monotonic() - TCP_IDLE_SECONDS
        for connection_id in self.tcp.idle(limit):
            if connection_id not in busy:
                self.tcp.release(connection_id, self.switch.parameter("SS_TCP_CLOSE_RESET"))

    def _send(self, flow: Flow, data: bytes, on_error: Callable[[], None]) -> None:
        if flow.transport == "tcp":
            self.tcp.send(flow, data, on_error)
        else:
            self.udp.send(data, flow.remote)

    def _on_stream_message(self, message: Message | Malformed, flow: Flow) -> None:
        self.switch.on_stream_message(message, flow)

    def _on_broken_stream(self, connection: TcpConnection | ProxiedConnection) -> None:
        """Garbage on a stream: close it the way SS_TCP_CLOSE_RESET says."""
        self.switch.close_connection(connection.id)

    def _on_tcp_opened(self, connection: TcpConnection | ProxiedConnection) -> None:
        """A suspended source is not even allowed to keep a connection open."""
        if self.switch.guard.is_suspended(connection.remote[0], self.clock.now()):
            self.switch.close_connection(connection.id)

    def _config_changed(self, kind: str, key: Any) -> None:
        """Act on changes that affect live state, not only the cached configuration."""
        if kind == "registration" or (kind == "phone" and key not in self.cache.config.phones):
            self.switch.registrar.unbind(key, close=True, persist=False)
        elif kind == "current_call":  # DisconnectCurrentCall (vosadmin/external/calls/calls.py)
            self.switch.calls.disconnect(str(key))


def cyclic_garbage() -> str:
    """Run a full collection and count the unreachable objects it found (and frees), with the
    most common types among them when there are any (where a cycle comes from)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        kinds = Counter(type(thing).__qualname__ for thing in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    common = ", ".join(f"{kind}×{count}" for kind, count in kinds.most_common(8))
    return f"{kinds.total()} ({common})" if kinds else "0"


def pending_tasks() -> str:
    """The stacks of the event loop's other tasks (what a stuck shutdown waits for)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(file=out)
    return out.getvalue() or "No other task is pending."
