"""A rule deleted clears its open alarms first (webhooks and open pages are told, as when a
condition ends); its alarms stay in the history without it (`Alarm.rule` is SET_NULL)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from vosadmin.alarms.evaluation import clear_alarm
from vosadmin.alarms.models import AlarmRule


@receiver(pre_delete, sender=AlarmRule, dispatch_uid="vosadmin-alarms-rule-deleted")
def clear_alarms_of_deleted_rule(sender: Any, instance: AlarmRule, **kwargs: Any) -> None:
    now = timezone.now()
    for pk in instance.alarms.filter(cleared_at__isnull=True).values_list("pk", flat=True):
        clear_alarm(pk, now)
