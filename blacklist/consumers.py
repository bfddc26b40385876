"""The WebSocket behind the live Dynamic black list page."""

from __future__ import annotations

from typing import Any

from blacklist.live import GROUP
from vosadmin.core.consumers import RoleGroupConsumer


class DynamicBlacklistConsumer(RoleGroupConsumer):
    """Relays `blacklist.live` messages to one browser: `added` entries and `removed` ids.

    Only logged-in users with a console role may connect; the stream is read only.
    """

    group = GROUP

    async def entries_added(self, message: dict[str, Any]) -> None:
        """New entries, serialized as the API shows them."""
        await self.send_json({"event": "added", "entries": message["entries"]})

    async def entries_removed(self, message: dict[str, Any]) -> None:
        """Entries that stopped blocking: `expired` or `released`."""
        await self.send_json(
            {"event": "removed", "ids": message["ids"], "reason": message["reason"]}
        )
