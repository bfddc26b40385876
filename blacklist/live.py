"""Live updates of the Dynamic black list page over the Channels layer (Redis).

Whoever changes entries — a console request, the API, the Celery worker or beat — calls these
after the change; the messages are sent only once the transaction has committed, so a page
never shows an entry that was rolled back. Every connected `DynamicBlacklistConsumer` relays
them to its browser.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from blacklist.api.serializers import DynamicBlacklistEntrySerializer
from blacklist.models import DynamicBlacklistEntry

GROUP = "dynamic_blacklist"
CHUNK = 200  # entries per message: a flood of listings must not make one huge message

log = logging.getLogger(__name__)


def announce_added(ids: Iterable[int]) -> None:
    """After commit, tell every open page that these entries were created."""
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: _send_added(ids), robust=True)


def announce_removed(ids: Iterable[int], reason: str) -> None:
    """After commit, tell every open page that these entries ended (`expired` or `released`)."""
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: _send_removed(ids, reason), robust=True)


def _send_added(ids: list[int]) -> None:
    entries = DynamicBlacklistEntry.objects.filter(pk__in=ids).order_by("pk")
    data = DynamicBlacklistEntrySerializer(entries, many=True).data
    for start in range(0, len(data), CHUNK):
        _send(
            {
                "type": "entries.added",
                "entries": [dict(item) for item in data[start : start + CHUNK]],
            }
        )


def _send_removed(ids: list[int], reason: str) -> None:
    for start in range(0, len(ids), CHUNK):
        _send({"type": "entries.removed", "ids": ids[start : start + CHUNK], "reason": reason})


def _send(message: dict) -> None:
    async_to_sync(get_channel_layer().group_send)(GROUP, message)
