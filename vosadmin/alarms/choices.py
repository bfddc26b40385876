"""Choices of the alarm models."""

from django.db import models


class AlarmTypeChoices(models.TextChoices):
    """What a rule watches (SPEC §10). The unit of its threshold is in the label."""

    MAPPING_ASR = "mapping_asr", "Mapping gateway ASR below floor (%)"
    ROUTING_ASR = "routing_asr", "Routing gateway ASR below floor (%)"
    MAPPING_ACD = "mapping_acd", "Mapping gateway ACD below floor (s)"
    ROUTING_ACD = "routing_acd", "Routing gateway ACD below floor (s)"
    CONCURRENCY = "concurrency", "Calls in progress above ceiling"
    ILLEGAL_CALLS = "illegal_calls", "Illegal calls per minute above ceiling"
    CDR_BACKLOG = "cdr_backlog", "CDRs waiting in an engine journal above ceiling"
    BALANCE = "balance", "Account balance below floor"
    PROCESS_DOWN = "process_down", "Process silent for longer than (s)"


class AlarmLevelChoices(models.IntegerChoices):
    """How serious an alarm is (VOS3000's four levels)."""

    INFO = 0, "Information"
    MINOR = 1, "Minor"
    MAJOR = 2, "Major"
    CRITICAL = 3, "Critical"


class DeliveryStatusChoices(models.TextChoices):
    """Where a webhook delivery stands."""

    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
