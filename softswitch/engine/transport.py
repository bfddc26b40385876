"""UDP and TCP transports of the SIP engine (RFC 3261 §18), kept thin.

Both listen on the same address. Incoming bytes become messages (datagrams parsed whole, TCP
streams framed by Content-Length with `softswitch.sip.stream`) handed to the engine with the
`Flow` they came on; outgoing messages go back on a flow. TCP connections are tracked so the
engine can reuse them (responses, requests to a phone registered over TCP, gateways over TCP)
and close them with FIN or RST (SS_TCP_CLOSE_RESET).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from softswitch.engine.clock import Clock
from softswitch.engine.overload import DelayProbe
from softswitch.engine.workers import PEER_MESSAGE, WorkerSockets, unwrap
from softswitch.sip.message import Message
from softswitch.sip.parser import Malformed
from softswitch.sip.stream import (
    FrameReceived,
    FramingError,
    KeepAlivePing,
    MessageReceived,
    StreamFramer,
)

logger = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_DATAGRAM = 65535
UDP_BUFFER_BYTES = 8 * 1024 * 1024
TCP_BACKLOG = 1024  # connections not yet accepted
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # a wildcard's own address
_connection_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Flow:
    """Where a message came from or goes to."""

    transport: str  # "udp" or "tcp"
    remote: Address
    connection_id: int | None = None  # TCP: the connection it came on (None: any/new)

    @property
    def ip(self) -> str:
        return self.remote[0]


@functools.lru_cache(maxsize=16384)
def flow_to(transport: str, remote: Address, connection_id: int | None = None) -> Flow:
    """The `Flow` of an address (and TCP connection), one object for all its messages: a
    flow is immutable, and every transaction holds one for up to 32 s, which made it one more
    object per message for the cyclic collector to scan (docs/adr/0009). Cheaper than building
    one, too (a frozen dataclass sets its fields through `object.__setattr__`)."""
    return Flow(transport, remote, connection_id)


MessageHandler = Callable[["Message | Malformed", Flow], None]

MAPPED = "::ffff:"  # an IPv4 address as a dual-stack socket sees it (RFC 4291 §2.5.5.2)


def unmapped(host: str) -> str:
    """An IPv4 peer of a dual-stack socket (listening on `::`) as itself, "::ffff:192.0.2.1"
    → "192.0.2.1", so that it matches gateway IPs, trusted networks and bindings."""
    return host[len(MAPPED) :] if host.startswith(MAPPED) and "." in host else host


def mapped(remote: Address) -> Address:
    """A destination as a dual-stack socket addresses it: IPv4 as "::ffff:a.b.c.d"."""
    return remote if ":" in remote[0] else (MAPPED + remote[0], remote[1])


def is_dual_stack(sock: socket.socket) -> bool:
    """An IPv6 socket that serves IPv4 too: one bound to `::` (`_socket` turns IPV6_V6ONLY
    off, and Linux turns it back on for a socket bound to one IPv6 address, such as `::1`)."""
    return sock.family == socket.AF_INET6 and not sock.getsockopt(
        socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
    )


def with_buffers(sock: socket.socket) -> socket.socket:
    """A UDP socket with UDP_BUFFER_BYTES to receive and to send (as far as the kernel's
    net.core.rmem_max and wmem_max let it): a burst waits there instead of being dropped."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER_BYTES)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UDP_BUFFER_BYTES)
    return sock


def udp_socket(listen: Address) -> socket.socket:
    """The SIP address for UDP, bound (a port in use fails the start at once, even if its
    holder allows sharing it); an IPv6 address such as `::` serves IPv4 too."""
    sock = with_buffers(_socket(listen, socket.SOCK_DGRAM))
    sock.bind(listen)
    return sock


def tcp_socket(listen: Address) -> socket.socket:
    """The SIP address for TCP, bound and listening (a port in use fails the start at once);
    an IPv6 address such as `::` serves IPv4 too."""
    sock = _socket(listen, socket.SOCK_STREAM)
    sock.bind(listen)
    sock.listen(TCP_BACKLOG)
    return sock


def _socket(listen: Address, kind: socket.SocketKind) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
    sock = socket.socket(family, kind)
    if kind == socket.SOCK_STREAM:
        # A restart need not wait for the old connections' TIME_WAIT. Not on UDP, where it lets
        # two sockets that both ask for it share a port, each getting part of the datagrams.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:  # whatever net.ipv6.bindv6only says (asyncio sets it for TCP)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return sock


