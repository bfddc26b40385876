"""The API's filter backend: django-filter's, with form errors turned into 400s safely."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request


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


class FilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose invalid filters are a 400 naming them (never a 500)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise filter_errors(filterset)
        return filterset.qs
