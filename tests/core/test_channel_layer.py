"""The Redis channel layer behind the console's live pages, as settings configure it: an idle
WebSocket stays open, a closed consumer's receive ends at once, and a vanished Redis peer is
noticed (settings.CHANNEL_LAYERS)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from blacklist.entries import release_entry
from tests.blacklist.conftest import NOW, make_entry
from tests.blacklist.test_live_updates_websocket import open_socket

BLOCKING_WAIT = 5  # seconds: channels_redis's BZPOPMIN, and redis-py 8's default socket timeout


@pytest.mark.django_db(transaction=True)
def test_an_idle_live_page_keeps_its_socket(admin_user, viewer_user) -> None:
    """Nothing happens for longer than one blocking wait; the next event still arrives on the
    same socket (with redis-py 8's default socket timeout, the consumer died after 5 s)."""
    entry = make_entry("4930000002")
    socket_ = open_socket(viewer_user)

    async def scenario() -> None:
        assert (await socket_.connect())[0]
        assert await socket_.receive_nothing(timeout=BLOCKING_WAIT + 1.5)
        await database_sync_to_async(release_entry)(entry.pk, admin_user, NOW)
        removed = await socket_.receive_json_from(timeout=5)
        assert removed == {"event": "removed", "ids": [entry.pk], "reason": "released"}
        await socket_.disconnect()

    async_to_sync(scenario)()


def test_a_cancelled_receive_ends_at_once() -> None:
    """A consumer's receive is cancelled when its socket closes. Cancelled at each of its first
    thirty steps (connecting, the clean-up script, the blocking wait), it ends within a second:
    Python 3.11's asyncio.wait_for, which redis-py uses for every send under a socket timeout,
    lost about half of these cancellations, and the receive ran on."""
    layer = get_channel_layer()

    async def cancelled_after(steps: int) -> asyncio.Task:
        receiving = asyncio.ensure_future(layer.receive(await layer.new_channel()))
        for _ in range(steps):
            await asyncio.sleep(0)
        receiving.cancel()
        await asyncio.wait([receiving], timeout=1)
        return receiving

    async def scenario() -> list[int]:
        running = []
        for steps in range(30):
            receiving = await cancelled_after(steps)
            if not receiving.cancelled():
                running.append(steps)
                receiving.cancel()
        return running

    assert async_to_sync(scenario)() == []


def test_a_vanished_redis_peer_is_noticed() -> None:
    """Without a socket timeout, TCP keepalive is what ends a connection whose peer went away
    without a word (a partition): redis-py 8 turns it on, probing after 30 s idle."""
    layer = get_channel_layer()

    async def probe() -> tuple[int, int]:
        pool = layer.connection(0).connection_pool
        connection = await pool.get_connection()
        try:
            sock = connection._writer.get_extra_info("socket")
            return (
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            )
        finally:
            await pool.release(connection)

    keepalive, idle = async_to_sync(probe)()
    assert keepalive and idle == 30
