"""FilterSets of the softswitch models — each serves both the console page and the API.

A filter that takes several values takes its parameter repeated (`name=GW-A&name=GW-B`), as
the CDR filters' codes do (`billing_mode=-2&billing_mode=1`); one value behaves as before.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway


class RepeatedTextInput(forms.MultipleHiddenInput):
    """One text box per value of a repeated parameter; one empty box when there is none."""

    input_type = "text"

    def format_value(self, value: Any) -> list[str]:
        return [item for item in value or () if item] or [""]

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        for box in context["widget"]["subwidgets"]:  # Django makes them hidden inputs
            box["type"] = self.input_type
        return context

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_0" if id_ else id_


class TextsField(forms.MultipleChoiceField):
    """Any texts (there are no choices), each checked as a CharField of `max_length` checks it;
    blank values are dropped."""

    widget = RepeatedTextInput

    def __init__(self, *, max_length: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item_field = forms.CharField(max_length=max_length)

    def to_python(self, value: Any) -> list[str]:
        return [item.strip() for item in super().to_python(value) if item.strip()]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for item in value:
            self.item_field.clean(item)


class TextsFilter(django_filters.MultipleChoiceFilter):
    """Any of several exact values (`name=GW-A&name=GW-B`) with one `IN`."""

    field_class = TextsField

    def filter(self, qs: QuerySet, value: list[str]) -> QuerySet:
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet with a free-text `q` over the fields listed in `search_fields`."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="search", label="Search")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(query)


class MappingGatewayFilterSet(SearchFilterSet):
    """Filter mapping gateways by name/memo, address, mode and state."""

    search_fields = ("name", "memo")
    name = TextsFilter(label="Name", help_text="Exact; repeat for several.")
    ip = django_filters.CharFilter(method="filter_ip", label="IP address")

    class Meta:
        model = MappingGateway
        fields = ["auth_mode", "locked", "dynamic_blacklist"]

    def filter_ip(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ips__icontains=value.strip())


class RoutingGatewayFilterSet(SearchFilterSet):
    """Filter routing gateways by name/host/memo, transport, state and a prefix they serve."""

    search_fields = ("name", "host", "memo")
    name = TextsFilter(label="Name", help_text="Exact; repeat for several.")
    prefix = django_filters.CharFilter(method="filter_prefix", label="Prefix")

    class Meta:
        model = RoutingGateway
        fields = ["transport", "locked", "options_check"]

    def filter_prefix(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(prefixes__contains=[value.strip()])


class PhoneFilterSet(SearchFilterSet):
    """Filter phones by number (prefix), memo and state."""

    search_fields = ("e164", "memo")
    e164 = django_filters.CharFilter(lookup_expr="startswith", label="E.164 starts with")
    registered = django_filters.BooleanFilter(
        field_name="registration", lookup_expr="isnull", exclude=True, label="Registered"
    )

    class Meta:
        model = Phone
        fields = ["e164", "locked", "dynamic_blacklist"]


class RegistrationFilterSet(SearchFilterSet):
    """Filter online phones by number, source and transport."""

    search_fields = ("phone__e164", "contact", "source", "user_agent")
    e164 = django_filters.CharFilter(field_name="phone__e164", lookup_expr="startswith")
    e164_exact = TextsFilter(
        field_name="phone__e164", label="E.164 (exact)", help_text="Exact; repeat for several."
    )

    class Meta:
        model = Registration
        fields = ["e164", "transport", "node"]


class CurrentCallFilterSet(SearchFilterSet):
    """Filter current calls by number, origin, gateway and state."""

    search_fields = ("caller", "callee", "origin", "routing_gateway")
    caller = django_filters.CharFilter(lookup_expr="startswith")
    callee = django_filters.CharFilter(lookup_expr="startswith")
    caller_exact = TextsFilter(
        field_name="caller", label="Caller (exact)", help_text="Exact; repeat for several."
    )
    callee_exact = TextsFilter(
        field_name="callee", label="Callee (exact)", help_text="Exact; repeat for several."
    )

    class Meta:
        model = CurrentCall
        fields = ["caller", "callee", "origin_type", "origin", "routing_gateway", "state", "node"]
