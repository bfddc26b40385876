"""Acknowledging an alarm: who, when, a memo; written to the operation log."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from vosadmin.alarms import live
from vosadmin.alarms.models import Alarm
from vosadmin.core.audit import record_model_change


def acknowledge(pk: int, user: Any, memo: str) -> Alarm | None:
    """Acknowledge an open, unacknowledged alarm; None if there is no such alarm."""
    now = timezone.now()
    with transaction.atomic():
        updated = Alarm.objects.filter(
            pk=pk, cleared_at__isnull=True, acknowledged_at__isnull=True
        ).update(acknowledged_by=user, acknowledged_at=now, ack_memo=memo[:255])
        if not updated:
            return None
        alarm = Alarm.objects.get(pk=pk)
        changes = {"acknowledged_at": [None, now.isoformat()], "ack_memo": [None, alarm.ack_memo]}
        record_model_change(user, "acknowledge", alarm, changes)
        live.announce()
    return alarm
