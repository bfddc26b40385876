"""Error pages: JSON under /api/, console pages elsewhere."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

BODY_TOO_LARGE = "The request body is too large."


def respond(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """An error response: `{"detail": message}` for the API, the error page for the console."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 (a 413 when the body was larger than Django reads): never Django's HTML page."""
    if isinstance(exception, RequestDataTooBig):
        return respond(request, 413, BODY_TOO_LARGE)
    return respond(request, 400, "The request is malformed.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: the user's role does not allow this page."""
    return respond(request, 403, "Your role does not allow this page or action.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404."""
    return respond(request, 404, "There is no such page or object.")


def server_error(request: HttpRequest) -> HttpResponse:
    """500: logged by Django; the user gets a plain apology."""
    return respond(request, 500, "Something went wrong on the server; it has been logged.")
