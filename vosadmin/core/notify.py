"""Telling the SIP engine (and anyone listening) that configuration changed.

Channel and payload are specified in docs/adr/0002-config-change-notifications.md: the
`vosadmin_config` channel carries JSON `{"kind": ..., "action": ..., "key": ...}`. NOTIFY is
transactional in PostgreSQL, so listeners hear about a change only once it is committed.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

CONFIG_CHANNEL = "vosadmin_config"


def notify_config_change(kind: str, action: str, key: Any) -> None:
    """Queue a NOTIFY on the config channel; PostgreSQL delivers it when the transaction commits."""
    payload = json.dumps({"kind": kind, "action": action, "key": key}, default=str)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CONFIG_CHANNEL, payload])


def notify_config_changes(kind: str, action: str, keys: list[Any]) -> None:
    """One NOTIFY per key, in a single statement: what bulk writes send instead of signals."""
    if not keys:
        return
    payloads = [
        json.dumps({"kind": kind, "action": action, "key": key}, default=str) for key in keys
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload",
            [CONFIG_CHANNEL, payloads],
        )


def watch_config_model(model: type, kind: str) -> None:
    """NOTIFY `kind` whenever an instance of `model` (or one of its many-to-many sets) changes."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    def saved(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
        notify_config_change(kind, "create" if created else "update", instance.pk)

    def deleted(sender: type, instance: Any, **kwargs: Any) -> None:
        notify_config_change(kind, "delete", instance.pk)

    def relations_changed(sender: type, instance: Any, action: str, **kwargs: Any) -> None:
        if action.startswith("post_") and isinstance(instance, model):
            notify_config_change(kind, "update", instance.pk)

    uid = f"vosadmin-notify-{kind}"
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=uid)
    for field in model._meta.many_to_many:
        m2m_changed.connect(
            relations_changed,
            sender=field.remote_field.through,
            weak=False,
            dispatch_uid=f"{uid}-{field.name}",
        )
