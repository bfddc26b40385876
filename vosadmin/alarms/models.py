"""Alarm rules, the alarms they raise (open ones are current, cleared ones history) and the
webhooks alarms are POSTed to, with every delivery attempt's outcome."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q

from vosadmin.alarms.choices import AlarmLevelChoices, AlarmTypeChoices, DeliveryStatusChoices


class AlarmRule(models.Model):
    """What to watch, on which target (blank: every one), against what threshold."""

    # What an operator sets, on the page and through the API.
    EDITABLE_FIELDS = [
        *("name", "type", "target", "threshold", "period_minutes", "min_calls", "level"),
        *("enabled", "memo"),
    ]
    name = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=32, choices=AlarmTypeChoices.choices)
    target = models.CharField(
        max_length=64,
        blank=True,
        help_text="Gateway name, account code, engine node or process (engine:node1, worker, "
        "beat); blank: each one there is.",
    )
    threshold = models.DecimalField(max_digits=14, decimal_places=4)
    period_minutes = models.PositiveIntegerField(
        "evaluation period (min)",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="ASR, ACD and illegal calls are computed over this many last minutes.",
    )
    min_calls = models.PositiveIntegerField(
        default=10, help_text="ASR/ACD: a gateway with fewer calls in the period is not judged."
    )
    level = models.PositiveSmallIntegerField(
        choices=AlarmLevelChoices.choices, default=AlarmLevelChoices.MAJOR
    )
    enabled = models.BooleanField(default=True)
    memo = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "alarm rule"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=AlarmTypeChoices.values), name="alarms_rule_type_valid"
            ),
            models.CheckConstraint(condition=Q(level__lte=3), name="alarms_rule_level_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.threshold is None or not self.type:
            return  # their own fields say what is wrong
        low, high = THRESHOLD_RANGES.get(self.type, (None, None))
        if (low is not None and self.threshold < low) or (
            high is not None and self.threshold > high
        ):
            raise ValidationError({"threshold": f"For this type: {range_text(low, high)}."})


# The thresholds that mean something, by type (a balance floor may be negative: credit).
PERCENT, NOT_NEGATIVE = (Decimal(0), Decimal(100)), (Decimal(0), None)
THRESHOLD_RANGES: dict[str, tuple[Decimal | None, Decimal | None]] = {
    AlarmTypeChoices.MAPPING_ASR: PERCENT,
    AlarmTypeChoices.ROUTING_ASR: PERCENT,
    AlarmTypeChoices.MAPPING_ACD: NOT_NEGATIVE,
    AlarmTypeChoices.ROUTING_ACD: NOT_NEGATIVE,
    AlarmTypeChoices.CONCURRENCY: NOT_NEGATIVE,
    AlarmTypeChoices.ILLEGAL_CALLS: NOT_NEGATIVE,
    AlarmTypeChoices.CDR_BACKLOG: NOT_NEGATIVE,
    AlarmTypeChoices.PROCESS_DOWN: NOT_NEGATIVE,
}


def range_text(low: Decimal | None, high: Decimal | None) -> str:
    """'from 0 to 100', 'at least 0'."""
    return f"from {low} to {high}" if high is not None else f"at least {low}"


class Alarm(models.Model):
    """One raised alarm: current while `cleared_at` is empty, history after.

    It keeps what its rule was when it was raised (name, type, threshold): the history reads
    the same after the rule is edited or deleted (deleting a rule clears its open alarms,
    `vosadmin.alarms.signals`, and leaves them without a rule).
    """

    rule = models.ForeignKey(
        AlarmRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alarms"
    )
    rule_name = models.CharField("rule", max_length=64)
    type = models.CharField(max_length=32, choices=AlarmTypeChoices.choices)
    threshold = models.DecimalField(max_digits=14, decimal_places=4)
    target = models.CharField(max_length=64)
    level = models.PositiveSmallIntegerField(choices=AlarmLevelChoices.choices)
    value = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))
    message = models.CharField(max_length=255)
    raised_at = models.DateTimeField(db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_memo = models.CharField("acknowledgement memo", max_length=255, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "alarm"
        ordering = ["-raised_at", "-pk"]
        constraints = [
            # Compare-and-set: two evaluations racing cannot open the same alarm twice.
            models.UniqueConstraint(
                fields=["rule", "target"],
                condition=Q(cleared_at__isnull=True),
                name="alarms_one_open_alarm_per_rule_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} · {self.target}"


def masked_url(url: str) -> str:
    """A webhook address as pages and the operation log show it: scheme and host only, with a
    fingerprint of the whole address — chat services put their token in the path, and some
    addresses carry user:password@ (only the edit form, for operators, shows all of it)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]  # as written: no parsing of a port to fail on
    fingerprint = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{parts.scheme}://{host}/… ({fingerprint})"


class Webhook(models.Model):
    """Where raised and cleared alarms are POSTed as JSON (signed when a secret is set)."""

    AUDIT_MASKS = {"url": masked_url}  # vosadmin.core.audit.snapshot

    name = models.CharField(max_length=64, unique=True)
    url = models.URLField(
        "URL", max_length=500, validators=[URLValidator(schemes=["http", "https"])]
    )
    secret = models.CharField(
        max_length=128,
        blank=True,
        help_text="Signs each body: X-Vosadmin-Signature: sha256=<HMAC-SHA256 hex>.",
    )
    enabled = models.BooleanField(default=True)
    memo = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "webhook"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One alarm event sent (or being sent) to one webhook."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16)  # raised / cleared
    status = models.CharField(
        max_length=16, choices=DeliveryStatusChoices.choices, default=DeliveryStatusChoices.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.webhook} · {self.alarm} · {self.event}"
