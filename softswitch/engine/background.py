"""The engine's long-running loops (counter flushes, the CDR writer, housekeeping, …).

Each loop runs a step, sleeps the pause the step asks for, and runs it again, until `stop()`.
Stopping sets a flag *and* cancels: cancelling alone is not enough on Python 3.11, whose
`asyncio.wait_for` (redis-py wraps every send in it) returns its result and drops a
cancellation that arrives in the same loop iteration as that result (CPython gh-86296, fixed
in 3.12). A loop whose cancellation was dropped would go round forever, and the engine's
shutdown waited for it: the "engine that would not stop on SIGTERM". With the flag, a dropped
cancellation costs at most the rest of one step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

FAILED_STEP_PAUSE = 1.0

Step = Callable[[], Awaitable[float]]


class BackgroundLoops:
    """Start loops, and stop them all for sure."""

    def __init__(self) -> None:
        self.stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    def loop(self, name: str, step: Step, first_pause: float = 0.0) -> None:
        """Run `step()` again and again (after `first_pause`), sleeping what it returns between."""
        self._tasks.append(asyncio.create_task(self._run(name, step, first_pause), name=name))

    def every(self, name: str, seconds: float, action: Callable[[], object]) -> None:
        """Run `action()` (plain or async) every `seconds`, the first time after `seconds`."""

        async def step() -> float:
            result = action()
            if asyncio.iscoroutine(result):
                await result
            return seconds

        self.loop(name, step, first_pause=seconds)

    async def _run(self, name: str, step: Step, first_pause: float) -> None:
        await asyncio.sleep(first_pause)
        while not self.stopping:
            try:
                pause = await step()
            except Exception:
                logger.exception("background loop %s failed; trying again", name)
                pause = FAILED_STEP_PAUSE
            if not self.stopping:
                await asyncio.sleep(pause)

    async def stop(self) -> None:
        """Stop every loop and wait until each has returned."""
        self.stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
