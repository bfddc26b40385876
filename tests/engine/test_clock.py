"""The engine's clock schedules on the running loop only (softswitch/engine/clock.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from softswitch.engine.clock import Clock
from tests.engine.virtual_time import FakeClock

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


def test_engine_modules_read_the_time_and_set_timers_only_through_the_clock() -> None:
    """One clock and timer service (docs/adr/0008): nothing else in the engine reads a clock
    or schedules on the loop, so virtual time (tests/engine/virtual_time.py) drives it all."""
    direct = re.compile(
        r"time\.time\(|time\.monotonic\(|loop\(\)\.time\(|\.call_later\(|\.call_at\("
    )
    offenders = [
        f"{path.name}:{number}"
        for path in (ENGINE / "engine").glob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if direct.search(line) and "self.clock." not in line
    ]
    assert offenders == []


def test_virtual_time_runs_timers_in_order_at_their_deadlines() -> None:
    clock = FakeClock(start=1000.0)
    fired: list[tuple[str, float]] = []
    record = lambda name: fired.append((name, clock.monotonic()))  # noqa: E731
    clock.call_later(2, record, "two")
    clock.call_at(1, record, "one")
    cancelled = clock.call_later(1.5, record, "never")
    clock.call_later(2, record, "two again")
    cancelled.cancel()
    assert clock.next_deadline() == 1
    assert clock.advance(1.9) == 1 and clock.now() == 1001.9
    assert clock.advance(0.1) == 2 and clock.next_deadline() is None
    assert fired == [("one", 1.0), ("two", 2.0), ("two again", 2.0)]
