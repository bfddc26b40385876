"""The API's filter backend: django-filter's, strict about what a query string may hold.

- An invalid filter value is a 400 naming the filter (never a 500, see `filter_errors`).
- A query parameter the operation does not know is a 400 naming it, instead of being ignored
  (a typo such as `?numbr=…` would otherwise return the whole unfiltered list).
- An empty date, number or choice, or a boolean that is not true or false, is a 400 where
  django-filter would silently drop the filter.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.settings import api_settings

BOOLEAN_VALUES = ("true", "false", "1", "0")


def filter_errors(filterset: FilterSet) -> ValidationError:
    """A 400 naming every filter that did not validate, with the form's own messages.

    django-filter's `translate_validation` applies `message % params` a second time to
    messages that are already final, so a message quoting the user's `%` failed with a
    TypeError (a 500). Form errors iterate as finished strings; use those.
    """
    detail = {
        field: [ErrorDetail(str(message), code=error.code) for error in errors for message in error]
        for field, errors in filterset.errors.as_data().items()
    }
    return ValidationError(detail)


def chosen_id(request: Request, name: str) -> int:
    """The id that the query's `name` chooses (the group an export is of), or a 400 asking
    for it. Read as its filter reads it: surrounding spaces aside, but never put raw into a
    header (a line break there failed the response)."""
    value = request.query_params.get(name, "").strip()
    if not (value.isascii() and value.isdigit()):
        raise ValidationError({name: [f"Choose the group to export: ?{name}=<id>."]})
    return int(value)


def known_parameters(view: Any, filterset: FilterSet | None) -> set[str]:
    """The query parameters a view understands: its filters, pagination, ordering, `format`."""
    names = {api_settings.URL_FORMAT_OVERRIDE}
    if filterset is not None:
        names |= set(filterset.filters)
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names |= {
            parameter["name"] for parameter in paginator.get_schema_operation_parameters(view)
        }
    for backend in getattr(view, "filter_backends", ()):
        names |= {getattr(backend, "ordering_param", ""), getattr(backend, "search_param", "")}
    return names - {""}


def unaccepted_values(filterset: FilterSet, query: Any) -> dict[str, list[str]]:
    """Filters given a value that django-filter would silently ignore: an empty value of a
    non-text filter (a date, a number, a choice), or a boolean that is not true or false."""
    errors: dict[str, list[str]] = {}
    for name, declared in filterset.filters.items():
        values = query.getlist(name)
        if "" in values and not issubclass(declared.field_class, forms.CharField):
            errors[name] = ["Give a value, or leave the parameter out."]
        elif isinstance(declared, django_filters.BooleanFilter) and not_booleans(values):
            errors[name] = ["Give true or false."]
    return errors


def not_booleans(values: list[str]) -> bool:
    """Whether any value is something other than true, false, 1 or 0."""
    return any(value.lower() not in BOOLEAN_VALUES for value in values)


class FilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose bad query strings are a 400 naming the parameter."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if request.method in ("GET", "HEAD"):
            self.check_query(request, view, filterset)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise filter_errors(filterset)
        return filterset.qs

    @staticmethod
    def check_query(request: Request, view: Any, filterset: FilterSet | None) -> None:
        """400 for unknown query parameters and values the filters would ignore."""
        known = known_parameters(view, filterset)
        errors = {
            name: [f"Unknown query parameter; this operation takes: {', '.join(sorted(known))}."]
            for name in request.query_params
            if name not in known
        }
        if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
            errors[api_settings.URL_FORMAT_OVERRIDE] = ["Give a format, or leave it out."]
        if filterset is not None:
            errors |= unaccepted_values(filterset, request.query_params)
        if errors:
            raise ValidationError(errors)
