"""Choices of the blacklist models."""

from django.db import models


class NumberMatchChoices(models.TextChoices):
    """How a list entry matches a number."""

    EXACT = "exact", "Exact"
    PREFIX = "prefix", "Prefix"


class DynamicBlacklistTypeChoices(models.TextChoices):
    """The four dynamic-blacklist families (SPEC §2.2)."""

    MALICIOUS_CALLER = "malicious_caller", "Malicious caller"
    MALICIOUS_CALLEE = "malicious_callee", "Malicious callee"
    NO_ANSWER = "no_answer", "No answer"
    CONCURRENT = "concurrent", "Concurrent abuse"
