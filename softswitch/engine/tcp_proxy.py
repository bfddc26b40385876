"""SIP over TCP with several workers (docs/adr/0011): the dispatcher holds the connections.

One TCP connection may carry messages of many calls (a gateway's), each held by a different
worker, so a connection cannot belong to a worker. The dispatcher process accepts and opens
every connection (`TcpProxy`, a `TcpManager` that frames without parsing), routes each framed
message with `worker_for` as it routes datagrams, answers keep-alive pings itself, and writes
what workers send. Each worker talks to it over a link of its own, a `SOCK_SEQPACKET` socket
pair (reliable, in order, one record per message, large enough for any framed message), and
sees the connections through `ProxiedTcp`, which has `TcpManager`'s interface.

A connection is closed on a worker's request (garbage on it, a suspended source, an
unregistered phone) or once no worker claims it any more: a worker claims a connection it
was handed a message of or sent on, and releases it when it has been idle for it (no binding,
no call; process.py), or when it stops. A new inbound connection is first claimed by one
worker (chosen by the peer's IP), which checks that its source is not suspended.

Records, a line of space-separated words then a payload:
  dispatcher → worker: `m <id> <host> <port>` + message; `o <id> <host> <port>` opened;
    `l <id>` lost; `b <id> <host> <port>` garbage on it; `k <token> <id> <host> <port>` sent;
    `f <token>` could not connect.
  worker → dispatcher: `s <id> <host> <port> <token>` + data (id 0: none; token 0: no reply
    wanted); `c <id> <reset>` close; `a <ip> <reset>` close all from ip;
    `r <id> <reset>` release.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import socket
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from softswitch.engine.clock import Clock
from softswitch.engine.transport import (
    Address,
    Flow,
    MessageHandler,
    TcpConnection,
    TcpManager,
    flow_to,
)
from softswitch.sip.parser import try_parse_message

logger = logging.getLogger(__name__)

LINK_BUFFER_BYTES = 4 * 1024 * 1024
LINK_RECORD_BYTES = 256 * 1024  # a framed message is at most 128 KiB (stream.py's limits)
# A send the dispatcher has not answered by then never will be (its `k` or `f` was dropped on
# a full link); twice Timer B, so the send's transaction has ended either way.
UNANSWERED_SECONDS = 64.0


def link_pair() -> tuple[socket.socket, socket.socket]:
    """The dispatcher's end and a worker's end of a link."""
    ends = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for end in ends:
        with contextlib.suppress(OSError):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, LINK_BUFFER_BYTES)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, LINK_BUFFER_BYTES)
        end.setblocking(False)
    return ends


def record(kind: str, *words: object, payload: bytes = b"") -> bytes:
    return f"{kind} {' '.join(map(str, words))}\n".encode() + payload


def parse_record(data: bytes) -> tuple[str, list[str], bytes]:
    head, _, payload = data.partition(b"\n")
    kind, *words = head.decode().split(" ")
    return kind, words, payload


class Link:
    """One end of a link: records out (dropped and counted if the other end is so far behind
    that its 4 MiB buffer is full; logged at the 1st, 2nd, 4th, 8th… drop, so that a worker
    falling behind cannot flood the log) and records in, read by the event loop."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name
        self.dropped = 0

    def send(self, data: bytes) -> bool:
        """Whether the record went (else it was dropped)."""
        try:
            self.sock.send(data)
            return True
        except (BlockingIOError, InterruptedError):
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:
                logger.warning(
                    "TCP link to %s full: %d records dropped in all", self.name, self.dropped
                )
        except OSError as error:  # the other end is gone: the engine is stopping
            logger.debug("TCP link to %s: %s", self.name, error)
        return False

    def listen(self, on_record: Callable[[str, list[str], bytes], None]) -> None:
        """Call `on_record` with each record received, on the running loop."""

        def readable() -> None:
            while True:
                try:
                    data = self.sock.recv(LINK_RECORD_BYTES)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as error:
                    logger.debug("TCP link to %s: %s", self.name, error)
                    data = b""
                if not data:  # the other end closed: nothing more will come
                    asyncio.get_running_loop().remove_reader(self.sock)
                    return
                on_record(*parse_record(data))

        asyncio.get_running_loop().add_reader(self.sock, readable)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.sock)


# The dispatcher's side --------------------------------------------------------------------


