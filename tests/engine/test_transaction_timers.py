"""Transaction timers fire in the running engine (RFC 3261 §17): a routing gateway that loses
the first INVITE over UDP gets it again (Timer A), and the engine proves at start that its
timers fire."""

from __future__ import annotations

import socket

import pytest

from softswitch.models import MappingGateway, RoutingGateway
from softswitch.sip.message import Request, build_response
from softswitch.sip.parser import try_parse_message
from tests.engine.harness import free_port, requires_sipp, run_sipp, sipp_finished

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]

CUSTOMER_IP = "127.0.0.2"


def receive_request(sock: socket.socket, timeout: float) -> Request:
    sock.settimeout(timeout)
    while True:
        data, _ = sock.recvfrom(65535)
        message = try_parse_message(data)
        if isinstance(message, Request):
            return message


def test_an_invite_lost_on_the_way_to_the_gateway_is_sent_again(engine) -> None:
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    lossy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lossy.bind(("127.0.0.1", free_port()))
    RoutingGateway.objects.create(
        name="LOSSY", host="127.0.0.1", port=lossy.getsockname()[1], prefixes=["86"]
    )
    runner = engine()
    caller = run_sipp(
        "uac_gateway_call.xml",
        runner.address,
        rows=["2125550100;8613800000001;"],
        local_ip=CUSTOMER_IP,
        background=True,
        timeout=30,
    )
    try:
        first = receive_request(lossy, timeout=10)  # "lost": not answered
        again = receive_request(lossy, timeout=5)  # Timer A: 0.5 s later
        assert (first.method, again.method) == ("INVITE", "INVITE")
        assert again.via.branch == first.via.branch
        busy = build_response(again, 486, to_tag="lossy")
        lossy.sendto(busy.to_bytes(), ("127.0.0.1", runner.port))
        assert sipp_finished(caller).outcome() == "FAILED 486"
    finally:
        lossy.close()
    assert "timer self-check passed" in runner.log()
