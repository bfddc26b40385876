"""The engine's long-running loops stop for sure, even when a step drops a cancellation
(softswitch/engine/background.py): the cause of the engine that would not stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import pytest

from softswitch.engine.background import BackgroundLoops


async def swallowing_step() -> float:
    """A step that loses a cancellation the way Python 3.11's `asyncio.wait_for` can."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(0.05)
    return 0.01


async def stop_while_stepping(step) -> bool:
    loops = BackgroundLoops()
    loops.loop("test", step)
    await asyncio.sleep(0.01)  # the step is under way
    stopping = asyncio.create_task(loops.stop())
    done, _ = await asyncio.wait({stopping}, timeout=2)
    return bool(done)


def test_stop_returns_even_if_a_step_swallowed_the_cancellation() -> None:
    assert asyncio.run(stop_while_stepping(swallowing_step))


def test_stop_interrupts_a_sleeping_loop_at_once() -> None:
    async def scenario() -> float:
        loops = BackgroundLoops()
        loops.every("slow", 3600, lambda: None)
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        await loops.stop()
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(scenario()) < 1


def test_a_failing_step_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first time fails")

    async def scenario() -> None:
        loops = BackgroundLoops()
        loops.every("flaky", 0.01, flaky)
        await asyncio.sleep(1.3)  # one failure, a 1 s pause, then more steps
        await loops.stop()

    asyncio.run(scenario())
    assert len(calls) >= 2
    assert "background loop flaky failed" in caplog.text


def test_every_waits_its_interval_before_the_first_run() -> None:
    calls: list[int] = []

    async def scenario() -> None:
        loops = BackgroundLoops()
        loops.every("later", 0.5, lambda: calls.append(1))
        await asyncio.sleep(0.1)
        await loops.stop()

    asyncio.run(scenario())
    assert calls == []


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="asyncio.wait_for was fixed in 3.12")
def test_python_311_wait_for_drops_a_cancellation_that_meets_its_result() -> None:
    """Why cancelling alone cannot stop a loop that talks to redis-py (CPython gh-86296)."""

    async def scenario() -> bool:
        async def quick() -> int:
            return 1

        async def send() -> bool:
            await asyncio.wait_for(quick(), timeout=10)
            return True  # went on as if never cancelled

        task = asyncio.create_task(send())
        await asyncio.sleep(0)  # send() starts wait_for, which schedules quick()
        await asyncio.sleep(0)  # quick() finishes; wait_for's wake-up is queued
        task.cancel()  # arrives in the same iteration as the result
        return await task

    assert asyncio.run(scenario()) is True
