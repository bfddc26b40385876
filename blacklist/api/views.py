"""Blacklist API views: static lists (CRUD, CSV import/export) and the dynamic black list."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import Count
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from blacklist.api import serializers
from blacklist.csv_lists import (
    CsvImportError,
    export_response,
    import_blacklist_numbers,
    import_whitelist,
)
from blacklist.entries import release_entry
from blacklist.filtersets import (
    BlacklistGroupFilterSet,
    BlacklistNumberFilterSet,
    DynamicBlacklistEntryFilterSet,
    SystemWhitelistEntryFilterSet,
)
from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from vosadmin.core.api.filters import chosen_id
from vosadmin.core.api.views import AuditedModelViewSet
from vosadmin.core.roles import Role


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class FirstRendererNegotiation(BaseContentNegotiation):
    """A CSV download answers whatever the client accepts; its errors are JSON."""

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0]

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class CsvListMixin:
    """`GET …/export/` streams the filtered list as CSV; `POST …/import/` adds a CSV file.

    An import is all or nothing: 201 `{"imported": n}`, or 400 with the number of bad rows, the
    first 100 of them, and nothing stored (csv_lists).
    """

    import_serializer_class: type

    def get_serializer_class(self) -> type:
        if self.action == "import_csv":
            return self.import_serializer_class
        return super().get_serializer_class()

    @extend_schema(
        filters=True,
        responses={(200, "text/csv"): OpenApiTypes.STR},
        description="The filtered list as CSV (number,match,memo): the import format.",
    )
    @action(detail=False, methods=["get"], content_negotiation_class=FirstRendererNegotiation)
    def export(self, request: Request) -> StreamingHttpResponse:
        queryset = self.filter_queryset(self.get_queryset()).order_by("number")
        return export_response(queryset, self.export_filename(request))

    @extend_schema(
        responses={
            201: serializers.ImportResultSerializer,
            400: OpenApiResponse(serializers.ImportRejectedSerializer, "Nothing was imported."),
        },
        description="Import a CSV file (multipart field `file`): every row, or none.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_csv(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            count = self.import_file(serializer.validated_data, request.user)
        except CsvImportError as rejected:
            body = {
                "detail": str(rejected),
                "error_count": rejected.count,
                "errors": [asdict(error) for error in rejected.errors],
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response({"imported": count}, status=status.HTTP_201_CREATED)

    def import_file(self, data: dict[str, Any], user: Any) -> int:
        """Import the validated upload; returns how many numbers were added."""
        raise NotImplementedError

    def export_filename(self, request: Request) -> str:
        """The download's file name (may refuse an export with a 400)."""
        raise NotImplementedError


class BlacklistGroupViewSet(AuditedModelViewSet):
    """Black/white list groups (attach them to phones and mapping gateways by id)."""

    queryset = BlacklistGroup.objects.annotate(number_count=Count("numbers")).order_by("name")
    serializer_class = serializers.BlacklistGroupSerializer
    filterset_class = BlacklistGroupFilterSet
    ordering_fields = ["name", "created", "number_count"]


class BlacklistNumberViewSet(CsvListMixin, AuditedModelViewSet):
    """Numbers (or prefixes) of the black list groups, with per-group CSV import and export."""

    queryset = BlacklistNumber.objects.all()
    serializer_class = serializers.BlacklistNumberSerializer
    import_serializer_class = serializers.BlacklistNumberImportSerializer
    filterset_class = BlacklistNumberFilterSet
    ordering_fields = ["number", "group", "created"]

    def import_file(self, data: dict[str, Any], user: Any) -> int:
        return import_blacklist_numbers(data["group"], data["file"].read(), user)

    def export_filename(self, request: Request) -> str:
        return f"blacklist-group-{chosen_id(request, 'group')}.csv"


class SystemWhitelistEntryViewSet(CsvListMixin, AuditedModelViewSet):
    """The system white list, with CSV import and export."""

    queryset = SystemWhitelistEntry.objects.all()
    serializer_class = serializers.SystemWhitelistEntrySerializer
    import_serializer_class = serializers.WhitelistImportSerializer
    filterset_class = SystemWhitelistEntryFilterSet
    ordering_fields = ["number", "created"]

    def import_file(self, data: dict[str, Any], user: Any) -> int:
        return import_whitelist(data["file"].read(), user)

    def export_filename(self, request: Request) -> str:
        return "system-white-list.csv"


class DynamicBlacklistEntryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Dynamic-blacklist entries, active and past. DELETE releases an active entry early
    (administrators only): it stays as history and the engine stops blocking within seconds."""

    queryset = DynamicBlacklistEntry.objects.all()
    serializer_class = serializers.DynamicBlacklistEntrySerializer
    filterset_class = DynamicBlacklistEntryFilterSet
    ordering_fields = ["effective_at", "expires_at", "number", "observed"]
    write_role = Role.ADMINISTRATOR

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Not active.")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = release_entry(self.get_object().pk, request.user, timezone.now())
        if entry is None:
            raise Conflict("This entry is not active: it expired or was released already.")
        return Response(status=status.HTTP_204_NO_CONTENT)
