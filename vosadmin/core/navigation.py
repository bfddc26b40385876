"""The console's navigation, laid out like the VOS3000 client (SPEC §6).

An entry appears when its page exists (its URL name resolves) and the user's role may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import NoReverseMatch, reverse

from vosadmin.core.roles import Role, has_role


@dataclass(frozen=True)
class MenuItem:
    """One page in the navigation."""

    label: str
    url_name: str
    role: Role = Role.VIEWER


@dataclass(frozen=True)
class MenuGroup:
    """A top-level section of the navigation."""

    label: str
    items: tuple[MenuItem, ...]


MENU = (
    MenuGroup(
        "Account management",
        (
            MenuItem("Accounts", "billing:account_list"),
            MenuItem("Payments", "billing:payment_list"),
            MenuItem("Rate groups", "billing:rategroup_list"),
            MenuItem("Rates", "billing:rate_list"),
        ),
    ),
    MenuGroup(
        "Operation management",
        (
            MenuItem("Mapping gateways", "softswitch:mappinggateway_list"),
            MenuItem("Routing gateways", "softswitch:routinggateway_list"),
            MenuItem("Phones", "softswitch:phone_list"),
            MenuItem("Online phones", "softswitch:registration_list"),
            MenuItem("Current calls", "softswitch:currentcall_list"),
            MenuItem("System parameter", "core:parameter_list"),
        ),
    ),
    MenuGroup(
        "Number management",
        (
            MenuItem("Black/white list groups", "blacklist:blacklistgroup_list"),
            MenuItem("System white list", "blacklist:systemwhitelistentry_list"),
            MenuItem("Dynamic black list", "blacklist:dynamicblacklistentry_list"),
        ),
    ),
    MenuGroup("Data query", (MenuItem("CDR", "billing:cdr_list"),)),
    MenuGroup(
        "Alarm monitoring",
        (
            MenuItem("Current alarms", "alarms:alarm_list"),
            MenuItem("Alarm history", "alarms:alarm_history"),
            MenuItem("Alarm rules", "alarms:alarmrule_list"),
            MenuItem("Alarm webhooks", "alarms:webhook_list"),
        ),
    ),
    MenuGroup("Data report", (MenuItem("Gateway report", "billing:gateway_report"),)),
    MenuGroup(
        "System management",
        (
            MenuItem("Users", "core:user_list", Role.ADMINISTRATOR),
            MenuItem("Operation log", "core:auditlog_list"),
            MenuItem("Web access control", "external:webaccessrule_list", Role.ADMINISTRATOR),
            MenuItem("Web API test", "external:test_server", Role.ADMINISTRATOR),
            MenuItem("API documentation", "api-docs"),
        ),
    ),
)


def menu_for(user: Any, current_path: str) -> list[dict[str, Any]]:
    """The navigation this user sees, with the current page marked: the item whose URL is the
    longest start of the path (Alarm history's /alarms/history/, not Current alarms' /alarms/)."""
    groups = []
    for group in MENU:
        items = []
        for item in group.items:
            url = page_url(item.url_name)
            if url and has_role(user, item.role):
                items.append({"label": item.label, "url": url, "active": False})
        if items:
            groups.append({"label": group.label, "items": items})
    shown = [item for group in groups for item in group["items"]]
    matches = [item for item in shown if current_path.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return groups


def page_url(name: str) -> str | None:
    """The URL of a named page, or None while that page does not exist."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
