"""GetCurrentCall and DisconnectCurrentCall: the calls in progress on every engine node."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from softswitch.choices import CurrentCallOriginChoices
from softswitch.current_calls import disconnect_call
from softswitch.filtersets import CurrentCallFilterSet
from softswitch.models import CurrentCall
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import (
    NOT_FOUND,
    CallError,
    filtered,
    milliseconds,
    success,
    text,
    text_list,
)

# The Current calls FilterSet's parameter for each VOS3000 request field.
FILTERS = {
    "callerE164s": "caller_exact",
    "calleeE164s": "callee_exact",
    "gatewayMappingName": "origin",
    "gatewayRoutingName": "routing_gateway",
}


def current_calls(body: dict[str, Any]) -> Any:
    """The current calls a GetCurrentCall request selects (the Current calls page's FilterSet)."""
    values: dict[str, Any] = {
        parameter: text_list(body, field) if field.endswith("s") else text(body, field)
        for field, parameter in FILTERS.items()
    }
    if values["origin"]:
        values["origin_type"] = CurrentCallOriginChoices.MAPPING_GATEWAY
    vos_names = {parameter: field for field, parameter in FILTERS.items()}
    return filtered(CurrentCallFilterSet, values, CurrentCall.objects.all(), vos_names).qs


def info_current_call(call: CurrentCall, now_ms: int) -> dict[str, Any]:
    connected = milliseconds(call.connected_at)
    return {
        "callerE164": call.caller,
        "calleeE164": call.callee,
        "callerGatewayId": call.origin,
        "calleeGatewayId": call.routing_gateway,
        "connectedTime": connected or 0,
        "keepTime": max(0, (now_ms - connected) // 1000) if connected else 0,
        "callId": call.call_id,
    }


@web_call("GetCurrentCall")
def get_current_call(context: CallContext) -> dict[str, Any]:
    now_ms = milliseconds(timezone.now())
    calls = current_calls(context.body).order_by("started_at")
    return success(infoCurrentCalls=[info_current_call(call, now_ms) for call in calls])


@web_call("DisconnectCurrentCall", writes=True)
def disconnect_current_call(context: CallContext) -> dict[str, Any]:
    """End the calls named by `callIds` (the `callId` of GetCurrentCall); all or none."""
    call_ids = text_list(context.body, "callIds", required=True)
    calls = {call.call_id: call for call in CurrentCall.objects.filter(call_id__in=call_ids)}
    if missing := [call_id for call_id in call_ids if call_id not in calls]:
        raise CallError(NOT_FOUND, f"callIds: no call in progress with id {missing[0]}")
    with transaction.atomic():
        for call in calls.values():
            disconnect_call(call, context.actor)
    return success()
