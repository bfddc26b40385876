"""DisconnectCurrentCall ends a live call through the real engine: sipp calls, the Web API asks,
the engine sends BYE to both sides and writes the CDR ended by the server."""

from __future__ import annotations

import pytest

from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Cdr
from softswitch.models import CurrentCall, MappingGateway
from tests.engine.harness import requires_sipp, sipp_finished, wait_for
from tests.engine.test_calls import CUSTOMER_IP, call, gateway_uas, routing_gateway

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]


def test_disconnect_current_call_ends_a_live_call(engine, web_api) -> None:
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    uas = gateway_uas(routing_gateway("VENDOR", ["86"]))
    caller = call(
        engine(),
        "8613800000042",
        scenario="uac_gateway_call_wait.xml",
        background=True,
        timeout=60,
    )
    wait_for(lambda: CurrentCall.objects.filter(state="connected").exists(), timeout=15)
    [live] = web_api("GetCurrentCall", {"calleeE164s": ["8613800000042"]})["infoCurrentCalls"]
    assert web_api("DisconnectCurrentCall", {"callIds": [live["callId"]]}) == {"retCode": 0}
    assert sipp_finished(caller).outcome() == "REMOTE_BYE"  # BYE to the caller
    assert sipp_finished(uas).logged[-1] == "BYE"  # and to the routing gateway
    record = wait_for(lambda: Cdr.objects.filter(callee="8613800000042").first(), timeout=10)
    assert (record.end_reason, record.end_direction) == (
        Reason.DISCONNECTED_BY_OPERATOR,
        Direction.SERVER,
    )
    assert record.hold_time_ms > 0
    wait_for(lambda: not CurrentCall.objects.exists(), timeout=5)
