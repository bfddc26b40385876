"""Writing the operation log: every change made in the console or the API goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.forms.models import model_to_dict


@dataclass(frozen=True)
class ExternalActor:
    """Who made a change without a console user: a machine client, such as a VOS3000 Web API
    script named by its access rule and source address. Logged by that name, with no user."""

    name: str
    is_authenticated = False

    def get_username(self) -> str:
        return self.name


def actor_name(user: Any) -> str:
    """The name the operation log and the payment ledger keep for `user`."""
    if isinstance(user, ExternalActor):
        return user.name
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return user.get_username() if authenticated else "system"


def record_change(
    user: Any, action: str, object_type: str, object_id: Any, object_repr: str, changes: dict
) -> None:
    """Append one entry to the operation log."""
    from vosadmin.core.models import AuditLog

    authenticated = user is not None and getattr(user, "is_authenticated", False)
    AuditLog.objects.create(
        user=user if authenticated else None,
        username=actor_name(user)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=str(object_repr)[:200],
        changes=changes,
    )


SECRET_FIELDS = ("password", "secret")  # never copied into the operation log


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The audit-relevant field values of a model instance, JSON-friendly; a field the model
    names in AUDIT_MASKS is logged as its mask makes it (e.g. an address holding a token)."""
    masks = getattr(instance, "AUDIT_MASKS", {})
    return {
        key: masks[key](value) if key in masks else _jsonable(value)
        for key, value in model_to_dict(instance).items()
        if key not in SECRET_FIELDS
    }


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value changed, as {field: [before, after]}."""
    keys = before.keys() | after.keys()
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    }


def record_model_change(user: Any, action: str, instance: models.Model, changes: dict) -> None:
    """Log a create/update/delete of a model instance, named by its verbose name."""
    record_change(
        user,
        action,
        str(instance._meta.verbose_name).capitalize(),
        instance.pk,
        str(instance),
        changes,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
