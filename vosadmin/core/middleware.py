"""Request limits, and a logged-in user for every console page (the API authenticates itself)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from vosadmin.core.errors import BODY_TOO_LARGE, respond

# /metrics lets in scrapers by address or administrators' tokens itself (vosadmin/core/metrics.py).
# The VOS3000 Web API (/external/server/) is guarded by its Web access rules (vosadmin/external).
PUBLIC_PREFIXES = ("/api/", "/login/", "/static/", "/favicon.ico", "/metrics", "/external/server/")
# The API's documentation is for logged-in users: anonymous visitors go to the login page.
LOGIN_PAGES = ("/api/docs/",)


class LoginRequiredMiddleware:
    """Redirect anonymous users to the login page, except for the API (401 there) and assets."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and self.needs_login(request.path):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)

    @staticmethod
    def needs_login(path: str) -> bool:
        """Whether an anonymous request for `path` is sent to the login page."""
        return path.startswith(LOGIN_PAGES) or not path.startswith(PUBLIC_PREFIXES)


class RequestLimitsMiddleware:
    """A URL longer than MAX_URL_LENGTH is a 414, a body larger than MAX_REQUEST_BODY_BYTES
    (by its Content-Length) a 413: refused before anything reads or parses them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.get_full_path()) > settings.MAX_URL_LENGTH:
            message = f"The URL is longer than {settings.MAX_URL_LENGTH} characters."
            return respond(request, 414, message)
        if content_length(request) > settings.MAX_REQUEST_BODY_BYTES:
            return respond(request, 413, BODY_TOO_LARGE)
        return self.get_response(request)


def content_length(request: HttpRequest) -> int:
    """The declared body length (0 when absent or malformed: Django then reads nothing)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
