"""Overload control: new INVITEs and REGISTERs get 503 + Retry-After while the engine is behind.

What is measured is how long a datagram waits, unread, in the engine's UDP socket: the event
loop reads one datagram after another and works through each completely, so when the work of
the traffic offered exceeds one core the queue grows, every message waits longer, and once the
wait nears T1 (500 ms; a 200 OK's retransmission stops only when the ACK has crossed the
engine too, so half of that for a call) the peers' retransmission timers fire: the
retransmissions add work and the calls in progress fail with the new ones
(docs/adr/0010-overload-control.md). The wait is read off a datagram the engine sends itself
every `PROBE_SECONDS` (`DelayProbe`): it queues behind everything received before it.

So while the wait is past `OverloadSettings.delay_seconds`, and has been for `hold_seconds` (a
burst or a pause of the loop holds datagrams for a moment without the engine being behind), a
request that would start something new (an INVITE or a REGISTER outside any dialog, which the
SIP layer passes up only when it matches no transaction) is answered 503 with Retry-After,
which costs a fraction of admitting it. Everything else (ACK, BYE, CANCEL, re-INVITE and other
in-dialog requests, responses, retransmissions of transactions in progress) is always worked on.
"""

from __future__ import annotations

import logging
import secrets
import struct
from collections import Counter, deque
from dataclasses import dataclass
from typing import Protocol

from softswitch.engine.clock import Clock
from softswitch.sip.message import Request

logger = logging.getLogger(__name__)

SHED_METHODS = ("INVITE", "REGISTER")
PROBE_SECONDS = 0.1  # how often the engine sends itself a probe
PROBE_TIME = struct.Struct("!d")  # when it was sent (the engine's monotonic clock)
PROBES_KEPT = 100  # unread probes remembered: a wait is known up to 10 s
DEFAULT_DELAY_SECONDS = 0.1
DEFAULT_HOLD_SECONDS = 0.5
DEFAULT_RETRY_AFTER = 2  # seconds


@dataclass(frozen=True)
class OverloadSettings:
    """The thresholds (SIP_OVERLOAD_DELAY_MS, SIP_OVERLOAD_RETRY_AFTER, SIP_OVERLOAD_HOLD_MS)."""

    delay_seconds: float = DEFAULT_DELAY_SECONDS  # 0: never shed
    retry_after: int = DEFAULT_RETRY_AFTER
    hold_seconds: float = DEFAULT_HOLD_SECONDS  # how long the wait stays past it before shedding


class QueueDelay(Protocol):
    """How long what the engine receives waits before it is read."""

    def seconds(self) -> float:
        """The wait now, as far as it is known."""


class NoDelay:
    """Nothing measured (a switch without a socket)."""

    def seconds(self) -> float:
        return 0.0


class DelayProbe:
    """The wait in the engine's receive queue, from datagrams the engine sends itself.

    A probe is a datagram that starts with a NUL byte (no SIP message does) and this process's
    random mark, so that no one else can forge one, followed by the time it was sent. The
    wait is the time between sending and reading the last probe read, or, while a probe is
    still unread, the age of the oldest one if that is longer (it has waited at least that
    long): a queue that starts to grow shows at once, not a probe's wait later. A probe lost
    (a full queue drops it) is forgotten when a later one is read. Until the first probe comes
    back, the path is unproven and the wait reads 0: nothing is shed on a guess. Times are the
    loop's (uvloop's clock counts whole milliseconds, so an idle engine's wait reads 0)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.mark = b"\0probe" + secrets.token_bytes(8)
        self.size = len(self.mark) + PROBE_TIME.size
        # when the probes not read yet were sent (past PROBES_KEPT, the oldest are forgotten)
        self.unread: deque[float] = deque(maxlen=PROBES_KEPT)
        self.last: float | None = None  # the wait of the last probe read

    def datagram(self) -> bytes:
        """A probe to send now."""
        sent = self.clock.monotonic()
        if self.last is None and len(self.unread) == PROBES_KEPT - 1:  # once: then it stays full
            logger.warning(
                "overload control off: none of the %d probes sent to the engine's own UDP "
                "socket came back (a firewall on the loopback?)",
                PROBES_KEPT,
            )
        self.unread.append(sent)
        return self.mark + PROBE_TIME.pack(sent)

    def read(self, data: bytes) -> bool:
        """Take `data` if it is one of our probes (and say whether it was)."""
        if len(data) != self.size or not data.startswith(self.mark):
            return False
        (sent,) = PROBE_TIME.unpack_from(data, len(self.mark))
        unread = self.unread
        while unread and unread[0] <= sent:
            unread.popleft()
        self.last = self.clock.monotonic() - sent
        return True

    def seconds(self) -> float:
        if self.last is None:
            return 0.0
        if not self.unread:
            return self.last
        return max(self.last, self.clock.monotonic() - self.unread[0])


class OverloadGuard:
    """Decides, for each request the SIP layer passes up, whether it is shed."""

    def __init__(
        self,
        clock: Clock,
        settings: OverloadSettings | None = None,
        delay: QueueDelay | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings or OverloadSettings()
        self.delay: QueueDelay = delay or NoDelay()
        self.shed: Counter[str] = Counter()  # requests shed, by method
        self._shedding_since: float | None = None
        self._above_since: float | None = None  # the first reading past the threshold in a row
        self._shed_then = 0

    @property
    def retry_after(self) -> tuple[str, str]:
        """The header of the 503 of a shed request."""
        return ("Retry-After", str(self.settings.retry_after))

    def describe(self) -> str:
        """The rule, for the engine's log when it starts."""
        settings = self.settings
        if not settings.delay_seconds:
            return "overload control off (SIP_OVERLOAD_DELAY_MS=0)"
        return (
            f"overload control: new INVITEs and REGISTERs get 503 (Retry-After: "
            f"{settings.retry_after}) once what the engine receives has waited more than "
            f"{settings.delay_seconds * 1000:.0f} ms unread for {settings.hold_seconds:.1f} s"
        )

    def sheds(self, request: Request) -> bool:
        """Whether to refuse this request: a new INVITE or REGISTER while the engine is behind
        (counted in `shed`). One that answers our digest challenge is shed only past twice the
        threshold: its first half was paid for, and admitting it completes a registration or
        a phone's call where shedding it would waste that work (a registration storm after an
        outage otherwise completes almost nothing)."""
        target = self.settings.delay_seconds
        if request.method not in SHED_METHODS or request.to.tag or not target:
            return False
        delay = self.delay.seconds()
        if delay <= target:
            self.check(delay)
            return False
        if not self._held_past_threshold():
            return False
        if delay <= 2 * target and _answers_challenge(request):
            return False
        if self._shedding_since is None:
            logger.warning(
                "overload: what the engine receives waits %.0f ms; shedding new INVITEs and "
                "REGISTERs",
                delay * 1000,
            )
            self._shedding_since = self.clock.monotonic()
            self._shed_then = self.total_shed
        self.shed[request.method] += 1
        return True

    def _held_past_threshold(self) -> bool:
        """Whether every reading for `hold_seconds` found the wait past the threshold (this
        one did)."""
        now = self.clock.monotonic()
        if self._above_since is None:
            self._above_since = now
        return now - self._above_since >= self.settings.hold_seconds

    @property
    def total_shed(self) -> int:
        return sum(self.shed.values())

    def check(self, delay: float | None = None) -> None:
        """Say when shedding has stopped (also every second, from the engine's housekeeping,
        in case no new request comes to find out)."""
        if (self.delay.seconds() if delay is None else delay) > self.settings.delay_seconds:
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
