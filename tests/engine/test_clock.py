"""The engine's clock schedules on the running loop only (softswitch/engine/clock.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from softswitch.engine.clock import Clock

ENGINE = Path(__file__).resolve().parents[2] / "softswitch"


def test_a_timer_cannot_be_scheduled_outside_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        Clock().call_later(0.01, lambda: None)
    with pytest.raises(RuntimeError):
        Clock().monotonic()


def test_self_check_sees_a_timer_fire() -> None:
    assert 0 < asyncio.run(Clock().self_check()) < 2


def test_timers_fire_on_the_loop_that_runs() -> None:
    async def scenario() -> list[str]:
        fired: list[str] = []
        clock = Clock()
        clock.call_at(clock.monotonic() + 0.02, fired.append, "at")
        clock.call_later(0.01, fired.append, "later")
        await asyncio.sleep(0.1)
        return fired

    assert asyncio.run(scenario()) == ["later", "at"]


def test_no_engine_module_takes_a_loop_that_may_not_be_the_running_one() -> None:
    offenders = [
        str(path.relative_to(ENGINE))
        for path in ENGINE.rglob("*.py")
        if "get_event_loop(" in path.read_text() or "new_event_loop(" in path.read_text()
    ]
    assert offenders == []
