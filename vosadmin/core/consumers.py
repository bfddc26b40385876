"""The WebSocket behind the home page's live overview charts."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from vosadmin.core.overview import GROUP
from vosadmin.core.roles import role_of

REFUSED = 4403  # close code for a user without a role


class OverviewConsumer(AsyncJsonWebsocketConsumer):
    """Relays each overview sample to the browser of a user with a console role (read only)."""

    async def connect(self) -> None:
        if await database_sync_to_async(role_of)(self.scope.get("user")) is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def overview_sample(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "sample", "sample": message["sample"]})
