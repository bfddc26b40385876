"""The engine's clock and timer service: always the running event loop's, never another.

Every part of the engine reads the time and schedules its timers through one `Clock`, built
by the process and handed to each part (docs/adr/0008): wall-clock time (`now`) for CDRs and
windows shared with other processes, monotonic time for deadlines, `call_at`/`call_later`
returning a `Timer` to cancel. Tests drive the same parts in virtual time with a subclass
(tests/engine/virtual_time.py) instead of sleeping.

A timer scheduled on a loop that does not run never fires, and nothing says so: the engine
once took the current event loop (`asyncio.get_event_loop`) while it was being built, before
`uvloop.run()` started the loop that really runs, and no transaction timer ever fired (no
retransmission, no transaction ever forgotten). `Clock` looks the loop up at each call with
`asyncio.get_running_loop()`, which raises outside a running loop instead of handing out one
that will never run, and `Clock.self_check()` proves at start that a timer fires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

SELF_CHECK_DELAY = 0.01
SELF_CHECK_TIMEOUT = 2.0


class TimerSelfCheckFailed(RuntimeError):
    """A timer scheduled through the engine's clock did not fire."""


class Timer(Protocol):
    """A scheduled callback (`asyncio.TimerHandle` in the engine)."""

    def cancel(self) -> None:
        """Call it off (harmless once it ran or was cancelled)."""


class Clock:
    """Wall-clock time, monotonic time and timers of the running event loop."""

    def now(self) -> float:
        """Wall-clock seconds since 1970 (for CDRs and windows shared with other processes)."""
        return time.time()

    def monotonic(self) -> float:
        """The running loop's monotonic time (what timer deadlines are expressed in)."""
        return asyncio.get_running_loop().time()

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Run `callback(*args)` at monotonic time `when` on the running loop."""
        return asyncio.get_running_loop().call_at(when, callback, *args)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Run `callback(*args)` after `delay` seconds on the running loop."""
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    async def self_check(self) -> float:
        """Schedule a timer through this clock and wait for it; the delay it took, in seconds.

        Raises `TimerSelfCheckFailed` if it has not fired within `SELF_CHECK_TIMEOUT`.
        """
        fired = asyncio.get_running_loop().create_future()
        started = self.monotonic()
        handle = self.call_later(SELF_CHECK_DELAY, _resolve, fired)
        done, _ = await asyncio.wait({fired}, timeout=SELF_CHECK_TIMEOUT)
        if not done:
            handle.cancel()
            raise TimerSelfCheckFailed(f"a {SELF_CHECK_DELAY * 1000:.0f} ms timer did not fire")
        return self.monotonic() - started


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