class UdpEndpoint(asyncio.DatagramProtocol):
    """The UDP socket: datagrams in, datagrams out, and the probes that time its queue
    (softswitch.engine.overload.DelayProbe), sent to itself."""

    def __init__(self, on_datagram: Callable[[bytes, Address], None], probe: DelayProbe) -> None:
        self.on_datagram = on_datagram
        self.probe = probe
        self.transport: asyncio.DatagramTransport | None = None
        self.itself: Address | None = None  # where a datagram to this socket goes
        self.dual_stack = False  # IPv4 peers come and go as "::ffff:a.b.c.d"

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        host, port = transport.get_extra_info("sockname")[:2]
        self.itself = (LOOPBACK.get(host, host), port)
        self.dual_stack = is_dual_stack(transport.get_extra_info("socket"))

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.probe.read(data):
            return
        host = unmapped(addr[0]) if self.dual_stack else addr[0]
        self.on_datagram(data, (host, addr[1]))

    def error_received(self, exc: Exception) -> None:
        logger.debug("UDP error: %s", exc)

    def send(self, data: bytes, remote: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(data, mapped(remote) if self.dual_stack else remote)

    def send_probe(self) -> None:
        """A probe into this socket's own queue."""
        if self.transport is not None and self.itself is not None:
            self.transport.sendto(self.probe.datagram(), self.itself)


class DispatchedUdpEndpoint(UdpEndpoint):
    """A worker's UDP (softswitch.engine.workers): datagrams arrive from the dispatcher on the
    worker's inbox, each prefixed with its source; replies leave from the shared SIP socket,
    so peers see the one address they sent to. The inbox also carries peer messages from the
    other workers (`on_peer`); from anyone else it takes nothing."""

    def __init__(
        self,
        on_datagram: Callable[[bytes, Address], None],
        on_peer: Callable[[bytes], None],
        worker: WorkerSockets,
        probe: DelayProbe,
    ) -> None:
        super().__init__(on_datagram, probe)
        self.on_peer = on_peer
        self.public = worker.public()
        self.public_dual_stack = is_dual_stack(self.public)
        self.dispatcher = worker.dispatcher
        self.peers = frozenset(worker.peers)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if addr == self.dispatcher:
            datagram, remote = unwrap(data)
            self.on_datagram(datagram, remote)
        elif addr in self.peers and data.startswith(PEER_MESSAGE):
            self.on_peer(data[len(PEER_MESSAGE) :])
        elif not self.probe.read(data):
            logger.debug("a datagram from %s on the worker's inbox ignored", addr)

    def send(self, data: bytes, remote: Address) -> None:
        """As the single engine's socket sends: a destination of another address family
        raises, for the caller to take as a transport error (the SIP layer only ever sends to
        addresses, never to names)."""
        if self.public_dual_stack:
            remote = mapped(remote)
        try:
            self.public.sendto(data, socket.MSG_DONTWAIT, remote)
        except (BlockingIOError, InterruptedError):
            logger.debug("UDP send buffer full: datagram to %s dropped", remote)
        except socket.gaierror:
            raise
        except OSError as error:
            logger.debug("UDP error: %s", error)

    def tell_peer(self, data: bytes, inbox: Address) -> None:
        """A peer message, from this worker's inbox to another's."""
        if self.transport is not None:
            self.transport.sendto(data, inbox)


class TcpConnection(asyncio.Protocol):
    """One SIP TCP connection, framed into messages."""

    def __init__(self, manager: TcpManager) -> None:
        self.manager = manager
        self.id = next(_connection_ids)
        self.framer = StreamFramer(parse=manager.on_frame is None)
        self.transport: asyncio.Transport | None = None
        self.remote: Address = ("", 0)
        self.last_activity = manager.clock.monotonic()
        self.closed = False

    @property
    def flow(self) -> Flow:
        return flow_to("tcp", self.remote, self.id)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.remote = (unmapped(peer[0]), peer[1])
        self.manager.opened(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.manager.clock.monotonic()
        for event in self.framer.feed(data):
            if isinstance(event, MessageReceived):
                self.manager.on_message(event.message, self.flow)
            elif isinstance(event, FrameReceived) and self.manager.on_frame is not None:
                self.manager.on_frame(event.data, self)
            elif isinstance(event, KeepAlivePing):
                self.send(b"\r\n")  # RFC 5626 §4.4.1 pong
            elif isinstance(event, FramingError):
                logger.debug("TCP %s: framing error (%s)", self.remote, event.reason)
                self.manager.on_broken(self)
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.manager.lost(self)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.last_activity = self.manager.clock.monotonic()
            self.transport.write(data)

    def close(self, reset: bool) -> None:
        """End the connection: RST (SO_LINGER 0, then abort) or a graceful FIN."""
        if self.transport is None or self.closed:
            return
        self.closed = True
        if reset:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.transport.abort()
        else:
            self.transport.close()


class TcpManager:
    """All TCP connections, inbound and outbound, by id and by remote address.

    A proxy that only routes messages (tcp_proxy.py) passes `on_frame`, which then gets each
    framed message unparsed instead of `on_message`, and `on_lost`."""

    def __init__(
        self,
        on_message: MessageHandler,
        on_broken: Callable[[TcpConnection], None],
        on_opened: Callable[[TcpConnection], None],
        clock: Clock,
        *,
        on_frame: Callable[[bytes, TcpConnection], None] | None = None,
        on_lost: Callable[[TcpConnection], None] | None = None,
    ) -> None:
        self.clock = clock
        self.on_message = on_message
        self.on_broken = on_broken
        self.on_opened = on_opened
        self.on_frame = on_frame
        self.on_lost = on_lost
        self.by_id: dict[int, TcpConnection] = {}
        self.by_remote: dict[Address, TcpConnection] = {}
        self._connecting: dict[Address, asyncio.Task[TcpConnection | None]] = {}

    def opened(self, connection: TcpConnection) -> None:
        self.by_id[connection.id] = connection
        self.by_remote[connection.remote] = connection
        self.on_opened(connection)

    def lost(self, connection: TcpConnection) -> None:
        self.by_id.pop(connection.id, None)
        if self.by_remote.get(connection.remote) is connection:
            del self.by_remote[connection.remote]
        if self.on_lost is not None:
            self.on_lost(connection)

    def find(self, flow: Flow) -> TcpConnection | None:
        """The flow's open connection, or another open one to its remote address."""
        connection = self.by_id.get(flow.connection_id) if flow.connection_id else None
        connection = connection or self.by_remote.get(flow.remote)
        return connection if connection is not None and not connection.closed else None

    def send(self, flow: Flow, data: bytes, on_error: Callable[[], None]) -> None:
        """Send on the flow's connection, or on (a new) one to its remote address."""
        connection = self.find(flow)
        if connection is not None:
            connection.send(data)
            return
        asyncio.get_running_loop().create_task(self._connect_and_send(flow.remote, data, on_error))

    async def _connect_and_send(
        self, remote: Address, data: bytes, on_error: Callable[[], None]
    ) -> None:
        connection = await self.connect(remote)
        if connection is None:
            on_error()
        else:
            connection.send(data)

    async def connect(self, remote: Address) -> TcpConnection | None:
        """A new connection to `remote` (one at a time per address), or None if it failed."""
        task = self._connecting.get(remote)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._connect(remote))
            self._connecting[remote] = task
        return await task

    async def _connect(self, remote: Address) -> TcpConnection | None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: TcpConnection(self), remote[0], remote[1]), 5
            )
            return connection
        except (OSError, TimeoutError) as error:
            logger.info("TCP connect to %s:%s failed: %s", remote[0], remote[1], error)
            return None
        finally:
            self._connecting.pop(remote, None)

    def close_from(self, ip: str, reset: bool) -> None:
        """Close every connection with a peer at this IP (a suspended source)."""
        for connection in [c for c in self.by_id.values() if c.remote[0] == ip]:
            connection.close(reset)

    def close(self, connection_id: int | None, reset: bool) -> None:
        connection = self.by_id.get(connection_id) if connection_id else None
        if connection is not None:
            connection.close(reset)

    def release(self, connection_id: int, reset: bool) -> None:
        """This engine no longer needs the connection (idle): close it."""
        self.close(connection_id, reset)

    def release_all(self) -> None:
        """The engine stops: close every connection with FIN."""
        for connection in list(self.by_id.values()):
            connection.close(reset=False)

    def idle(self, since: float) -> list[int]:
        """The connections not used since monotonic time `since`."""
        return [c.id for c in self.by_id.values() if c.last_activity < since]

    def __len__(self) -> int:
        return len(self.by_id)
