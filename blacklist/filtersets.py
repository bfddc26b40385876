"""FilterSets of the blacklist models — each serves both the console page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from softswitch.filtersets import SearchFilterSet


class BlacklistGroupFilterSet(SearchFilterSet):
    """Filter black list groups by name/memo, scope, and a number they hold."""

    search_fields = ("name", "memo")
    number = django_filters.CharFilter(method="filter_number", label="Holds number")

    class Meta:
        model = BlacklistGroup
        fields = ["applies_to_all"]

    def filter_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(numbers__number__startswith=value.strip()).distinct()


class BlacklistNumberFilterSet(SearchFilterSet):
    """Filter static black list numbers by group, number (prefix) and match type."""

    search_fields = ("number", "memo")
    number = django_filters.CharFilter(lookup_expr="startswith", label="Number starts with")

    class Meta:
        model = BlacklistNumber
        fields = ["group", "number", "match"]


class SystemWhitelistEntryFilterSet(SearchFilterSet):
    """Filter the system white list by number (prefix) and match type."""

    search_fields = ("number", "memo")
    number = django_filters.CharFilter(lookup_expr="startswith", label="Number starts with")

    class Meta:
        model = SystemWhitelistEntry
        fields = ["number", "match"]


class DynamicBlacklistEntryFilterSet(django_filters.FilterSet):
    """Filter dynamic-blacklist entries by type, number (prefix) and whether they are active."""

    number = django_filters.CharFilter(lookup_expr="startswith", label="Number starts with")
    active = django_filters.BooleanFilter(help_text="true: active entries; false: history.")

    class Meta:
        model = DynamicBlacklistEntry
        fields = ["type", "number"]


class DynamicBlacklistPageFilterSet(DynamicBlacklistEntryFilterSet):
    """The same filters on the pages, where active entries and history are two views."""

    active = None  # removes the inherited filter
