"""Online phones and gateways: GetPhoneOnline, GetAllPhoneOnline, GetGatewayMappingOnline,
GetGatewayRoutingOnline.

Phones are online while the engine holds their registration (the Online phones page).
Gateways have no registration in vosadmin (they are known by address): every unlocked gateway
is listed, with its calls in progress now and its ASR / ACD over the last 24 hours of CDRs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone

from softswitch.choices import CurrentCallOriginChoices
from softswitch.filtersets import (
    MappingGatewayFilterSet,
    RegistrationFilterSet,
    RoutingGatewayFilterSet,
)
from softswitch.models import CurrentCall, MappingGateway, Registration, RoutingGateway
from vosadmin.external.calls.cdr import cdr_totals
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import filtered, milliseconds, success, text_list

STATISTICS_WINDOW = timedelta(hours=24)
ANSWERED = Q(connect_time__isnull=False)


def calls_by(field: str, names: list[str], **filters: Any) -> dict[str, int]:
    """Calls in progress per value of `field` (origin or routing gateway)."""
    rows = (
        CurrentCall.objects.filter(**{f"{field}__in": names}, **filters)
        .values(field)
        .annotate(count=Count("id"))
    )
    return {row[field]: row["count"] for row in rows}


def cdr_statistics(field: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per gateway over STATISTICS_WINDOW: attempts, answered, ASR (%), ACD (s), and the share
    of calls that got any response other than a timeout (response ratio, %)."""
    return cdr_totals(
        field,
        names,
        timezone.now() - STATISTICS_WINDOW,
        attempts=Count("flow_no"),
        answered=Count("flow_no", filter=ANSWERED),
        responded=Count("flow_no", filter=~Q(end_reason=-14)),  # not "gateway timeout"
        held=Avg("hold_time_ms", filter=ANSWERED),
    )


def ratios(stats: dict[str, Any] | None) -> dict[str, Any]:
    """ASR, ACD and the response and connected ratios (percent, seconds) of one gateway."""
    if not stats or not stats["attempts"]:
        return {"asr": 0.0, "acd": 0, "responseRatio": 0.0, "connectedRatio": 0.0}
    attempts = stats["attempts"]
    asr = round(100 * stats["answered"] / attempts, 2)
    return {
        "asr": asr,
        "acd": round((stats["held"] or 0) / 1000),
        "responseRatio": round(100 * stats["responded"] / attempts, 2),
        "connectedRatio": asr,
    }


def online_gateways(filterset_class: Any, model: Any, body: dict[str, Any]) -> list[Any]:
    """The unlocked gateways named by `names` (all when absent), through the gateway pages'
    FilterSet."""
    queryset = model.objects.filter(locked=False).order_by("name")
    names = text_list(body, "names")
    return list(filtered(filterset_class, {"name": names}, queryset, {"name": "names"}).qs)


@web_call("GetPhoneOnline")
def get_phone_online(context: CallContext) -> dict[str, Any]:
    """The registrations of the phones `e164s` (all online phones when absent)."""
    queryset = Registration.objects.select_related("phone").order_by("phone__e164")
    values = {"e164_exact": text_list(context.body, "e164s")}
    registrations = list(
        filtered(RegistrationFilterSet, values, queryset, {"e164_exact": "e164s"}).qs
    )
    numbers = [registration.phone.e164 for registration in registrations]
    busy = calls_by("origin", numbers, origin_type=CurrentCallOriginChoices.PHONE)
    return success(
        infoPhoneOnlines=[
            {
                "e164": registration.phone.e164,
                "currentCall": busy.get(registration.phone.e164, 0),
                "remoteIp": registration.source,
                "localIp": registration.node,
                "registerTime": milliseconds(registration.registered_at),
                "updateTime": milliseconds(registration.registered_at),
                "protocol": "SIP",
            }
            for registration in registrations
        ]
    )


@web_call("GetAllPhoneOnline")
def get_all_phone_online(context: CallContext) -> dict[str, Any]:
    numbers = Registration.objects.order_by("phone__e164").values_list("phone__e164", flat=True)
    return success(e164s=list(numbers))


def gateway_entry(gateway: Any, busy: dict[str, int], stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": gateway.name,
        "currentCall": busy.get(gateway.name, 0),
        "capacity": gateway.capacity,
        **ratios(stats.get(gateway.name)),
        "registerTime": milliseconds(gateway.created),
        "updateTime": milliseconds(gateway.last_updated),
    }


@web_call("GetGatewayMappingOnline")
def get_gateway_mapping_online(context: CallContext) -> dict[str, Any]:
    gateways = online_gateways(MappingGatewayFilterSet, MappingGateway, context.body)
    names = [gateway.name for gateway in gateways]
    busy = calls_by("origin", names, origin_type=CurrentCallOriginChoices.MAPPING_GATEWAY)
    stats = cdr_statistics("mapping_gateway", names)
    entries = []
    for gateway in gateways:
        entry = gateway_entry(gateway, busy, stats)
        del entry["responseRatio"], entry["connectedRatio"]
        entries.append({**entry, "remoteIps": ",".join(gateway.ips)})
    return success(infoGatewayMappingOnlines=entries)


@web_call("GetGatewayRoutingOnline")
def get_gateway_routing_online(context: CallContext) -> dict[str, Any]:
    gateways = online_gateways(RoutingGatewayFilterSet, RoutingGateway, context.body)
    names = [gateway.name for gateway in gateways]
    busy = calls_by("routing_gateway", names)
    stats = cdr_statistics("routing_gateway", names)
    return success(
        infoGatewayRoutingOnlines=[
            {
                **gateway_entry(gateway, busy, stats),
                "remoteIps": f"{gateway.host}:{gateway.port}",
                "prefix": ",".join(gateway.prefixes),
            }
            for gateway in gateways
        ]
    )
