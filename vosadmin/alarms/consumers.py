"""The WebSocket behind the live Current alarms page."""

from __future__ import annotations

from typing import Any

from vosadmin.alarms.live import GROUP
from vosadmin.core.consumers import RoleGroupConsumer


class AlarmConsumer(RoleGroupConsumer):
    """Tells the page that the current alarms changed (it fetches its table again)."""

    group = GROUP

    async def alarms_changed(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": "changed"})
