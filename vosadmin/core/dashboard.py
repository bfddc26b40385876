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
