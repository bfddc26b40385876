"""Figures for the home page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from vosadmin.core.navigation import page_url


def dashboard_figures() -> list[dict[str, Any]]:
    """Counts of what is configured and what is live, each linking to its page (if it has one)."""
    figures = _figures()
    for figure in figures:
        figure["url"] = page_url(figure.pop("url_name"))
    return figures


def _figures() -> list[dict[str, Any]]:
    from billing.models import Cdr
    from blacklist.models import DynamicBlacklistEntry
    from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway

    since = timezone.now() - timedelta(hours=24)
    return [
        {"label": "Phones", "value": Phone.objects.count(), "url_name": "softswitch:phone_list"},
        {
            "label": "Online phones",
            "value": Registration.objects.count(),
            "url_name": "softswitch:registration_list",
        },
        {
            "label": "Mapping gateways",
            "value": MappingGateway.objects.count(),
            "url_name": "softswitch:mappinggateway_list",
        },
        {
            "label": "Routing gateways",
            "value": RoutingGateway.objects.count(),
            "url_name": "softswitch:routinggateway_list",
        },
        {
            "label": "Current calls",
            "value": CurrentCall.objects.count(),
            "url_name": "softswitch:currentcall_list",
        },
        {
            "label": "CDRs, last 24 h",
            "value": Cdr.objects.filter(start_time__gte=since).count(),
            "url_name": "billing:cdr_list",
        },
        {
            "label": "Active dynamic blacklist entries",
            "value": DynamicBlacklistEntry.objects.filter(active=True).count(),
            "url_name": "blacklist:dynamicblacklistentry_list",
        },
    ]


SECURITY_METRICS = (
    ("register_failed", "Failed registrations"),
    ("unauthorized", "Unauthorised requests"),
    ("register_replaced", "Registration replacements"),
)


def security_figures(minutes: int = 60) -> dict[str, Any]:
    """The SIP engine's security counters (ADR 0003) over the last `minutes`, and open TCP
    connections per engine node, for the home page. Empty when Redis cannot be reached."""
    import time

    import redis

    from softswitch.redis_keys import security_key
    from vosadmin.core.live import redis_client

    now_minute = int(time.time() // 60)
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            for minute in range(now_minute - minutes + 1, now_minute + 1):
                pipe.hgetall(security_key(minute))
            per_minute = pipe.execute()
    except redis.RedisError:
        return {"available": False}
    totals = {
        metric: sum(int(m.get(metric, 0)) for m in per_minute) for metric, _ in SECURITY_METRICS
    }
    latest = next((m for m in reversed(per_minute) if m), {})
    tcp = {
        field.split(":", 1)[1]: int(value)
        for field, value in latest.items()
        if field.startswith("tcp_connections:")
    }
    return {
        "available": True,
        "minutes": minutes,
        "tcp_connections": tcp,
        "counts": [{"label": label, "value": totals[metric]} for metric, label in SECURITY_METRICS],
    }
