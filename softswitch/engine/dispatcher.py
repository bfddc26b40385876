"""The dispatching process of an engine with several workers (SIP_WORKERS; docs/adr/0011).

It binds the SIP address, starts the workers (`run_workers`), hands each datagram to its
worker (`Dispatcher`, by `workers.worker_for`), holds every TCP connection for them
(tcp_proxy.py), passes signals on and stops them all when one exits.

The datagrams are handed over by relay.c when `make native` built it (batches of datagrams
read and sent in one system call each, without the interpreter lock), else by `PythonRelay`,
one datagram at a time, deciding alike.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from functools import partial
from importlib.machinery import PathFinder
from types import ModuleType
from typing import Protocol

from softswitch.engine.tcp_proxy import TcpProxy, link_pair
from softswitch.engine.transport import tcp_socket, udp_socket, unmapped, with_buffers
from softswitch.engine.workers import (
    LOOPBACK,
    WORKER_ENV,
    Address,
    WorkerSockets,
    worker_for,
    wrap,
)
from softswitch.sip import NATIVE_DIR, NATIVE_STATUS

logger = logging.getLogger(__name__)

# What the parent passes on to its workers, besides SIGTERM: USR1 prints every thread's stack,
# USR2 counts the cyclic garbage (runsipengine).
PASSED_ON = (signal.SIGUSR1, signal.SIGUSR2)
MAX_DATAGRAM = 65535
POLLS_PER_SECOND = 5  # how often the parent looks at its workers


# What a relay hands over at a time: None once the public socket is shut for reading, else the
# number of datagrams dropped because an inbox was full, and (host, port, errno) of those lost
# otherwise.
Handed = tuple[int, list[tuple[str, int, int]]] | None


class Relay(Protocol):
    def relay(self) -> Handed: ...


class PythonRelay:
    """relay.c's loop in Python, one datagram at a time: what runs without `make native`."""

    def __init__(self, public: socket.socket, sender: socket.socket, inboxes: Sequence[Address]):
        self.receive, self.send = public.recvfrom, sender.sendto
        self.inboxes = list(inboxes)

    def relay(self) -> Handed:
        datagram, remote = self.receive(MAX_DATAGRAM)
        if remote is None:  # woken by `Dispatcher.stop`
            return None
        try:
            source = (unmapped(remote[0]), remote[1])
            self.send(wrap(datagram, source), self.inboxes[worker_for(datagram, len(self.inboxes))])
        except (BlockingIOError, InterruptedError):
            return 1, []
        except OSError as error:
            return 0, [(remote[0], remote[1], error.errno or 0)]
        return 0, []


def native_relay() -> ModuleType | None:
    """relay.c's module (`Relay(public fd, sender fd, inbox ports)`, `worker_for`), when `make
    native` built it from the sources here (softswitch.sip.NATIVE_STATUS), else None."""
    if not NATIVE_STATUS.startswith("compiled"):
        return None
    spec = PathFinder.find_spec("_relay", [str(NATIVE_DIR.parent / "engine")])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NATIVE_RELAY = native_relay()


