"""Login lock-out (django-axes) by SERVER_LOGIN_MAX_RETRY and SERVER_LOGIN_FAILED_DISABLE_TIME."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from vosadmin.core.parameters import get_parameter


def failure_limit(request: HttpRequest, credentials: Any) -> int:
    """Failed logins of one user name before it is locked out."""
    return get_parameter("SERVER_LOGIN_MAX_RETRY")


def cool_off_time(request: HttpRequest) -> timedelta:
    """How long a locked-out user name stays locked."""
    return timedelta(seconds=get_parameter("SERVER_LOGIN_FAILED_DISABLE_TIME"))


def locked_out_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 with a clear message: JSON for the API, the login page for the console."""
    seconds = get_parameter("SERVER_LOGIN_FAILED_DISABLE_TIME")
    message = (
        f"Too many failed logins: this account is locked for {seconds} seconds "
        "(SERVER_LOGIN_FAILED_DISABLE_TIME)."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "registration/login.html", {"lockout_message": message}, status=429)
