"""Forms of the softswitch pages."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from softswitch.models import MappingGateway, Phone, RoutingGateway
from vosadmin.core.forms import ListTextField

BLACKLIST_WIDGETS = {
    "caller_blacklist_groups": forms.SelectMultiple(attrs={"size": 4}),
    "callee_blacklist_groups": forms.SelectMultiple(attrs={"size": 4}),
}


class BillingFieldsMixin:
    """The account charged and the routing policy; a form without the policy keeps priority."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["routing_policy"].required = False  # omitted: the model's default


class MappingGatewayForm(BillingFieldsMixin, forms.ModelForm):
    """Create or edit a mapping gateway."""

    ips = ListTextField(
        label="IP addresses",
        help_text="One per line. In IP-and-port mode an entry may carry a port: 192.0.2.10:5070.",
    )

    class Meta:
        model = MappingGateway
        fields = [
            "name",
            "ips",
            "auth_mode",
            "capacity",
            "locked",
            "dynamic_blacklist",
            "caller_blacklist_groups",
            "callee_blacklist_groups",
            "account",
            "routing_policy",
            "max_cost_per_minute",
            "min_margin_percent",
            "rate_check",
            "memo",
        ]
        widgets = {**BLACKLIST_WIDGETS, "memo": forms.Textarea(attrs={"rows": 2})}


class RoutingGatewayForm(forms.ModelForm):
    """Create or edit a routing gateway."""

    prefixes = ListTextField(help_text='Callee prefixes, one per line; "*" matches every number.')

    class Meta:
        model = RoutingGateway
        fields = [
            "name",
            "host",
            "port",
            "transport",
            "prefixes",
            "priority",
            "capacity",
            "strip_digits",
            "add_prefix",
            "locked",
            "options_check",
            "clearing_account",
            "memo",
        ]
        widgets = {"memo": forms.Textarea(attrs={"rows": 2})}


class PhoneForm(BillingFieldsMixin, forms.ModelForm):
    """Create or edit a phone; a new phone gets a generated password the operator can keep."""

    class Meta:
        model = Phone
        fields = [
            "e164",
            "password",
            "capacity",
            "locked",
            "dynamic_blacklist",
            "caller_blacklist_groups",
            "callee_blacklist_groups",
            "account",
            "routing_policy",
            "memo",
        ]
        widgets = {**BLACKLIST_WIDGETS, "memo": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance._state.adding and not self.is_bound and not self.initial.get("password"):
            self.initial["password"] = secrets.token_urlsafe(12)
