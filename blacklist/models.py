"""Blacklist models: static groups and numbers, the system white list, dynamic entries."""

from django.db import models
from django.db.models import Q

from blacklist.choices import DynamicBlacklistTypeChoices, NumberMatchChoices
from vosadmin.core.validators import validate_number


class BlacklistGroup(models.Model):
    """A named static black list (VOS3000 "black/white list group").

    Attached to phones and mapping gateways as their caller or callee lists; a group with
    `applies_to_all` screens every call (the global static blacklist).
    """

    name = models.CharField("name", max_length=64, unique=True)
    memo = models.TextField("memo", blank=True)
    applies_to_all = models.BooleanField(
        "applies to all traffic",
        default=False,
        help_text="Screen every caller and callee against this group, attached or not.",
    )
    created = models.DateTimeField("created", auto_now_add=True)
    last_updated = models.DateTimeField("last updated", auto_now=True)

    class Meta:
        verbose_name = "black list group"
        verbose_name_plural = "black list groups"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BlacklistNumber(models.Model):
    """A number (or prefix) in a static black list group."""

    group = models.ForeignKey(
        BlacklistGroup, on_delete=models.CASCADE, related_name="numbers", verbose_name="group"
    )
    number = models.CharField("number", max_length=33, validators=[validate_number])
    match = models.CharField(
        "match", max_length=6, choices=NumberMatchChoices.choices, default=NumberMatchChoices.EXACT
    )
    memo = models.CharField("memo", max_length=200, blank=True)
    created = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "black list number"
        verbose_name_plural = "black list numbers"
        ordering = ["group__name", "number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "number"], name="blacklist_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number}{'*' if self.match == NumberMatchChoices.PREFIX else ''}"


class SystemWhitelistEntry(models.Model):
    """A number (or prefix) on the system white list: no static or dynamic list blocks it."""

    number = models.CharField("number", max_length=33, unique=True, validators=[validate_number])
    match = models.CharField(
        "match", max_length=6, choices=NumberMatchChoices.choices, default=NumberMatchChoices.EXACT
    )
    memo = models.CharField("memo", max_length=200, blank=True)
    created = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        verbose_name = "system white list entry"
        verbose_name_plural = "system white list"
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number}{'*' if self.match == NumberMatchChoices.PREFIX else ''}"


class DynamicBlacklistEntry(models.Model):
    """A number listed by a dynamic-blacklist check, with the evidence that listed it.

    It blocks from `effective_at` until `expires_at` (the engine enforces that to the second);
    beat later marks it inactive, and an administrator may release it early. Inactive entries
    are kept as history. The database allows one active entry per (number, type), which makes
    duplicated or concurrent check runs harmless.
    """

    number = models.CharField("number", max_length=64, db_index=True)
    type = models.CharField("type", max_length=20, choices=DynamicBlacklistTypeChoices.choices)
    effective_at = models.DateTimeField("effective time")
    expires_at = models.DateTimeField("expiration time")
    observed = models.PositiveIntegerField("observed", help_text="What the check counted.")
    limit = models.PositiveIntegerField("limit", help_text="The family's LIMIT at the time.")
    window_seconds = models.PositiveIntegerField("window (s)", help_text="The counting window.")
    active = models.BooleanField("active", default=True)
    released_at = models.DateTimeField("released at", null=True, blank=True)
    released_by = models.CharField("released by", max_length=150, blank=True)

    class Meta:
        verbose_name = "dynamic black list entry"
        verbose_name_plural = "dynamic black list"
        ordering = ["-effective_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number", "type"],
                condition=Q(active=True),
                name="dynamic_blacklist_one_active_entry",
            ),
        ]
        indexes = [models.Index(fields=["active", "expires_at"], name="dynamic_blacklist_expiry")]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_type_display()})"

    def evidence(self) -> str:
        """Why the number was listed, in an operator's words."""
        return EVIDENCE[self.type].format(
            observed=self.observed, limit=self.limit, window=self.window_seconds
        )

    def ending(self) -> str:
        """How an inactive entry ended: released early (by whom) or expired."""
        if self.active:
            return ""
        return f"released by {self.released_by}" if self.released_at else "expired"


EVIDENCE = {
    DynamicBlacklistTypeChoices.MALICIOUS_CALLER: "{observed} call attempts in {window} s "
    "(limit {limit})",
    DynamicBlacklistTypeChoices.MALICIOUS_CALLEE: "{observed} calls to it in {window} s "
    "(limit {limit})",
    DynamicBlacklistTypeChoices.NO_ANSWER: "{observed} unanswered calls in a row (limit {limit})",
    DynamicBlacklistTypeChoices.CONCURRENT: "peak of {observed} simultaneous calls (limit {limit})",
}
