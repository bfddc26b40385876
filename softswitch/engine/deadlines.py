"""Many deadlines behind one event-loop timer: how the SIP layer times its transactions.

A transaction spends most of its life waiting for its next deadline: 32 s for most of them
once their call has ended (Timers J, L and M, RFC 3261 and RFC 6026). A loop timer per
transaction (`loop.call_at`) cost five objects that the cyclic collector scans for all that
time (uvloop's `TimerHandle` and `UVTimer`, a `Context`, the bound method and the arguments'
tuple), and five new ones each time the deadline moved: a third of the objects alive in a
loaded engine (docs/adr/0009, addendum of 2026-12-02). Here a waiting holder costs an entry in
a dict and a `(deadline, number)` entry in a heap, a tuple of a float and an int that the
collector stops tracking the first time it sees it.

A holder whose deadline changes leaves its old heap entry behind; the entry is recognised as
stale by its number (no longer in `_waiting`) and dropped when it comes up. Holders due at the
same moment fire in the order their deadlines were set, as with `loop.call_at`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from softswitch.engine.clock import Clock, Timer


class Waiting(Protocol):
    """What `Deadlines` keeps on a holder: its deadline (None: none) and its entry's number."""

    deadline: float | None
    wait: int


H = TypeVar("H", bound=Waiting)


class Deadlines(Generic[H]):
    """Calls `fire(holder)` once each holder's deadline (monotonic time, `Clock`) has come."""

    def __init__(self, clock: Clock, fire: Callable[[H], None]) -> None:
        self.clock = clock
        self.fire = fire
        self._heap: list[tuple[float, int]] = []
        self._waiting: dict[int, H] = {}
        self._numbers = itertools.count(1)
        self._timer: Timer | None = None
        self._armed_at = math.inf

    def __len__(self) -> int:
        """How many holders wait for a deadline."""
        return len(self._waiting)

    def set(self, holder: H, deadline: float | None) -> None:
        """Make `deadline` the holder's only one (None: it has none any more)."""
        if holder.deadline == deadline:
            return
        if holder.deadline is not None:
            del self._waiting[holder.wait]
        holder.deadline = deadline
        if deadline is None:
            return
        holder.wait = number = next(self._numbers)
        self._waiting[number] = holder
        heapq.heappush(self._heap, (deadline, number))
        if deadline < self._armed_at:
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = when
        self._timer = self.clock.call_at(when, self._expire)

    def _expire(self) -> None:
        """Fire every holder that is due, then wait for the next live deadline. The loop ran
        this timer, so its time counts as reached even if the clock reads a hair earlier."""
        now = max(self.clock.monotonic(), self._armed_at)
        self._timer, self._armed_at = None, math.inf
        heap, waiting = self._heap, self._waiting
        try:
            while heap and heap[0][0] <= now:
                holder = waiting.pop(heapq.heappop(heap)[1], None)
                if holder is not None:  # else the entry is stale
                    holder.deadline = None
                    self.fire(holder)
        finally:  # a holder that raised (logged by the loop) does not stop the others
            while heap and heap[0][1] not in waiting:
                heapq.heappop(heap)
            if heap and heap[0][0] < self._armed_at:
                self._arm(heap[0][0])
