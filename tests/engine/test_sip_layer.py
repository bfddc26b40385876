"""The SIP layer's edge cases that need no sockets: timers on the running loop, a send that
raises (softswitch/engine/sip_layer.py)."""

from __future__ import annotations

import asyncio

from softswitch.engine.clock import Clock
from softswitch.engine.sip_layer import SipLayer
from softswitch.engine.transport import Flow
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import Malformed
from tests.sip.samples import INVITE, parse_request

GATEWAY = Flow("udp", ("192.0.2.7", 5060))


class NothingReceived:
    """The transaction user of a layer that only sends in these tests."""

    def on_request(self, request: Request, flow: Flow) -> None:
        raise AssertionError("nothing is received here")

    on_ack = on_request

    def on_stray_response(self, response: Response, flow: Flow) -> None:
        raise AssertionError("nothing is received here")

    def on_malformed(self, message: Malformed | Request, flow: Flow, status: int) -> None:
        raise AssertionError("nothing is received here")


def unreachable(flow: Flow, data: bytes, on_error: object) -> None:
    raise OSError("Network is unreachable")


def test_a_send_that_raises_fails_the_transaction_and_forgets_it() -> None:
    async def scenario() -> tuple[list[str], int]:
        layer = SipLayer(unreachable, Clock(), NothingReceived())
        failures: list[str] = []
        layer.send_request(parse_request(INVITE), GATEWAY, lambda response: None, failures.append)
        await asyncio.sleep(0.05)
        return failures, len(layer.clients)

    assert asyncio.run(scenario()) == (["transport"], 0)


def test_an_unanswered_invite_is_sent_again_on_timer_a() -> None:
    """Timer A (RFC 3261 §17.1.1.2): 0.5 s, then doubling."""
    sent: list[float] = []

    async def scenario() -> list[str]:
        clock = Clock()
        layer = SipLayer(
            lambda flow, data, on_error: sent.append(clock.monotonic()), clock, NothingReceived()
        )
        failures: list[str] = []
        layer.send_request(parse_request(INVITE), GATEWAY, lambda response: None, failures.append)
        await asyncio.sleep(1.7)
        return failures

    assert asyncio.run(scenario()) == []
    assert len(sent) == 3  # at 0, 0.5 and 1.5 s
