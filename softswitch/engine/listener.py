"""LISTEN for configuration changes (docs/adr/0002) on a dedicated PostgreSQL connection.

The connection's socket is watched by the event loop (`add_reader`), so notifications cost
nothing while there are none. When the connection breaks (database restart, outage) the
listener reconnects with a growing pause and asks for a full refresh, since notifications sent
while it was away are lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import psycopg2
import psycopg2.extensions

from vosadmin.core.notify import CONFIG_CHANNEL

logger = logging.getLogger(__name__)

FIRST_PAUSE = 0.5  # before reconnecting after a failure; doubles up to `max_backoff`

Notify = Callable[[str, str, Any], Coroutine[Any, Any, None]]


class NotificationListener:
    """Calls `on_notify(kind, action, key)` for each change and `on_reconnect()` after a gap.

    A notification whose `origin` is `node` is skipped: this node sent it about a change it
    has applied itself (its CDR batches' charges, ADR 0006).
    """

    def __init__(
        self,
        connection_params: dict[str, Any],
        on_notify: Notify,
        on_reconnect: Callable[[], Awaitable[Any]],
        max_backoff: float = 5.0,
        node: str = "",
    ) -> None:
        self.params = connection_params
        self.node = node
        self.on_notify = on_notify
        self.on_reconnect = on_reconnect
        self.max_backoff = max_backoff
        self.connected = asyncio.Event()
        self.first = True
        self.pause = FIRST_PAUSE

    async def step(self) -> float:
        """Listen until the connection breaks (cancel to stop); the pause before reconnecting."""
        try:
            await self._listen_once(self.first)
            self.pause = FIRST_PAUSE
        except (psycopg2.Error, OSError) as error:
            logger.warning("config listener: %s; reconnecting in %.1f s", error, self.pause)
        self.connected.clear()
        self.first = False
        pause, self.pause = self.pause, min(self.pause * 2, self.max_backoff)
        return pause

    async def _listen_once(self, first: bool) -> None:
        loop = asyncio.get_running_loop()
        connection = await loop.run_in_executor(None, self._connect)
        broken = loop.create_future()
        loop.add_reader(connection.fileno(), self._drain, connection, broken)
        try:
            self.connected.set()
            if not first:
                await self.on_reconnect()
            await broken
        finally:
            loop.remove_reader(connection.fileno())
            connection.close()

    def _connect(self) -> Any:
        connection = psycopg2.connect(**self.params)
        connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with connection.cursor() as cursor:
            cursor.execute(f'LISTEN "{CONFIG_CHANNEL}"')
        return connection

    def _drain(self, connection: Any, broken: asyncio.Future[None]) -> None:
        try:
            connection.poll()
        except (psycopg2.Error, OSError) as error:
            if not broken.done():
                broken.set_exception(error)
            return
        while connection.notifies:
            note = connection.notifies.pop(0)
            self._dispatch(note.payload)

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind, action, key = message["kind"], message["action"], message["key"]
        except (ValueError, KeyError, TypeError):
            kind, action, key = "unknown", "update", None
        else:
            if self.node and message.get("origin") == self.node:
                return
        asyncio.get_running_loop().create_task(self.on_notify(kind, action, key))
