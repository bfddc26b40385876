"""The `text/csv` format of the CDR list (`?format=csv` or `Accept: text/csv`)."""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class CdrCsvRenderer(BaseRenderer):
    """Lets content negotiation pick CSV; CdrViewSet.list streams it (billing.export)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, context: Any = None) -> bytes:
        raise NotImplementedError("CDR CSV is streamed by CdrViewSet.list, never rendered.")
