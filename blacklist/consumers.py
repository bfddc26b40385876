"""The WebSocket behind the live Dynamic black list page."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from blacklist.live import GROUP
from vosadmin.core.roles import role_of

REFUSED = 4403  # close code for a user without a role (the handshake is refused)


class DynamicBlacklistConsumer(AsyncJsonWebsocketConsumer):
    """Relays `blacklist.live` messages to one browser: `added` entries and `removed` ids.

    Only logged-in users with a console role may connect; the stream is read only.
    """

    async def connect(self) -> None:
        if await database_sync_to_async(role_of)(self.scope.get("user")) is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def entries_added(self, message: dict[str, Any]) -> None:
        """New entries, serialized as the API shows them."""
        await self.send_json({"event": "added", "entries": message["entries"]})

    async def entries_removed(self, message: dict[str, Any]) -> None:
        """Entries that stopped blocking: `expired` or `released`."""
        await self.send_json(
            {"event": "removed", "ids": message["ids"], "reason": message["reason"]}
        )
