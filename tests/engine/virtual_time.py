"""The engine's clock in virtual time: tests move time forward instead of sleeping.

`FakeClock` is a `softswitch.engine.clock.Clock` whose time stands still until the test calls
`advance()`, which runs the timers that fall due, in deadline order (those scheduled for the
same moment in the order they were scheduled), each with the clock set to its deadline.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

from softswitch.engine.clock import Clock

START = 1_800_000_000.0  # 2027-01-15 08:00 UTC: wall-clock time when virtual time is 0


def _cancelled() -> None:
    """What a cancelled timer would run (it never runs)."""


class FakeTimer:
    """A timer of the fake clock."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Like asyncio's timers, let go of the callback and its arguments at once."""
        self.cancelled = True
        self.callback, self.args = _cancelled, ()


class FakeClock(Clock):
    """Virtual monotonic and wall-clock time, and timers that fire when time is advanced."""

    def __init__(self, start: float = START) -> None:
        self.start = start
        self.time = 0.0
        self._order = itertools.count()
        self._timers: list[tuple[float, int, FakeTimer]] = []

    def now(self) -> float:
        return self.start + self.time

    def monotonic(self) -> float:
        return self.time

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(when, callback, args)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        return self.call_at(self.time + max(delay, 0.0), callback, *args)

    def advance(self, seconds: float) -> int:
        """Move time forward by `seconds`, running every timer due by then; how many ran."""
        end, ran = self.time + seconds, 0
        while self._timers and self._timers[0][0] <= end:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.time = max(self.time, when)
            timer.callback(*timer.args)
            ran += 1
        self.time = end
        return ran

    def next_deadline(self) -> float | None:
        """When the next timer is due (None if none is scheduled)."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None
