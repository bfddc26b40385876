"""Keyset pagination of the CDR API: `cursor`, `limit` and `ordering` (billing.keyset)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from billing.keyset import (
    ORDERABLE_FIELDS,
    CdrOrdering,
    InvalidPagination,
    KeysetPage,
    keyset_page,
    parse_cursor,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def ordering_of(request: Request) -> CdrOrdering:
    """The request's `ordering`; 400 naming it if it is not a sortable column."""
    try:
        return CdrOrdering.parse(request.query_params.get("ordering"))
    except InvalidPagination as error:
        raise ValidationError({error.parameter: [str(error)]}) from None


def limit_of(request: Request) -> int:
    """The request's `limit` (rows per page); 400 naming it if it is not 1 to MAX_LIMIT."""
    text = request.query_params.get("limit") or str(DEFAULT_LIMIT)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_LIMIT}."]})
    return int(text)


class CdrCursorPagination(BasePagination):
    """`next` / `previous` links carry an opaque cursor; no OFFSET and no COUNT."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list:
        self.request = request
        ordering = ordering_of(request)
        limit = limit_of(request)
        try:
            cursor = parse_cursor(request.query_params.get("cursor"), ordering)
        except InvalidPagination as error:
            raise ValidationError({error.parameter: [str(error)]}) from None
        self.page: KeysetPage = keyset_page(queryset, ordering, cursor, limit)
        return self.page.rows

    def get_paginated_response(self, data: list) -> Response:
        return Response(
            {
                "next": self.link(self.page.next_cursor),
                "previous": self.link(self.page.previous_cursor),
                "results": data,
            }
        )

    def link(self, cursor: str | None) -> str | None:
        """This request's URL moved to `cursor`."""
        if cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            query_parameter("cursor", "string", "The page: a next or previous link's cursor."),
            query_parameter("limit", "integer", f"Rows per page, 1–{MAX_LIMIT} (50)."),
            query_parameter(
                "ordering",
                "string",
                f"Sort column, - for descending (-start_time): {', '.join(ORDERABLE_FIELDS)}.",
            ),
        ]


def query_parameter(name: str, kind: str, description: str) -> dict:
    """An OpenAPI query parameter."""
    return {
        "name": name,
        "required": False,
        "in": "query",
        "description": description,
        "schema": {"type": kind},
    }