class TcpProxy:
    """Every SIP TCP connection of the engine, in the dispatcher process, in a thread with an
    event loop of its own (`start`, `stop`). `route` picks a framed message's worker."""

    def __init__(
        self,
        listening: socket.socket,
        links: Sequence[socket.socket],
        route: Callable[[bytes], int],
    ) -> None:
        self.listening = listening
        self.links = [Link(sock, f"worker {n}") for n, sock in enumerate(links)]
        self.route = route
        self.claims: dict[int, set[int]] = {}  # connection id: the workers that claim it
        self.tcp = TcpManager(
            self._unused,
            self._broken,
            self._opened,
            Clock(),
            on_frame=self._frame,
            on_lost=self._lost,
        )
        self.thread = threading.Thread(target=self._run, name="sip-tcp-proxy", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._failed: BaseException | None = None

    def start(self) -> None:
        """Serve in the thread; raises what stopped it from serving."""
        self.thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the SIP TCP proxy did not start within 10 s")
        if self._failed is not None:
            raise RuntimeError("the SIP TCP proxy did not start") from self._failed

    def stop(self) -> None:
        """Close every connection (FIN) and end the thread; after the workers have stopped."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self.thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:
            logger.exception("SIP TCP proxy stopped")
            self._failed = error
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await self._loop.create_server(
            lambda: TcpConnection(self.tcp), sock=self.listening, backlog=1024
        )
        for index, link in enumerate(self.links):
            link.listen(functools.partial(self._record, index))
        self._started.set()
        await self._stopping.wait()
        server.close()
        self.tcp.release_all()
        for link in self.links:
            link.stop()
        await asyncio.sleep(0.1)  # let the FINs go out

    # Connections -> workers

    def _opened(self, connection: TcpConnection) -> None:
        first = zlib.crc32(connection.remote[0].encode()) % len(self.links)
        self.claims[connection.id] = {first}
        self.links[first].send(record("o", connection.id, *connection.remote))

    def _frame(self, data: bytes, connection: TcpConnection) -> None:
        worker = self.route(data)
        self.claims.setdefault(connection.id, set()).add(worker)
        self.links[worker].send(record("m", connection.id, *connection.remote, payload=data))

    def _broken(self, connection: TcpConnection) -> None:
        """Garbage on a connection: a worker closes it as SS_TCP_CLOSE_RESET says."""
        first = zlib.crc32(connection.remote[0].encode()) % len(self.links)
        self.links[first].send(record("b", connection.id, *connection.remote))

    def _lost(self, connection: TcpConnection) -> None:
        for worker in self.claims.pop(connection.id, ()):
            self.links[worker].send(record("l", connection.id))

    @staticmethod
    def _unused(message: object, flow: Flow) -> None:
        """Messages reach `_frame` unparsed."""

    # Workers -> connections

    def _record(self, worker: int, kind: str, words: list[str], payload: bytes) -> None:
        try:
            if kind == "s":
                connection_id, host, port, token = words
                remote = (host, int(port))
                self._send(worker, int(connection_id), remote, int(token), payload)
            elif kind == "c":
                self.tcp.close(int(words[0]), words[1] == "1")
            elif kind == "a":
                self.tcp.close_from(words[0], words[1] == "1")
            elif kind == "r":
                self._release(worker, int(words[0]), words[1] == "1")
        except ValueError:
            logger.error("TCP proxy: a bad record from worker %d: %s %s", worker, kind, words)

    def _send(
        self, worker: int, connection_id: int, remote: Address, token: int, data: bytes
    ) -> None:
        connection = self.tcp.find(Flow("tcp", remote, connection_id or None))
        if connection is not None:
            self._sent(worker, connection, token, data)
        else:
            asyncio.get_running_loop().create_task(self._connect(worker, remote, token, data))

    async def _connect(self, worker: int, remote: Address, token: int, data: bytes) -> None:
        connection = await self.tcp.connect(remote)
        if connection is not None:
            self._sent(worker, connection, token, data)
        elif token:
            self.links[worker].send(record("f", token))

    def _sent(self, worker: int, connection: TcpConnection, token: int, data: bytes) -> None:
        self.claims.setdefault(connection.id, set()).add(worker)
        connection.send(data)
        if token:
            self.links[worker].send(record("k", token, connection.id, *connection.remote))

    def _release(self, worker: int, connection_id: int, reset: bool) -> None:
        claims = self.claims.get(connection_id)
        if claims is None:
            return
        claims.discard(worker)
        if not claims:
            self.tcp.close(connection_id, reset)


# A worker's side --------------------------------------------------------------------------


@dataclass(slots=True)
class ProxiedConnection:
    """What a worker knows of a connection the dispatcher holds and this worker claims."""

    id: int
    remote: Address
    last_activity: float = field(default=0.0)


class ProxiedTcp:
    """A worker's TCP: `TcpManager`'s interface over its link to the dispatcher. `by_id` holds
    the connections this worker claims."""

    def __init__(
        self,
        link: socket.socket,
        on_message: MessageHandler,
        on_broken: Callable[[ProxiedConnection], None],
        on_opened: Callable[[ProxiedConnection], None],
        clock: Clock,
    ) -> None:
        self.link = Link(link, "the dispatcher")
        self.on_message = on_message
        self.on_broken = on_broken
        self.on_opened = on_opened
        self.clock = clock
        self.by_id: dict[int, ProxiedConnection] = {}
        # token: when a send to a new connection was made, and its on_error
        self._waiting: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count(1)

    def start(self) -> None:
        self.link.listen(self._record)

    def _claim(self, connection_id: int, remote: Address) -> ProxiedConnection:
        connection = self.by_id.get(connection_id)
        if connection is None:
            connection = self.by_id[connection_id] = ProxiedConnection(connection_id, remote)
        connection.last_activity = self.clock.monotonic()
        return connection

    def _record(self, kind: str, words: list[str], payload: bytes) -> None:
        if kind == "m":
            connection_id, host, port = int(words[0]), words[1], int(words[2])
            self._claim(connection_id, (host, port))
            self.on_message(try_parse_message(payload), flow_to("tcp", (host, port), connection_id))
        elif kind == "o":
            self.on_opened(self._claim(int(words[0]), (words[1], int(words[2]))))
        elif kind == "l":
            self.by_id.pop(int(words[0]), None)
        elif kind == "b":
            self.on_broken(self._claim(int(words[0]), (words[1], int(words[2]))))
        elif kind == "k":
            self._waiting.pop(int(words[0]), None)
            self._claim(int(words[1]), (words[2], int(words[3])))
        elif kind == "f":
            waiting = self._waiting.pop(int(words[0]), None)
            if waiting is not None:
                waiting[1]()

    def send(self, flow: Flow, data: bytes, on_error: Callable[[], None]) -> None:
        """On the flow's connection if this worker knows it open, else on whichever the
        dispatcher finds or opens to the flow's address (then told back: `k` or `f`). A
        message the link drops (the dispatcher far behind) is a transport error, reported
        from the loop as the dispatcher's `f` would be: over TCP nothing retransmits it."""
        connection = self.by_id.get(flow.connection_id) if flow.connection_id else None
        token = 0
        if connection is not None:
            connection.last_activity = self.clock.monotonic()
        else:
            token = next(self._tokens)
            self._waiting[token] = (self.clock.monotonic(), on_error)
            self._forget_unanswered()
        words = (flow.connection_id or 0, *flow.remote, token)
        if not self.link.send(record("s", *words, payload=data)):
            self._waiting.pop(token, None)
            self.clock.call_later(0, on_error)

    def _forget_unanswered(self) -> None:
        """Drop the sends older than UNANSWERED_SECONDS (the oldest come first)."""
        horizon = self.clock.monotonic() - UNANSWERED_SECONDS
        while self._waiting:
            oldest = next(iter(self._waiting))
            if self._waiting[oldest][0] > horizon:
                return
            del self._waiting[oldest]

    def close(self, connection_id: int | None, reset: bool) -> None:
        if connection_id:
            self.by_id.pop(connection_id, None)
            self.link.send(record("c", connection_id, int(reset)))

    def close_from(self, ip: str, reset: bool) -> None:
        for connection in [c for c in self.by_id.values() if c.remote[0] == ip]:
            del self.by_id[connection.id]
        self.link.send(record("a", ip, int(reset)))

    def release(self, connection_id: int, reset: bool) -> None:
        if self.by_id.pop(connection_id, None) is not None:
            self.link.send(record("r", connection_id, int(reset)))

    def release_all(self) -> None:
        for connection_id in list(self.by_id):
            self.release(connection_id, reset=False)

    def idle(self, since: float) -> list[int]:
        """The connections this worker has not used since monotonic time `since`."""
        return [c.id for c in self.by_id.values() if c.last_activity < since]

    def __len__(self) -> int:
        return len(self.by_id)
