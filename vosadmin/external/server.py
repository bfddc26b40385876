"""`POST /external/server/<Name>`: one VOS3000 Web API request, from access check to answer.

Order: the Web access rules (403 and nothing else when none admits the source; 503 when they
cannot be read), the optional token, the body, the call. Whatever happens after the access
check the answer is the VOS3000 envelope with HTTP 200: an unexpected error is logged and
answered with retCode -9, never 500. A streamed answer (GetCdr) is started only once its first
chunk is made, so that its query failing is an envelope too, not a cut stream.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from vosadmin.core.audit import ExternalActor
from vosadmin.core.roles import Role, has_role
from vosadmin.core.streaming import started, streaming_body
from vosadmin.external.access import admitting_rule, source_address
from vosadmin.external.calls import CALLS, CallContext
from vosadmin.external.protocol import (
    BAD_BODY,
    INTERNAL_ERROR,
    UNAUTHENTICATED,
    UNKNOWN_CALL,
    CallError,
    failure,
    json_bytes,
    parse_body,
)

logger = logging.getLogger(__name__)
JSON_TYPE = "application/json; charset=utf-8"


def envelope(data: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json_bytes(data), content_type=JSON_TYPE)


def answer_call(request: HttpRequest, name: str) -> HttpResponseBase:
    """The response to one Web API request (see the module docstring)."""
    address = source_address(request)
    try:
        rule = admitting_rule(request.path, address)
    except DatabaseError:
        logger.exception("Web API: the access rules cannot be read")
        return HttpResponse(status=503)
    if rule is None:
        return HttpResponse(status=403)
    try:
        call = CALLS.get(name)
        if call is None:
            raise CallError(UNKNOWN_CALL, f"Unknown call: {name[:64]}")
        user = token_user(request, call.writes)
        actor = ExternalActor(actor_label(rule.memo or rule.path, address, user))
        answer = call.handler(CallContext(parse_body(request_body(request)), actor))
        if not isinstance(answer, dict):
            answer = started(answer)  # its query failing is an envelope too
    except CallError as error:
        return envelope(failure(error))
    except Exception:
        logger.exception("Web API call %s failed", name[:64])
        return envelope(failure(CallError(INTERNAL_ERROR, "Internal error (see the log).")))
    if isinstance(answer, dict):
        return envelope(answer)
    return StreamingHttpResponse(streaming_body(request, answer), content_type=JSON_TYPE)


def request_body(request: HttpRequest) -> bytes:
    """The raw body; one larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a bad body, not a crash."""
    try:
        return request.body
    except RequestDataTooBig:
        raise CallError(BAD_BODY, "body: too large") from None


def actor_label(who: str, address: Any, user: Any) -> str:
    """How the operation log names the client: `web API <memo> (<address>)`."""
    label = f"web API {who} ({address})"
    return f"{label} as {user.get_username()}" if user is not None else label


def token_user(request: HttpRequest, writes: bool) -> Any:
    """With EXTERNAL_API_TOKEN_REQUIRED: the user of the request's API token, who must be a
    Viewer to read and an Administrator to write; otherwise None (the allow-list decides)."""
    if not settings.EXTERNAL_API_TOKEN_REQUIRED:
        return None
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed as error:
        raise CallError(UNAUTHENTICATED, f"Authorization: {error.detail}") from None
    if found is None:
        raise CallError(UNAUTHENTICATED, "Authorization: give Token <key>")
    user = found[0]
    if not has_role(user, Role.ADMINISTRATOR if writes else Role.VIEWER):
        raise CallError(UNAUTHENTICATED, "Authorization: this user's role may not do that")
    return user
