"""Routing gateways named by host name, through the real engine (issue 10 item 4): names are
resolved without blocking, a gateway whose name does not resolve (or whose INVITE cannot be
sent) is a failed gateway — failover, or a final error and a CDR — and the OPTIONS prober
marks it offline. Unresolvable names use the `.invalid` TLD (RFC 2606)."""

from __future__ import annotations

import itertools

import pytest

from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from softswitch.models import RoutingGateway
from softswitch.redis_keys import CAPACITY_IN_USE_KEY
from softswitch.sip.message import Message, Response
from tests.engine.harness import free_port, requires_sipp, run_sipp, sipp_finished, wait_for
from tests.engine.sip_client import SipSocketClient
from tests.engine.test_calls import call, cdr, customer, gateway_uas, routing_gateway  # noqa: F401
from vosadmin.core.parameters import update_parameter

pytestmark = [
    requires_sipp,
    pytest.mark.sipp,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("customer"),  # the mapping gateway the calls come from
]

UNRESOLVABLE = "gw.vosadmin-test.invalid"
CRASH_SIGNS = ("Task exception was never retrieved", "periodic task")


def named_gateway(name: str, host: str, prefixes: list[str], **extra) -> RoutingGateway:
    """A routing gateway row as it may exist in the database (saved without validation)."""
    return RoutingGateway.objects.create(
        name=name, host=host, port=free_port(), prefixes=prefixes, **extra
    )


def assert_no_crash(runner) -> None:
    log = runner.log()
    assert not any(sign in log for sign in CRASH_SIGNS), log


def test_gateway_named_by_a_host_name_carries_the_call(engine) -> None:
    vendor = named_gateway("NAMED", "localhost", ["86"])
    uas = gateway_uas(vendor)
    runner = engine()
    assert call(runner, "8613800000101", timeout=20).outcome() == "ANSWERED"
    sipp_finished(uas)
    record = cdr(callee="8613800000101")
    assert (record.routing_gateway, record.end_reason) == ("NAMED", 200)
    assert record.callee_ip == f"127.0.0.1:{vendor.port}"
    assert_no_crash(runner)


@pytest.mark.parametrize(
    "host",
    [UNRESOLVABLE, "not a host\u0001", "::1"],  # ::1: an address the IPv4 socket cannot send to
    ids=["unresolvable", "malformed", "unsendable"],
)
def test_unusable_gateway_fails_over_to_the_next(engine, host) -> None:
    update_parameter("SS_MAPPING_GATEWAY_TIMEOUT", 20)  # were it waited for, the call would fail
    named_gateway("UNUSABLE", host, ["86"], priority=1)
    spare = routing_gateway("SPARE", ["86"], priority=2)
    uas = gateway_uas(spare)
    runner = engine()
    assert call(runner, "8613800000102", timeout=15).outcome() == "ANSWERED"
    sipp_finished(uas)
    assert cdr(callee="8613800000102").routing_gateway == "SPARE"
    assert_no_crash(runner)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        (UNRESOLVABLE, Reason.GATEWAY_UNRESOLVED),
        ("not a host\u0001", Reason.GATEWAY_UNRESOLVED),
        # a send the socket refuses is a transport error (RFC 3261 §8.1.3.1: as a 503 from the
        # gateway), ended like a TCP gateway that refuses the connection
        ("::1", Reason.GATEWAY_TIMEOUT),
    ],
    ids=["unresolvable", "malformed", "unsendable"],
)
def test_call_whose_only_gateway_is_unusable_gets_503_and_a_cdr(
    engine, redis_client, host, reason
) -> None:
    named_gateway("UNUSABLE", host, ["86"], capacity=5)
    runner = engine()
    assert call(runner, "8613800000103", timeout=15).outcome() == "FAILED 503"
    record = cdr(callee="8613800000103")
    assert (record.routing_gateway, record.end_reason, record.end_direction) == (
        "UNUSABLE",
        reason,
        Direction.SERVER,
    )
    assert record.connect_time is None
    wait_for(lambda: not redis_client.hgetall(CAPACITY_IN_USE_KEY), timeout=5)
    assert_no_crash(runner)


def test_prober_marks_an_unusable_gateway_offline_and_keeps_probing_the_others(
    engine, redis_client
) -> None:
    from softswitch.redis_keys import GATEWAY_STATUS_KEY

    update_parameter("SS_SIP_OPTIONS_CHECK_PERIOD", 60)  # offline at once, not after a period
    unresolvable = named_gateway("UNRESOLVABLE", UNRESOLVABLE, ["86"], options_check=True)
    unsendable = named_gateway("UNSENDABLE", "::1", ["86"], options_check=True)
    named = named_gateway("NAMED", "localhost", ["86"], options_check=True)
    responder = run_sipp(
        "options_responder.xml",
        "127.0.0.1:1",
        local_port=named.port,
        background=True,
        timeout=30,
    )
    runner = engine()

    def status(gateway: RoutingGateway) -> str | None:
        return redis_client.hget(GATEWAY_STATUS_KEY, str(gateway.pk))

    wait_for(
        lambda: status(unresolvable) == "offline" and status(unsendable) == "offline", timeout=10
    )
    responder.wait(timeout=30)  # it answered the named gateway's OPTIONS, then ended
    assert status(named) != "offline"

    def failures_logged() -> int:  # once by each worker (each probes every gateway)
        return runner.log().count("OPTIONS probe of routing gateway UNSENDABLE failed")

    wait_for(lambda: failures_logged() >= runner.workers, timeout=5)
    assert failures_logged() == runner.workers
    assert_no_crash(runner)


def test_options_from_a_gateway_named_by_host_name_are_answered(engine) -> None:
    """The address a gateway's name resolves to is a known source (answered even when
    SS_REPLY_UNAUTHORIZED is Off), before any call went there."""
    update_parameter("SS_REPLY_UNAUTHORIZED", False)
    named_gateway("NAMED", "localhost", ["86"])
    runner = engine()
    vendor = SipSocketClient((runner.host, runner.port), "udp", local_ip="127.0.0.1")

    attempts = itertools.count(1)

    def answered() -> Message | None:
        vendor.send_raw(options_from(vendor, runner, f"vendor-{next(attempts)}"))
        return vendor.receive(timeout=0.5)

    answer = wait_for(answered, timeout=8, interval=0)
    assert isinstance(answer, Response) and answer.status_code == 200
    vendor.close()


def options_from(client: SipSocketClient, runner, call_id: str) -> bytes:
    host, port = client.local
    return (
        f"OPTIONS sip:{runner.address} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:vendor@{host}>;tag=1\r\nTo: <sip:ping@{runner.address}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