class Dispatcher:
    """Reads the public socket and passes each datagram to its worker's inbox (on LOOPBACK), in
    a thread of its own (`start`, `stop`), by relay.c unless `native` is False or it was not
    built."""

    def __init__(
        self, public: socket.socket, inboxes: Sequence[Address], native: bool = True
    ) -> None:
        self.public = public
        self.inboxes = list(inboxes)
        self.sender = with_buffers(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        self.sender.setblocking(False)
        self.sender.bind((LOOPBACK, 0))  # the one address a worker's inbox takes datagrams from
        self.relay: Relay = (
            NATIVE_RELAY.Relay(public.fileno(), self.sender.fileno(), [p for _, p in inboxes])
            if native and NATIVE_RELAY is not None
            else PythonRelay(public, self.sender, inboxes)
        )
        self.dropped = 0  # not handed to a worker (its inbox full): lost, as a full socket loses
        self.thread = threading.Thread(target=self.run, name="sip-dispatcher", daemon=True)

    @property
    def address(self) -> Address:
        host, port = self.sender.getsockname()
        return host, port

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Wake the reading thread (a shutdown ends a blocked read) and wait for it."""
        with contextlib.suppress(OSError):  # "not connected", yet the read is woken
            self.public.shutdown(socket.SHUT_RD)
        self.thread.join(5)

    def run(self) -> None:
        """Until `stop`. A datagram that cannot be handed over is dropped and counted; nothing
        ends the loop but `stop`."""
        while True:
            try:
                handed = self.relay.relay()
            except OSError as error:  # e.g. ENOBUFS; a closed socket: the engine is stopping
                if self.public.fileno() < 0:
                    return
                logger.warning("SIP dispatcher: reading failed: %s", error)
                continue
            if handed is None:
                return
            dropped, lost = handed
            for host, port, code in lost:
                logger.warning(
                    "SIP dispatcher: a datagram from %s:%s lost: %s", host, port, os.strerror(code)
                )
            self.dropped += dropped + len(lost)  # after the logs: a count read has its lines


class DropReport:
    """Logs, every `every` ticks (the parent ticks it each time it polls its workers, 5 times
    a second), how many datagrams the dispatcher dropped since the last report (an inbox
    overflows when its worker falls behind)."""

    def __init__(self, dispatcher: Dispatcher, every: int = 10 * POLLS_PER_SECOND) -> None:
        self.dispatcher = dispatcher
        self.every = every
        self.ticks = 0
        self.reported = 0

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % self.every:
            return
        dropped = self.dispatcher.dropped
        if dropped > self.reported:
            logger.warning(
                "SIP dispatcher: %d datagrams dropped in the last %.0f s (%d in all): "
                "a worker is falling behind",
                dropped - self.reported,
                self.every / POLLS_PER_SECOND,
                dropped,
            )
            self.reported = dropped


def _inbox() -> socket.socket:
    inbox = with_buffers(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    inbox.bind((LOOPBACK, 0))
    return inbox


def run_workers(count: int, listen: Address, command: Sequence[str]) -> int:
    """Bind `listen`, start `count` workers (`command`, each told its place by SIP_WORKER),
    dispatch until SIGTERM or SIGINT (passed on to the workers) or until a worker exits (the
    others are then stopped too, so that a supervisor restarts the whole engine). Returns the
    exit status."""
    public, listening = udp_socket(listen), tcp_socket(listen)
    listening.setblocking(False)
    inboxes = [_inbox() for _ in range(count)]
    links = [link_pair() for _ in range(count)]
    dispatcher = Dispatcher(public, [inbox.getsockname() for inbox in inboxes])
    proxy = TcpProxy(listening, [ours for ours, _ in links], partial(worker_for, count=count))
    workers = []
    for index, (inbox, (_, theirs)) in enumerate(zip(inboxes, links, strict=True)):
        sockets = WorkerSockets(
            index,
            count,
            public.fileno(),
            inbox.fileno(),
            theirs.fileno(),
            os.getpid(),
            dispatcher.address,
            tuple(dispatcher.inboxes),
        )
        env = {**os.environ, WORKER_ENV: sockets.environment()}
        inherited = (public.fileno(), inbox.fileno(), theirs.fileno())
        workers.append(subprocess.Popen(command, env=env, pass_fds=inherited))
        theirs.close()  # the worker's now: its end closes when it exits
    dispatcher.start()
    proxy.start()
    logger.info("SIP engine: %d workers behind %s:%s", count, *listen)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    for signum in PASSED_ON:
        signal.signal(signum, lambda signum, _: _signal_all(workers, signum))
    status = _wait(workers, stopping, DropReport(dispatcher))
    _signal_all(workers, signal.SIGTERM)
    for worker in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(30)
        if worker.poll() is None:
            worker.kill()
    dispatcher.stop()
    proxy.stop()
    public.close()
    if any(worker.wait() != 0 for worker in workers):
        return 1  # a worker's shutdown did not finish (or it had exited already)
    return status


def _signal_all(workers: list[subprocess.Popen[bytes]], signum: int) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signum)


def _wait(
    workers: list[subprocess.Popen[bytes]], stopping: threading.Event, drops: DropReport
) -> int:
    """Until asked to stop (0) or a worker exits (1)."""
    while not stopping.wait(1 / POLLS_PER_SECOND):
        drops.tick()
        for index, worker in enumerate(workers):
            if worker.poll() is not None:
                logger.error(
                    "SIP engine worker %d exited with status %s; stopping the others",
                    index,
                    worker.returncode,
                )
                return 1
    return 0


def worker_command() -> list[str]:
    """How this process was started (a worker is started the same way)."""
    return [sys.executable, *sys.argv]
