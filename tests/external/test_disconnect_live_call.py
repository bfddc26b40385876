"""Disconnecting ends a live call through the real engine, whichever way it is asked: sipp
calls, the Web API's DisconnectCurrentCall, the Current calls page's Disconnect button or the
REST API's POST /api/v1/calls/{id}/disconnect/ asks, the engine sends BYE to both sides and
writes the CDR ended by the server."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Cdr
from softswitch.models import CurrentCall, MappingGateway
from tests.conftest import api_client_for
from tests.engine.harness import requires_sipp, sipp_finished, wait_for
from tests.engine.test_calls import CUSTOMER_IP, call, gateway_uas, routing_gateway

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]


def by_web_api(live: CurrentCall, web_api, operator_user) -> None:
    [listed] = web_api("GetCurrentCall", {"calleeE164s": [live.callee]})["infoCurrentCalls"]
    assert web_api("DisconnectCurrentCall", {"callIds": [listed["callId"]]}) == {"retCode": 0}


def by_console_button(live: CurrentCall, web_api, operator_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)
    page = client.get("/current-calls/")
    action = f"/current-calls/{live.pk}/disconnect/"
    assert action in page.content.decode()
    token = page.cookies["csrftoken"].value
    response = client.post(action, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def by_rest_api(live: CurrentCall, web_api, operator_user) -> None:
    response = api_client_for(operator_user).post(f"/api/v1/calls/{live.pk}/disconnect/")
    assert response.status_code == 202 and response.json()["call_id"] == live.call_id


@pytest.mark.parametrize("disconnect", [by_web_api, by_console_button, by_rest_api])
def test_disconnect_ends_a_live_call(engine, web_api, operator_user, disconnect) -> None:
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    uas = gateway_uas(routing_gateway("VENDOR", ["86"]))
    caller = call(
        engine(),
        "8613800000042",
        scenario="uac_gateway_call_wait.xml",
        background=True,
        timeout=60,
    )
    live = wait_for(lambda: CurrentCall.objects.filter(state="connected").first(), timeout=15)
    disconnect(live, web_api, operator_user)
    assert sipp_finished(caller).outcome() == "REMOTE_BYE"  # BYE to the caller
    assert sipp_finished(uas).logged[-1] == "BYE"  # and to the routing gateway
    record = wait_for(lambda: Cdr.objects.filter(callee="8613800000042").first(), timeout=10)
    assert (record.end_reason, record.end_direction) == (
        Reason.DISCONNECTED_BY_OPERATOR,
        Direction.SERVER,
    )
    assert record.hold_time_ms > 0
    wait_for(lambda: not CurrentCall.objects.exists(), timeout=5)
