"""FilterSets of the softswitch models — each serves both the console page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway


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
    ip = django_filters.CharFilter(method="filter_ip", label="IP address")

    class Meta:
        model = MappingGateway
        fields = ["auth_mode", "locked", "dynamic_blacklist"]

    def filter_ip(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ips__icontains=value.strip())


class RoutingGatewayFilterSet(SearchFilterSet):
    """Filter routing gateways by name/host/memo, transport, state and a prefix they serve."""

    search_fields = ("name", "host", "memo")
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

    class Meta:
        model = Registration
        fields = ["e164", "transport", "node"]


class CurrentCallFilterSet(SearchFilterSet):
    """Filter current calls by number, origin, gateway and state."""

    search_fields = ("caller", "callee", "origin", "routing_gateway")
    caller = django_filters.CharFilter(lookup_expr="startswith")
    callee = django_filters.CharFilter(lookup_expr="startswith")

    class Meta:
        model = CurrentCall
        fields = ["caller", "callee", "origin_type", "origin", "routing_gateway", "state", "node"]
