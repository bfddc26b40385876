"""Error pages: JSON under /api/, console pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def _respond(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: the user's role does not allow this page."""
    return _respond(request, 403, "Your role does not allow this page or action.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404."""
    return _respond(request, 404, "There is no such page or object.")


def server_error(request: HttpRequest) -> HttpResponse:
    """500: logged by Django; the user gets a plain apology."""
    return _respond(request, 500, "Something went wrong on the server; it has been logged.")
