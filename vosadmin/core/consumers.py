"""WebSocket consumers: the read-only live streams of the console's pages.

`RoleGroupConsumer` is what they share: only a logged-in user with a console role may connect
(anyone else's handshake is closed with REFUSED), and the connection joins one Channels group
whose messages the subclass relays to the browser.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from vosadmin.core.overview import GROUP as OVERVIEW_GROUP
from vosadmin.core.roles import role_of

REFUSED = 4403  # close code for a user without a role (the handshake is refused)


class RoleGroupConsumer(AsyncJsonWebsocketConsumer):
    """Join `group` if the user holds a console role; subclasses handle its messages."""

    group = ""

    async def connect(self) -> None:
        if await database_sync_to_async(role_of)(self.scope.get("user")) is None:
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)


class OverviewConsumer(RoleGroupConsumer):
    """Relays each overview sample to the home page's charts."""

    group = OVERVIEW_GROUP

    async def overview_sample(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "sample", "sample": message["sample"]})
