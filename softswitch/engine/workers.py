"""Several engine processes behind one SIP address (SIP_WORKERS; docs/adr/0011).

The parent process owns the public UDP socket and only reads it: each datagram goes to the
worker that holds its state (`worker_for`), decided from the message alone, so that no table
is kept and a restarted dispatcher decides as before:

- A Call-ID made by a worker (its B legs') carries the worker's tag (`call_id_tag`): the
  gateway's responses and requests go back to that worker.
- Anything else goes by the caller's user: the From user of a request (the To user of a
  REGISTER, the address of record) and the To user of a response (a response from the caller
  answers a request we sent it, From and To swapped). So a phone's INVITEs reach the worker
  that holds its registration, and a call's retransmissions, CANCEL, ACK and in-dialog
  requests reach the worker of its INVITE; a large customer that sends everything from one
  IP:port is still spread over the workers by its callers (SO_REUSEPORT spreads by source
  address only, so it would not do).

Datagrams reach a worker over a loopback UDP socket of its own (a Unix datagram socket queues
only `net.unix.max_dgram_qlen` messages, 10 by default), prefixed with their source (`wrap`);
workers send straight from the shared public socket, so peers see one address.

A worker's inbox takes datagrams from the dispatcher and from the other workers only (any
other local process could otherwise forge a source). What one worker learns about a source
that the others must know too (a failed authentication, a registered phone's address) it tells
them in a peer message (`Peers`), sent to their inboxes.

Each worker is an engine node of its own (`<SIP_NODE_NAME>-<n>`, node id SIP_NODE_ID + n):
capacity, money, counters and CDRs are shared through Redis and PostgreSQL as between nodes.
The dispatcher also holds every TCP connection and routes each framed message the same way
(tcp_proxy.py). A worker stops (as on SIGTERM) when the parent dies. The parent's side is in
dispatcher.py.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import signal
import socket
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Address = tuple[str, int]
# Set for the children: "<index>/<count>/<public fd>/<inbox fd>/<link fd>/<parent pid>/
# <dispatcher port>/<inbox port of each worker, comma-separated>".
WORKER_ENV = "SIP_WORKER"
PEER_MESSAGE = b"!"  # starts a message from another worker (`wrap` starts with an address)
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
LOOPBACK = "127.0.0.1"
# Each header follows a line break (the start line comes first): a "\n" to search for makes
# these three times faster than a multi-line "^".
CALL_ID = re.compile(rb"\n(?:call-id|i)[ \t]*:[ \t]*([^\s]+)", re.IGNORECASE)
FROM = re.compile(rb"\n(?:from|f)[ \t]*:([^\r\n]*)", re.IGNORECASE)
TO = re.compile(rb"\n(?:to|t)[ \t]*:([^\r\n]*)", re.IGNORECASE)
URI_USER = re.compile(rb"(?:sips?|tel):([^@;>\s]*)", re.IGNORECASE)
WORKER_TAG = re.compile(rb"-w(\d{1,4})(?:@|$)")


def call_id_tag(index: int) -> str:
    """What a worker appends to the local part of the Call-IDs it makes (B legs)."""
    return f"-w{index}"


def worker_for(datagram: bytes, count: int) -> int:
    """The worker (0 … count − 1) that holds the state of this datagram (module docstring).
    A message without a caller or a Call-ID goes to worker 0, which answers it as a single
    engine would."""
    end = datagram.find(b"\r\n\r\n")  # headers only: a body may hold anything
    end = len(datagram) if end < 0 else end
    call_id = _first(CALL_ID, datagram, end)
    if call_id is not None:
        tag = WORKER_TAG.search(call_id)
        if tag is not None and int(tag.group(1)) < count:
            return int(tag.group(1))
    key = _caller(datagram, end) or call_id
    return 0 if key is None else worker_of(key, count)


def worker_of(user: bytes, count: int) -> int:
    """The worker that a caller's (or a phone's) requests go to, by the user part of its URI."""
    return zlib.crc32(user) % count


@dataclass(frozen=True)
class NodeShare:
    """Which phones' state a node holds among the nodes of its engine (SIP_NODE_NAME): a
    single engine all of them; worker `index` of `count` those the dispatcher sends it."""

    engine: str  # SIP_NODE_NAME
    index: int = 0
    count: int = 1

    def holds(self, e164: str) -> bool:
        return self.count == 1 or worker_of(e164.encode(), self.count) == self.index

    @property
    def nodes(self) -> tuple[str, ...]:
        """The names of the engine's nodes now (runsipengine's `node_name`)."""
        if self.count == 1:
            return (self.engine,)
        return tuple(f"{self.engine}-{n}" for n in range(self.count))


def _caller(datagram: bytes, end: int) -> bytes | None:
    """The user part of the caller's URI: To of a response or a REGISTER, else From. The URI
    between < and > if there is one (a display name may hold anything)."""
    response_or_register = datagram.startswith((b"SIP/2.0 ", b"REGISTER "))
    header = _first(TO if response_or_register else FROM, datagram, end)
    if header is None:
        return None
    _, bracket, uri = header.rpartition(b"<")
    user = URI_USER.match(uri) if bracket else URI_USER.search(header)
    return user.group(1) if user is not None else None


def _first(header: re.Pattern[bytes], datagram: bytes, end: int) -> bytes | None:
    match = header.search(datagram, 0, end)
    return match.group(1) if match is not None else None


def wrap(datagram: bytes, remote: Address) -> bytes:
    """A datagram as the dispatcher hands it to a worker: its source first."""
    return b"%s %d\n%s" % (remote[0].encode(), remote[1], datagram)


def unwrap(data: bytes) -> tuple[bytes, Address]:
    """The datagram and its source, from `wrap`'s form."""
    head, _, datagram = data.partition(b"\n")
    host, _, port = head.partition(b" ")
    return datagram, (host.decode(), int(port))


