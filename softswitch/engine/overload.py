"""Overload control: new INVITEs and REGISTERs get 503 + Retry-After while the engine is behind.

What is measured is the engine's backlog: the bytes of datagrams waiting, unread, in its UDP
socket's receive queue (`SO_MEMINFO`, the kernel's own count; `ss -u` shows it as Recv-Q).
The event loop reads one datagram after another and works through each completely, so when
the work of the traffic offered exceeds one core the queue grows, every message waits longer,
and peers' retransmission timers fire (T1 is 500 ms): the retransmissions add work and the
calls in progress fail with the new ones (docs/adr/0010-overload-control.md).

So while more than `OverloadSettings.queue_bytes` wait, and have waited for `hold_seconds` (a
burst or a pause of the loop fills the queue for a moment without the engine being behind), a
request that would start something
new (an INVITE or a REGISTER outside any dialog, which the SIP layer passes up only when it
matches no transaction) is answered 503 with Retry-After, which costs a fraction of admitting
it. Everything else (ACK, BYE, CANCEL, re-INVITE and other in-dialog requests, responses,
retransmissions of transactions in progress) is always worked on.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from softswitch.engine.clock import Clock
from softswitch.sip.message import Request

logger = logging.getLogger(__name__)

SHED_METHODS = ("INVITE", "REGISTER")
SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)  # Linux ≥ 4.6; Python does not name it
MEMINFO_SIZE = 9 * 4  # SK_MEMINFO_VARS u32 values, RMEM_ALLOC first
# ≈ 900 datagrams (≈ 2.3 KB each as the kernel counts them, with their buffers), the messages
# of some 130 calls, waiting for a whole second: what sipp's bursts never did at 2,500
# REGISTERs/s, and what 800 calls/s did within a second (docs/adr/0010, the 2026-12-01 addendum)
DEFAULT_QUEUE_BYTES = 2048 * 1024
DEFAULT_HOLD_SECONDS = 1.0
DEFAULT_RETRY_AFTER = 2  # seconds


@dataclass(frozen=True)
class OverloadSettings:
    """The thresholds (SIP_OVERLOAD_QUEUE_KB, SIP_OVERLOAD_RETRY_AFTER, SIP_OVERLOAD_HOLD_MS)."""

    queue_bytes: int = DEFAULT_QUEUE_BYTES  # 0: never shed
    retry_after: int = DEFAULT_RETRY_AFTER
    hold_seconds: float = DEFAULT_HOLD_SECONDS  # how long the queue stays past it before shedding


class Backlog(Protocol):
    """What the engine has received and not read yet."""

    def pending_bytes(self) -> int:
        """Bytes waiting to be read."""


class NoBacklog:
    """Nothing watched (a switch without a socket, or a kernel without SO_MEMINFO)."""

    def pending_bytes(self) -> int:
        return 0


class SocketBacklog:
    """The receive queue of a UDP socket, as the kernel counts it (`SO_MEMINFO` RMEM_ALLOC)."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock

    def pending_bytes(self) -> int:
        meminfo = self.sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, MEMINFO_SIZE)
        return int(struct.unpack_from("I", meminfo)[0])


class OverloadGuard:
    """Decides, for each request the SIP layer passes up, whether it is shed."""

    def __init__(
        self,
        clock: Clock,
        settings: OverloadSettings | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings or OverloadSettings()
        self.queue_bytes = self.settings.queue_bytes
        self.backlog: Backlog = backlog or NoBacklog()
        self.shed: Counter[str] = Counter()  # requests shed, by method
        self._shedding_since: float | None = None
        self._above_since: float | None = None  # the first reading past the threshold in a row
        self._shed_then = 0

    @property
    def retry_after(self) -> tuple[str, str]:
        """The header of the 503 of a shed request."""
        return ("Retry-After", str(self.settings.retry_after))

    def watch(self, sock: Any) -> None:
        """Measure the backlog of the engine's UDP socket. The threshold is held below half of
        the socket's receive buffer: past the buffer the kernel drops datagrams of any kind."""
        backlog = SocketBacklog(sock)
        try:
            backlog.pending_bytes()
        except OSError as error:
            logger.warning("overload control off: the receive queue cannot be read (%s)", error)
            return
        self.backlog = backlog
        buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        if self.queue_bytes > buffer // 2:
            logger.warning(
                "overload control: SIP_OVERLOAD_QUEUE_KB lowered to %d, half of the UDP receive "
                "buffer the kernel allows (raise net.core.rmem_max for more)",
                buffer // 2048,
            )
            self.queue_bytes = buffer // 2
        logger.info(
            "overload control: new INVITEs and REGISTERs get 503 (Retry-After: %d) once more "
            "than %d KB have waited unread for %.1f s",
            self.settings.retry_after,
            self.queue_bytes // 1024,
            self.settings.hold_seconds,
        )

    def sheds(self, request: Request) -> bool:
        """Whether to refuse this request: a new INVITE or REGISTER while the engine is behind
        (counted in `shed`). One that answers our digest challenge is shed only past twice the
        threshold: its first half was paid for, and admitting it completes a registration or
        a phone's call where shedding it would waste that work (a registration storm after an
        outage otherwise completes almost nothing)."""
        if request.method not in SHED_METHODS or request.to.tag or not self.queue_bytes:
            return False
        pending = self.backlog.pending_bytes()
        if pending <= self.queue_bytes:
            self.check(pending)
            return False
        if not self._held_past_threshold():
            return False
        if pending <= 2 * self.queue_bytes and _answers_challenge(request):
            return False
        if self._shedding_since is None:
            logger.warning(
                "overload: %d KB wait unread; shedding new INVITEs and REGISTERs", pending // 1024
            )
            self._shedding_since = self.clock.monotonic()
            self._shed_then = self.total_shed
        self.shed[request.method] += 1
        return True

    def _held_past_threshold(self) -> bool:
        """Whether every reading for `hold_seconds` found the queue past the threshold (this
        one did)."""
        now = self.clock.monotonic()
        if self._above_since is None:
            self._above_since = now
        return now - self._above_since >= self.settings.hold_seconds

    @property
    def total_shed(self) -> int:
        return sum(self.shed.values())

    def check(self, pending: int | None = None) -> None:
        """Say when shedding has stopped (also every second, from the engine's housekeeping,
        in case no new request comes to find out)."""
        if (self.backlog.pending_bytes() if pending is None else pending) > self.queue_bytes:
            return
        self._above_since = None
        if self._shedding_since is None:
            return
        logger.warning(
            "overload over: %d requests shed in %.1f s",
            self.total_shed - self._shed_then,
            self.clock.monotonic() - self._shedding_since,
        )
        self._shedding_since = None


def _answers_challenge(request: Request) -> bool:
    """A REGISTER with Authorization, an INVITE with Proxy-Authorization (SPEC §3.2)."""
    header = "authorization" if request.method == "REGISTER" else "proxy-authorization"
    return request.headers.get(header) is not None
