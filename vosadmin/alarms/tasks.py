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
    webhooks.deliver(delivery_id)


@shared_task
def heartbeat_task() -> None:
    """The worker runs tasks (the "process down" alarm watches `worker:<host>`); the worker
    sends it to itself every few seconds (watch.py)."""
    heartbeats.beat("worker")
