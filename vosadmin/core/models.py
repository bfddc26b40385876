"""Core models: stored system-parameter values and the operation (audit) log."""

from django.conf import settings
from django.db import models


class ParameterValue(models.Model):
    """The stored value of one system parameter; parameters without a row have their default.

    The declaration (type, range, default) lives in `vosadmin.core.parameters.definitions`;
    the SIP engine reads this table directly and reloads it on NOTIFY.
    """

    name = models.CharField("name", max_length=80, unique=True)
    value = models.JSONField("value", null=True)
    updated_at = models.DateTimeField("updated at", auto_now=True)

    class Meta:
        verbose_name = "system parameter value"
        verbose_name_plural = "system parameter values"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} = {self.value!r}"


class AuditLog(models.Model):
    """One change made in the console or through the API: who, when, what, before → after.

    `username` is kept alongside the user so the entry still says who it was after the user
    account is deleted.
    """

    time = models.DateTimeField("time", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="user",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField("user name", max_length=150, blank=True)
    action = models.CharField("action", max_length=20)
    object_type = models.CharField("object type", max_length=60, db_index=True)
    object_id = models.CharField("object id", max_length=80, blank=True)
    object_repr = models.CharField("object", max_length=200, blank=True)
    changes = models.JSONField("changes", default=dict, blank=True)

    class Meta:
        verbose_name = "operation log entry"
        verbose_name_plural = "operation log"
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_repr}"
