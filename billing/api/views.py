"""`/api/v1/cdrs/`: CDRs, read only, with the CDR page's filters; `?format=csv` streams them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from billing.api.pagination import CdrCursorPagination, ordering_of
from billing.api.renderers import CdrCsvRenderer, ErrorsAsJsonMixin
from billing.api.serializers import CdrSerializer
from billing.export import csv_chunks, csv_response, export_filename, export_window_error
from billing.filtersets import CdrFilterSet
from billing.models import Cdr
from vosadmin.core.api.filters import FilterBackend, filter_errors


class CdrViewSet(
    ErrorsAsJsonMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """CDRs, newest first. Viewers read.

    The filters are the CDR page's (billing.filtersets). The list is keyset-paginated;
    `?format=csv` (or `Accept: text/csv`) streams every CDR of the filtered set instead.
    """

    queryset = Cdr.objects.all()
    serializer_class = CdrSerializer
    filterset_class = CdrFilterSet
    filter_backends = [FilterBackend]
    pagination_class = CdrCursorPagination
    lookup_field = "flow_no"
    lookup_value_regex = "[0-9]+"

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = super().get_renderers()
        # action None: a method the view does not map (TRACE), which must be a 405, not a 404
        # for an unknown `format=csv`
        return [*renderers, CdrCsvRenderer()] if self.action in ("list", None) else renderers

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """The filters select the list; one CDR is found by its flow number alone."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(
        description="CDRs matching the filters. With `format=csv` every matching CDR is "
        "streamed as CSV (same columns); a start range (start_after and start_before) is "
        "required for exports larger than one day."
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.accepted_renderer.format == CdrCsvRenderer.format:
            return self.export(request)
        return super().list(request, *args, **kwargs)

    def export(self, request: Request) -> HttpResponseBase:
        """Stream the whole filtered set as CSV."""
        filterset = CdrFilterSet(
            request.query_params, queryset=self.get_queryset(), request=request
        )
        if not filterset.is_valid():
            raise filter_errors(filterset)
        if error := export_window_error(filterset):
            raise ValidationError({"start_before": [error]})
        chunks = csv_chunks(filterset.qs, ordering_of(request), timezone.get_current_timezone())
        return csv_response(request._request, chunks, export_filename(filterset))