@dataclass(frozen=True)
class WorkerSockets:
    """What a worker process inherits: its place among the workers, three sockets, and the
    loopback addresses its inbox takes datagrams from."""

    index: int
    count: int
    public_fd: int  # the SIP address: send only (the parent reads it)
    inbox_fd: int  # loopback UDP: datagrams from the dispatcher and peer messages
    link_fd: int  # a SOCK_SEQPACKET socket: TCP through the dispatcher (tcp_proxy.py)
    parent: int  # the dispatching process
    dispatcher: Address  # where the dispatcher sends from
    peers: tuple[Address, ...]  # every worker's inbox, by index (this one's included)

    def environment(self) -> str:
        """The SIP_WORKER value that `from_environment` reads back."""
        ports = ",".join(str(port) for _, port in self.peers)
        return (
            f"{self.index}/{self.count}/{self.public_fd}/{self.inbox_fd}/{self.link_fd}/"
            f"{self.parent}/{self.dispatcher[1]}/{ports}"
        )

    @classmethod
    def from_environment(cls) -> WorkerSockets | None:
        """This process's sockets, when it was started as a worker (SIP_WORKER)."""
        value = os.environ.get(WORKER_ENV)
        if not value:
            return None
        *numbers, ports = value.split("/")
        index, count, public_fd, inbox_fd, link_fd, parent, dispatcher = map(int, numbers)
        peers = tuple((LOOPBACK, int(port)) for port in ports.split(","))
        return cls(
            index, count, public_fd, inbox_fd, link_fd, parent, (LOOPBACK, dispatcher), peers
        )

    def public(self) -> socket.socket:
        """The shared socket, for sending only (with MSG_DONTWAIT, transport.py): its blocking
        mode belongs to the open file the dispatcher reads, so it is left as it is."""
        return socket.socket(fileno=self.public_fd)

    def inbox(self) -> socket.socket:
        sock = socket.socket(fileno=self.inbox_fd)
        sock.setblocking(False)
        return sock

    def link(self) -> socket.socket:
        sock = socket.socket(fileno=self.link_fd)
        sock.setblocking(False)
        return sock

    def follow_parent(self) -> None:
        """Get SIGTERM when the parent dies (Linux), so that no worker outlives its
        dispatcher, holding calls nobody can reach; stop at once if it already has."""
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != self.parent:
            os.kill(os.getpid(), signal.SIGTERM)


class Peers:
    """The other workers of this engine, told what this one learned about a source: a peer
    message is `PEER_MESSAGE`, the sender's index and words, space-separated. Best effort, like
    every loopback datagram: a message lost to a full inbox leaves that worker knowing what a
    lone engine would."""

    def __init__(
        self, index: int, inboxes: Sequence[Address], send: Callable[[bytes, Address], None]
    ) -> None:
        self.index = index
        self.others = [address for n, address in enumerate(inboxes) if n != index]
        self.send = send

    @classmethod
    def none(cls) -> Peers:
        """A single engine's: nobody to tell."""
        return cls(0, (), lambda data, address: None)

    def tell(self, *words: str) -> None:
        if not self.others:
            return
        data = PEER_MESSAGE + " ".join((str(self.index), *words)).encode()
        for address in self.others:
            self.send(data, address)
