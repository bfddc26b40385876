"""FilterSets of the core pages."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField

from vosadmin.core.forms import InUtc
from vosadmin.core.models import AuditLog
from vosadmin.core.roles import Role


class UtcIsoDateTimeField(InUtc, IsoDateTimeField):
    """An ISO 8601 date-time, in UTC (`InUtc`)."""


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter whose value reaches the database in UTC."""

    field_class = UtcIsoDateTimeField


class UserFilterSet(django_filters.FilterSet):
    """Filter users by name and role."""

    q = django_filters.CharFilter(method="search", label="Search")
    role = django_filters.ChoiceFilter(
        field_name="groups__name", choices=[(role.label, role.label) for role in Role]
    )

    class Meta:
        model = get_user_model()
        fields = ["is_active"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(username__icontains=value)
            | Q(email__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        )


class AuditLogFilterSet(django_filters.FilterSet):
    """Filter the operation log by user, object, action and time."""

    username = django_filters.CharFilter(lookup_expr="iexact", label="User")
    object_type = django_filters.CharFilter(lookup_expr="icontains")
    object_repr = django_filters.CharFilter(lookup_expr="icontains", label="Object")
    after = UtcIsoDateTimeFilter(field_name="time", lookup_expr="gte")
    before = UtcIsoDateTimeFilter(field_name="time", lookup_expr="lt")

    class Meta:
        model = AuditLog
        fields = ["username", "action", "object_type", "object_repr"]
