"""API errors: bad input is a 400 naming the field, never a 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation and database constraint errors as 400/409."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError | DataError):
        return Response({"detail": f"Rejected by the database: {exc}".strip()}, status=400)
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response({"detail": str(exc.args[0])}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)
