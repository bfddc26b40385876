"""`/api/v1/reports/gateways/`: the gateway report (SPEC §10) as JSON, or CSV with
`?format=csv`; the parameters are the report page's (billing.filtersets.GatewayReportFilterSet).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.renderers import ErrorsAsJsonMixin
from billing.choices import GatewaySideChoices
from billing.filtersets import GRANULARITIES, GatewayReportFilterSet
from billing.models import MONEY_PLACES, REPORT_MONEY_DIGITS, GatewayHour
from billing.reports import REPORT_COLUMNS, ReportRow
from vosadmin.core.api.filters import FilterBackend, filter_errors


def money() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=REPORT_MONEY_DIGITS + 4, decimal_places=MONEY_PLACES
    )  # a report period sums hours


class GatewayReportRowSerializer(serializers.Serializer):
    """One gateway over one period. `asr` in percent, `acd` in seconds of the answered calls,
    `pdd_ms` the average of the calls that rang or answered (null if none), `minutes`
    answered, money as strings with 4 decimal places."""

    gateway = serializers.CharField()
    period_start = serializers.DateTimeField()
    calls = serializers.IntegerField()
    answered = serializers.IntegerField()
    asr = serializers.DecimalField(max_digits=5, decimal_places=2)
    acd = serializers.DecimalField(max_digits=12, decimal_places=1)
    pdd_ms = serializers.IntegerField(allow_null=True)
    minutes = serializers.DecimalField(max_digits=16, decimal_places=2)
    fee = money()
    cost = money()
    margin = money()

    def to_representation(self, row: ReportRow) -> dict[str, Any]:
        """The fields above in one go: their own conversions, field by field, were most of
        the time of a 30-day report of a hundred gateways (docs/benchmarks.md)."""
        # The zone once per report (the context is the whole report's), not once per row.
        zone = self.context.setdefault("zone", timezone.get_current_timezone())
        return {
            "gateway": row.gateway,
            "period_start": row.period_start.astimezone(zone).isoformat().replace("+00:00", "Z"),
            "calls": row.calls,
            "answered": row.answered,
            "asr": f"{row.asr:.2f}",
            "acd": f"{row.acd:.1f}",
            "pdd_ms": row.pdd_ms,
            "minutes": f"{row.minutes:.2f}",
            "fee": f"{row.fee:.4f}",
            "cost": f"{row.cost:.4f}",
            "margin": f"{row.margin:.4f}",
        }


class GatewayReportSerializer(serializers.Serializer):
    """The report: its parameters (defaults filled in) and its rows by period then gateway."""

    side = serializers.ChoiceField(choices=GatewaySideChoices.choices)
    granularity = serializers.ChoiceField(choices=GRANULARITIES)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    results = GatewayReportRowSerializer(many=True)


class ReportCsvRenderer(BaseRenderer):
    """The report's rows as CSV, one header line of REPORT_COLUMNS (no PDD is empty)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(data["results"])  # the csv module writes None as an empty field
        return buffer.getvalue().encode()


class GatewayReportView(ErrorsAsJsonMixin, GenericAPIView):
    """Gateway report: per mapping or routing gateway and hour or day, from the report tables
    (aggregated by beat, docs/adr/0007-gateway-reports.md). Viewers read."""

    queryset = GatewayHour.objects.all()
    serializer_class = GatewayReportSerializer
    filterset_class = GatewayReportFilterSet
    filter_backends = [FilterBackend]
    pagination_class = None
    csv_renderer_class = ReportCsvRenderer

    def get_renderers(self) -> list[BaseRenderer]:
        renderers = super().get_renderers()
        # OPTIONS describes the view (JSON); any other method gets its answer or a 405 in CSV
        return renderers if self.request.method == "OPTIONS" else [*renderers, ReportCsvRenderer()]

    @extend_schema(
        description="Rows by period then gateway. `format=csv` gives the same rows as CSV.",
        responses=GatewayReportSerializer,
    )
    def get(self, request: Request) -> Response:
        filterset = GatewayReportFilterSet(
            request.query_params, queryset=self.get_queryset(), request=request
        )
        FilterBackend.check_query(request, self, filterset)
        if not filterset.is_valid():
            raise filter_errors(filterset)
        start, end = filterset.window
        side, granularity = filterset.form.cleaned_data["side"], filterset.granularity_value
        report = {
            "side": side,
            "granularity": granularity,
            "start": start,
            "end": end,
            "results": filterset.report(),
        }
        body = self.get_serializer(report).data
        response = Response(body)
        if request.accepted_renderer.format == ReportCsvRenderer.format:
            name = f"gateway-report-{side}-{granularity}-{start:%Y%m%d%H}-{end:%Y%m%d%H}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
