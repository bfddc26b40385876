"""The engine's name resolution of routing gateways and the supervision of call tasks, in
process (issue 10 item 4): no lookup blocks or repeats needlessly, nothing a call's task raises
is left unretrieved or leaves the call hanging."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from types import SimpleNamespace
from typing import Any

import pytest

from billing.choices import CdrEndReasonChoices as Reason
from softswitch.addresses import host_error
from softswitch.engine.call_manager import CallManager
from softswitch.engine.resolver import HostResolver, preferred_address
from tests.engine.virtual_time import FakeClock


class FakeDns:
    """A lookup with canned answers that counts its queries (and can be slow or broken)."""

    def __init__(self, answers: dict[str, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.queries: list[str] = []

    async def __call__(self, host: str) -> list[Any]:
        self.queries.append(host)
        await asyncio.sleep(self.delay)
        answer = self.answers.get(host, socket.gaierror(socket.EAI_NONAME, "not known"))
        if isinstance(answer, BaseException):
            raise answer
        return [(socket.AF_INET, socket.SOCK_DGRAM, 17, "", (answer, 0))]


def resolver(dns: FakeDns, clock: FakeClock | None = None, **kwargs: Any) -> HostResolver:
    return HostResolver(lookup=dns, clock=clock or FakeClock(), **kwargs)


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("192.0.2.1", True),
        ("2001:db8::1", True),
        ("localhost", True),
        ("sbc-1.example.net", True),
        ("sbc.example.net.", True),
        ("1a.example", True),
        ("not a host\u0001", False),
        ("", False),
        (".", False),
        ("gw_1.example", False),
        ("-gw.example", False),
        ("gw-.example", False),
        ("a" * 64, False),
        ("192.0.2.256", False),
        ("1.2.3", False),
        ("[2001:db8::1]", False),
        ("gw.example:5060", False),
        ("gw.éxample", False),
    ],
)
def test_host_syntax(host: str, valid: bool) -> None:
    assert (host_error(host) is None) is valid


def test_ip_literals_are_never_looked_up() -> None:
    dns = FakeDns({})
    names = resolver(dns)
    assert asyncio.run(names.resolve("192.0.2.7")) == "192.0.2.7"
    assert asyncio.run(names.resolve("2001:db8:0::7")) == "2001:db8::7"
    assert dns.queries == []


def test_a_name_is_cached_for_its_ttl_then_looked_up_again() -> None:
    dns, clock = FakeDns({"gw.example": "192.0.2.8"}), FakeClock()
    names = resolver(dns, clock, ttl=60)

    async def twice() -> list[str | None]:
        return [await names.resolve("gw.example"), await names.resolve("gw.example")]

    assert asyncio.run(twice()) == ["192.0.2.8", "192.0.2.8"]
    assert dns.queries == ["gw.example"]
    clock.advance(61)
    dns.answers["gw.example"] = "192.0.2.9"
    assert asyncio.run(names.resolve("gw.example")) == "192.0.2.9"
    assert dns.queries == ["gw.example", "gw.example"]


def test_a_failed_lookup_is_cached_for_the_negative_ttl_and_logged_once(caplog) -> None:
    dns, clock = FakeDns({}), FakeClock()
    names = resolver(dns, clock, negative_ttl=10)
    with caplog.at_level(logging.WARNING, "softswitch.engine.resolver"):
        for _ in range(3):
            assert asyncio.run(names.resolve("gw.example.invalid")) is None
        assert len(dns.queries) == 1
        clock.advance(11)
        assert asyncio.run(names.resolve("gw.example.invalid")) is None
    assert len(dns.queries) == 2
    assert len([r for r in caplog.records if "does not resolve" in r.getMessage()]) == 1


def test_concurrent_calls_share_one_lookup() -> None:
    dns = FakeDns({"gw.example": "192.0.2.10"}, delay=0.05)
    names = resolver(dns)

    async def together() -> list[str | None]:
        return list(await asyncio.gather(*(names.resolve("gw.example") for _ in range(20))))

    assert asyncio.run(together()) == ["192.0.2.10"] * 20
    assert dns.queries == ["gw.example"]


@pytest.mark.parametrize(
    ("answer", "delay"),
    [(UnicodeError("label too long"), 0.0), (RuntimeError("resolver broke"), 0.0), ("x", 5.0)],
    ids=["unencodable", "any-error", "timeout"],
)
def test_a_lookup_that_raises_or_hangs_is_unresolvable(answer: Any, delay: float) -> None:
    names = resolver(FakeDns({"gw.example": answer}, delay=delay), timeout=0.1)
    assert asyncio.run(names.resolve("gw.example")) is None


def test_malformed_hosts_are_never_looked_up() -> None:
    dns = FakeDns({})
    assert asyncio.run(resolver(dns).resolve("not a host\u0001")) is None
    assert dns.queries == []


def test_ipv4_is_preferred() -> None:
    infos = [
        (socket.AF_INET6, socket.SOCK_DGRAM, 17, "", ("2001:db8::1", 0, 0, 0)),
        (socket.AF_INET, socket.SOCK_DGRAM, 17, "", ("192.0.2.1", 0)),
    ]
    assert preferred_address(infos) == "192.0.2.1"
    assert preferred_address(infos[:1]) == "2001:db8::1"
    assert preferred_address([]) is None


class FakeCall:
    """What the supervisor needs of a call."""

    def __init__(self, crash_on_end: bool = False) -> None:
        self.record = SimpleNamespace(call_id="call-1")
        self.server = SimpleNamespace(key=("invite", "call-1"))
        self.invite = SimpleNamespace(
            call_id="call-1", from_=SimpleNamespace(tag="a"), cseq=SimpleNamespace(number=1)
        )
        self.routing = SimpleNamespace(legs=[])
        self.crash_on_end = crash_on_end
        self.crashes = 0
        self.ended: list[int] = []
        self.steps = 0
        self.disposed = False

    def crashed(self) -> None:
        self.crashes += 1
        if self.crash_on_end:
            raise RuntimeError("cannot even end")

    def end(self, reason: int, direction: int) -> None:
        self.ended.append(reason)

    def dialog_ids(self) -> list[Any]:
        return []

    def dispose(self) -> None:
        self.disposed = True


def supervise_failing_step(call: FakeCall) -> tuple[CallManager, list[dict[str, Any]]]:
    """Run a call step that raises under the manager's supervision; return what the loop's
    exception handler saw (e.g. "Task exception was never retrieved")."""
    switch = SimpleNamespace(
        counters=SimpleNamespace(redis=None), clock=FakeClock(), registrar=None
    )
    manager = CallManager(switch, journal=None, node="test", node_id=1, executor=None)
    manager.calls.add(call)
    unhandled: list[dict[str, Any]] = []

    async def step() -> None:
        raise ValueError("boom")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: unhandled.append(ctx))
        manager.supervise(call, step())
        await asyncio.sleep(0.01)

    asyncio.run(main())
    gc.collect()  # an unretrieved task exception is reported when the task is collected
    return manager, unhandled


def test_a_failing_call_step_is_logged_once_and_ends_the_call(caplog) -> None:
    call = FakeCall()
    with caplog.at_level(logging.ERROR, "softswitch.engine.call_manager"):
        _, unhandled = supervise_failing_step(call)
    assert call.crashes == 1 and unhandled == []
    assert call.steps == 0 and not call.disposed  # (this fake does not end when it crashes)
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and "call-1" in errors[0].getMessage()
    assert errors[0].exc_info and isinstance(errors[0].exc_info[1], ValueError)


def test_a_call_that_cannot_end_cleanly_is_still_dropped(caplog) -> None:
    call = FakeCall(crash_on_end=True)
    with caplog.at_level(logging.ERROR, "softswitch.engine.call_manager"):
        manager, unhandled = supervise_failing_step(call)
    assert unhandled == []
    assert call.ended == [Reason.INTERNAL_ERROR] and call not in manager.calls
    assert call.disposed


def test_refresh_looks_names_up_in_the_background_and_learns_their_addresses() -> None:
    dns = FakeDns({"gw.example": "192.0.2.11"})
    names = resolver(dns)

    async def refresh_all() -> None:
        for host in ("gw.example", "gw.example", "192.0.2.12", "not a host\u0001"):
            names.refresh(host)
        await asyncio.sleep(0.01)
        names.refresh("gw.example")  # fresh: no new lookup
        await asyncio.sleep(0.01)

    assert not names.knows_address("192.0.2.11")
    asyncio.run(refresh_all())
    assert dns.queries == ["gw.example"]
    assert names.knows_address("192.0.2.11") and not names.knows_address("192.0.2.12")
