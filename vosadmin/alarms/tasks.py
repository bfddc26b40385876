"""Alarm work run by Celery: evaluation (beat, every 30 s), webhook deliveries, heartbeats."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from vosadmin.alarms import heartbeats, webhooks
from vosadmin.alarms.evaluation import evaluate_rules


@shared_task
def evaluate_alarms_task() -> dict[str, Any]:
    """Raise what fires, clear what stopped."""
    return evaluate_rules()


@shared_task
def deliver_webhook_task(delivery_id: int) -> None:
    """Try one delivery; schedule the next try after a growing pause while it fails."""
    retry_in = webhooks.attempt(delivery_id)
    if retry_in is not None:
        deliver_webhook_task.apply_async((delivery_id,), countdown=retry_in)


@shared_task
def heartbeat_task() -> None:
    """The worker is alive (the "process down" alarm watches `worker:<host>`)."""
    heartbeats.beat("worker")
