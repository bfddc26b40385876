"""Live updates of the Current alarms page over the Channels layer: after a commit that raised,
cleared or acknowledged an alarm, every open page is told to fetch its table again."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

GROUP = "alarms"


def announce() -> None:
    """After commit: tell the open pages that the current alarms changed."""
    transaction.on_commit(_send, robust=True)


def _send() -> None:
    async_to_sync(get_channel_layer().group_send)(GROUP, {"type": "alarms.changed"})
