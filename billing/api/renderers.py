"""The `text/csv` formats of the billing API (`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response


class CdrCsvRenderer(BaseRenderer):
    """Lets content negotiation pick CSV; CdrViewSet.list streams it (billing.export)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        raise NotImplementedError("CDR CSV is streamed by CdrViewSet.list, never rendered.")


class ErrorsAsJsonMixin:
    """A view with a CSV format whose errors are JSON even when CSV was asked for."""

    csv_renderer_class: type[BaseRenderer] = CdrCsvRenderer

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(getattr(self.request, "accepted_renderer", None), self.csv_renderer_class):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)
