"""`make run`'s supervisor: a child that dies is restarted with a backoff (1 s doubling to 30 s,
afresh after it stayed up a while), a console that cannot start stops the stack, and Ctrl-C or
SIGTERM still stops everything. Tiny child commands, explicit time where possible."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from vosadmin import stack
from vosadmin.stack import Backoff, Child, GiveUp, Process


class FakeProcess:
    """A stand-in for a Popen: running (returncode None) or exited."""

    def __init__(self, returncode: int | None = None) -> None:
        self.returncode = returncode
        self.pid = 4242

    def poll(self) -> int | None:
        return self.returncode


@pytest.fixture
def fake_spawn(monkeypatch) -> None:
    """Child.start() starts a FakeProcess that runs until `crash`."""
    monkeypatch.setattr(Child, "spawn", lambda self: FakeProcess())


def crash(child: Child, at: float, returncode: int = -9) -> None:
    """The child, started at `child.started`, is seen dead at `at`."""
    child.popen.returncode = returncode
    child.tend(at, Backoff())


def restart(child: Child, at: float) -> None:
    child.tend(at, Backoff())
    assert child.started == at and child.restart_at is None


def started(process: Process, at: float = 0.0) -> Child:
    child = Child(process, {})
    child.start(at)
    return child


def test_backoff_doubles_from_one_second_up_to_thirty() -> None:
    assert [Backoff().delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_crash_loop_is_restarted_ever_later_and_a_stable_run_resets_it(fake_spawn) -> None:
    child = started(Process("sipengine", ["x"]))
    delays = []
    now = 0.0
    for _ in range(7):
        crash(child, now + 0.5)
        delays.append(child.restart_at - (now + 0.5))
        now = child.restart_at
        restart(child, now)
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    crash(child, now + Backoff().stable)  # it stayed up a minute: this crash is a first one
    assert child.restart_at - child.started == Backoff().stable + 1


def test_no_restart_before_the_delay_is_over(fake_spawn) -> None:
    child = started(Process("worker", ["x"]))
    crash(child, 10.0)
    child.tend(10.9, Backoff())
    assert child.restart_at == 11.0
    restart(child, 11.0)
    assert child.restart_at is None


def test_a_console_that_cannot_start_gives_up(fake_spawn) -> None:
    child = started(Process("web", ["x"], give_up_after=3))
    crash(child, 0.5, returncode=1)
    restart(child, child.restart_at)
    crash(child, child.started + 0.5, returncode=1)
    restart(child, child.restart_at)
    with pytest.raises(
        GiveUp, match=r"web could not start: it exited 3 times in a row.*exit code 1"
    ):
        crash(child, child.started + 0.5, returncode=1)


def test_exits_are_described_by_signal_or_code() -> None:
    assert stack.describe_exit(-9) == "killed by SIGKILL"
    assert stack.describe_exit(3) == "exit code 3"


@pytest.fixture
def signal_handlers():
    """supervise() installs SIGINT/SIGTERM handlers: put pytest's back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def sigterm_self_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    return timer


def test_supervise_restarts_a_dying_child_and_sigterm_stops_all(
    tmp_path: Path, signal_handlers, capsys
) -> None:
    starts = tmp_path / "starts"
    processes = [
        Process("flaky", ["sh", "-c", f"echo $$ >> {starts}; exit 3"]),
        Process("steady", ["sleep", "60"]),
    ]
    before = children()
    timer = sigterm_self_after(1.5)
    began = time.monotonic()
    try:
        exit_code = stack.supervise({"PATH": os.environ["PATH"]}, processes, Backoff(0.1, 0.4, 60))
    finally:
        timer.cancel()  # never a stray SIGTERM at pytest itself
    assert exit_code == 0
    assert time.monotonic() - began < 5
    # started, then restarted after 0.1, 0.2, 0.4 (+ polling): at least 3 runs, at most 6
    assert 3 <= len(starts.read_text().split()) <= 6
    output = capsys.readouterr().out
    assert "flaky DIED (exit code 3)" in output and "flaky restarted" in output
    assert "steady DIED" not in output
    assert "stopping (Ctrl-C)" in output
    assert children() == before  # every child it started is gone


def test_supervise_gives_up_when_the_console_cannot_start(signal_handlers, capsys) -> None:
    processes = [
        Process("web", ["sh", "-c", "exit 1"], give_up_after=3),
        Process("steady", ["sleep", "60"]),
    ]
    before = children()
    exit_code = stack.supervise({"PATH": os.environ["PATH"]}, processes, Backoff(0.05, 0.1, 60))
    assert exit_code == 1
    assert "web could not start: it exited 3 times in a row" in capsys.readouterr().out
    assert children() == before  # every child it started is gone
