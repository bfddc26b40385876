"""The SIP layer's deadlines behind one loop timer (softswitch/engine/deadlines.py), in
virtual time."""

from __future__ import annotations

import gc
import weakref

import pytest

from softswitch.engine.deadlines import Deadlines
from tests.engine.virtual_time import FakeClock


class Holder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.deadline: float | None = None
        self.wait = 0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def recording(clock: FakeClock) -> tuple[Deadlines[Holder], list[tuple[str, float]]]:
    fired: list[tuple[str, float]] = []
    deadlines: Deadlines[Holder] = Deadlines(
        clock, lambda holder: fired.append((holder.name, clock.monotonic()))
    )
    return deadlines, fired


def test_holders_fire_at_their_deadlines_in_order(clock) -> None:
    deadlines, fired = recording(clock)
    late, early, same = Holder("late"), Holder("early"), Holder("same")
    deadlines.set(late, 32.0)
    deadlines.set(early, 0.5)
    deadlines.set(same, 0.5)
    assert len(deadlines) == 3
    clock.advance(0.499)
    assert fired == []
    clock.advance(0.001)
    assert fired == [("early", 0.5), ("same", 0.5)]  # the same moment: in the order set
    assert early.deadline is None and len(deadlines) == 1
    clock.advance(40)
    assert fired[-1] == ("late", 32.0)
    assert len(deadlines) == 0 and clock.next_deadline() is None  # no loop timer left


def test_a_moved_deadline_fires_once_at_its_new_time(clock) -> None:
    deadlines, fired = recording(clock)
    holder = Holder("moved")
    deadlines.set(holder, 0.5)
    deadlines.set(holder, 32.0)  # Timer A stopped, Timer B left
    deadlines.set(holder, 32.0)  # unchanged
    clock.advance(31)
    assert fired == []
    deadlines.set(holder, 5.0 + 31)  # Timer B stopped, Timer K left: its 32 s entry is stale
    clock.advance(10)
    assert fired == [("moved", 36.0)]  # the stale 32 s entry fired nothing


def test_a_holder_let_go_never_fires_and_is_not_kept(clock) -> None:
    deadlines, fired = recording(clock)
    holder = Holder("forgotten")
    freed = weakref.ref(holder)
    deadlines.set(holder, 32.0)
    deadlines.set(holder, None)
    del holder
    gc.collect()
    assert freed() is None  # its stale heap entry holds only a number
    clock.advance(40)
    assert fired == [] and len(deadlines) == 0


def test_a_holder_set_again_while_firing_fires_again(clock) -> None:
    """A retransmission timer: the fired holder sets its next deadline from its callback."""
    fired: list[float] = []

    def fire(holder: Holder) -> None:
        fired.append(clock.monotonic())
        if len(fired) < 3:
            deadlines.set(holder, clock.monotonic() + 0.5 * len(fired))

    deadlines: Deadlines[Holder] = Deadlines(clock, fire)
    deadlines.set(Holder("retransmitted"), 0.5)
    clock.advance(10)
    assert fired == [0.5, 1.0, 2.0]


def test_a_holder_that_raises_does_not_stop_the_others(clock) -> None:
    fired: list[str] = []

    def fire(holder: Holder) -> None:
        if holder.name == "broken":
            raise RuntimeError("broken")
        fired.append(holder.name)

    deadlines: Deadlines[Holder] = Deadlines(clock, fire)
    for name, deadline in (("broken", 1.0), ("next", 1.0), ("later", 2.0)):
        deadlines.set(Holder(name), deadline)
    with pytest.raises(RuntimeError):  # the loop logs it and goes on
        clock.advance(1.0)
    clock.advance(5)
    assert fired == ["next", "later"]
