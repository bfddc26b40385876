"""Evaluate the alarm rules (beat, every 30 s): raise what fires, clear what stopped firing.

Raising and clearing are compare-and-set: an alarm is opened by an INSERT that the partial
unique constraint (one open alarm per rule and target) lets through once, and cleared by an
UPDATE … WHERE cleared_at IS NULL; an evaluation racing another one does nothing twice. Each
raise and clear is POSTed to the webhooks and pushed to the open Current alarms pages.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from vosadmin.alarms import live, webhooks
from vosadmin.alarms.measures import firing
from vosadmin.alarms.models import Alarm, AlarmRule

logger = logging.getLogger(__name__)


def evaluate_rules(
    now: datetime | None = None, types: Collection[str] | None = None
) -> dict[str, Any]:
    """One evaluation of every rule (of `types`, when given); a summary of what changed."""
    now = now or timezone.now()
    summary = {"raised": 0, "cleared": 0, "skipped": []}
    rules = AlarmRule.objects.all()
    summary["cleared"] += clear_orphans(now)
    for rule in rules if types is None else rules.filter(type__in=types):
        try:
            fired = firing(rule, now) if rule.enabled else {}
        except Exception as error:  # a measure that cannot be taken changes nothing
            logger.warning("alarm rule %s not evaluated: %s", rule, error)
            summary["skipped"].append(rule.name)
            continue
        fired = {stored_target(target): value for target, value in fired.items()}
        for target, value in fired.items():
            summary["raised"] += raise_alarm(rule, target, value, now) is not None
        open_targets = rule.alarms.filter(cleared_at__isnull=True).values_list("target", "pk")
        for target, pk in list(open_targets):
            if target not in fired:
                summary["cleared"] += clear_alarm(pk, now)
    return summary


def clear_orphans(now: datetime) -> int:
    """Clear the open alarms whose rule is gone: deleting a rule clears its alarms first, but
    one raised by an evaluation that read the rule just before it was deleted, and committed
    just after, would stay open for good."""
    orphans = Alarm.objects.filter(rule__isnull=True, cleared_at__isnull=True)
    return sum(clear_alarm(pk, now) for pk in orphans.values_list("pk", flat=True))


def describe(rule: AlarmRule, target: str, value: Decimal) -> str:
    """ "Routing gateway ASR below floor (%): VENDOR at 12.5 (threshold 40)"."""
    label = rule.get_type_display()
    return f"{label}: {target} at {value.normalize():f} (threshold {rule.threshold.normalize():f})"


def stored_target(target: str) -> str:
    """The target as an alarm stores it (a long process name is cut), so that the next round
    finds the alarm it opened for it."""
    return target[: Alarm._meta.get_field("target").max_length]


def raise_alarm(rule: AlarmRule, target: str, value: Decimal, now: datetime) -> Alarm | None:
    """Open an alarm unless one is open for this rule and target already (then None)."""
    try:
        with transaction.atomic():
            alarm = Alarm.objects.create(
                rule=rule,
                rule_name=rule.name,
                type=rule.type,
                threshold=rule.threshold,
                target=stored_target(target),
                level=rule.level,
                value=round(value, 4),
                message=describe(rule, target, value)[:255],
                raised_at=now,
            )
            webhooks.queue_deliveries(alarm, "raised")
            live.announce()
    except IntegrityError:
        return None
    return alarm


def clear_alarm(pk: int, now: datetime) -> bool:
    """Clear an open alarm; False if it was cleared already."""
    with transaction.atomic():
        if not Alarm.objects.filter(pk=pk, cleared_at__isnull=True).update(cleared_at=now):
            return False
        webhooks.queue_deliveries(Alarm.objects.get(pk=pk), "cleared")
        live.announce()
    return True
