"""Alarm webhooks: each raise and clear is POSTed as JSON to every enabled webhook.

The body is signed with the webhook's secret: `X-Vosadmin-Signature: sha256=<hex>`, the
HMAC-SHA256 of the exact body bytes (a receiver recomputes it and compares in constant time).
A delivery is tried by the Celery worker; a failure (no connection, timeout, a status other
than 2xx, a redirect included) is retried after 10 s, 20 s, 40 s, 80 s; after MAX_ATTEMPTS it
is marked failed and stays on the Webhooks page with its last error.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from vosadmin.alarms.choices import DeliveryStatusChoices as Status
from vosadmin.alarms.models import Alarm, Webhook, WebhookDelivery

MAX_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 10
TIMEOUT_SECONDS = 5
SIGNATURE_HEADER = "X-Vosadmin-Signature"


def payload(alarm: Alarm, event: str) -> dict[str, Any]:
    """What a webhook receives."""
    return {
        "event": event,
        "alarm": {
            "id": alarm.pk,
            "rule": alarm.rule_name,
            "type": alarm.type,
            "target": alarm.target,
            "level": alarm.level,
            "value": str(alarm.value),
            "threshold": str(alarm.threshold),
            "message": alarm.message,
            "raised_at": alarm.raised_at.isoformat(),
            "cleared_at": alarm.cleared_at.isoformat() if alarm.cleared_at else None,
        },
    }


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


_here = contextvars.ContextVar("deliver_here", default=False)


@contextmanager
def delivered_here() -> Iterator[None]:
    """Deliveries queued inside are tried at once in this thread, not by the worker."""
    token = _here.set(True)
    try:
        yield
    finally:
        _here.reset(token)


def queue_deliveries(alarm: Alarm, event: str) -> None:
    """Within the raising/clearing transaction: a delivery per enabled webhook, sent after
    commit by the worker (or here, within `delivered_here`)."""
    from vosadmin.alarms.tasks import deliver_webhook_task

    send = deliver if _here.get() else deliver_webhook_task.delay
    for webhook in Webhook.objects.filter(enabled=True):
        delivery = WebhookDelivery.objects.create(webhook=webhook, alarm=alarm, event=event)
        transaction.on_commit(partial(send, delivery.pk), robust=True)


def deliver(delivery_id: int) -> None:
    """Try a delivery once; while it fails, the worker tries again after a growing pause."""
    from vosadmin.alarms.tasks import deliver_webhook_task

    retry_in = attempt(delivery_id)
    if retry_in is not None:
        deliver_webhook_task.apply_async((delivery_id,), countdown=retry_in)


def attempt(delivery_id: int) -> float | None:
    """Try a pending delivery once; the seconds to wait before the next try, or None (done)."""
    delivery = (
        WebhookDelivery.objects.select_related("webhook", "alarm")
        .filter(pk=delivery_id, status=Status.PENDING)
        .first()
    )
    if delivery is None:
        return None
    error = post(delivery.webhook, payload(delivery.alarm, delivery.event))
    delivery.attempts += 1
    delivery.last_error = (error or "")[:255]
    retry_in = None
    if error is None:
        delivery.status = Status.DELIVERED
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = Status.FAILED
    else:
        retry_in = FIRST_RETRY_SECONDS * 2 ** (delivery.attempts - 1)
    if retry_in is None:
        delivery.finished_at = timezone.now()
    delivery.save()
    return retry_in


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers, not detours: urllib would follow a 301, 302 or 303 with a GET
    that carries no alarm, and a page answering it 200 would count as a delivery."""

    def redirect_request(self, *args: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(webhook: Webhook, data: dict[str, Any]) -> str | None:
    """POST `data`; None on a 2xx, else what went wrong."""
    body = json.dumps(data, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "vosadmin-alarms"}
    if webhook.secret:
        headers[SIGNATURE_HEADER] = signature(webhook.secret, body)
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError as error:
        if location := error.headers.get("Location"):
            return f"HTTP {error.code} {error.reason}: a redirect, not followed; use {location}"
        return f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return str(getattr(error, "reason", error))
