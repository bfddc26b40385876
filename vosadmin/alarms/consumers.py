"""The WebSocket behind the live Current alarms page."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from vosadmin.alarms.live import GROUP
from vosadmin.core.roles import role_of

REFUSED = 4403  # close code for a user without a role


class AlarmConsumer(AsyncJsonWebsocketConsumer):
    """Relays "changed" to the browser of a logged-in user with a console role (read only)."""

    async def connect(self) -> None:
        if await database_sync_to_async(role_of)(self.scope.get("user")) is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def alarms_changed(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "changed"})
