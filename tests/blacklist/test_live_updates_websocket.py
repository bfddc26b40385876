"""The WebSocket behind the Dynamic black list page delivers added and removed entries, through
the real ASGI stack (session auth, origin check) and the Redis channel layer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from blacklist.checks import run_check
from blacklist.entries import Finding, Listing, expire_entries, list_numbers, release_entry
from blacklist.models import DynamicBlacklistEntry
from tests.blacklist.conftest import NOW, configure
from tests.blacklist.engine_counters import count_attempts
from vosadmin.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/blacklist/dynamic/"


def headers_for(user) -> list[tuple[bytes, bytes]]:
    """What a logged-in browser on the console sends with its WebSocket handshake."""
    headers = [(b"origin", b"http://127.0.0.1")]
    if user is not None:
        client = Client()
        client.force_login(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


def open_socket(user) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, PATH, headers=headers_for(user))


def test_added_then_expired(viewer_user, redis) -> None:
    configure("malicious_caller", limit=5)
    count_attempts(redis, "caller", "8613900000001", 9, 600, NOW.timestamp() - 600)
    socket = open_socket(viewer_user)

    async def scenario() -> None:
        assert (await socket.connect())[0]
        await database_sync_to_async(run_check)("malicious_caller", now=NOW, redis=redis)
        added = await socket.receive_json_from(timeout=5)
        assert added["event"] == "added"
        (entry,) = added["entries"]
        assert entry["number"] == "8613900000001" and entry["type"] == "malicious_caller"
        assert (entry["observed"], entry["limit"], entry["window_seconds"]) == (9, 5, 600)
        assert entry["expires_at"].startswith("2026-03-01T13:00:05")

        await database_sync_to_async(expire_entries)(NOW + timedelta(hours=1))
        removed = await socket.receive_json_from(timeout=5)
        assert removed == {"event": "removed", "ids": [entry["id"]], "reason": "expired"}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_released(admin_user, operator_user) -> None:
    entry = DynamicBlacklistEntry.objects.create(
        number="4930000001",
        type="no_answer",
        effective_at=NOW,
        expires_at=NOW + timedelta(days=2),
        observed=12,
        limit=10,
        window_seconds=600,
    )
    socket = open_socket(operator_user)

    async def scenario() -> None:
        assert (await socket.connect())[0]
        await database_sync_to_async(release_entry)(entry.pk, admin_user, NOW)
        removed = await socket.receive_json_from(timeout=5)
        assert removed == {"event": "removed", "ids": [entry.pk], "reason": "released"}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_nothing_is_announced_for_a_rolled_back_change(viewer_user) -> None:
    socket = open_socket(viewer_user)

    def listed_then_rolled_back() -> None:
        with transaction.atomic():
            list_numbers([Finding("8613900000001", 9)], Listing("concurrent", NOW, 60, 5, 60))
            transaction.set_rollback(True)

    async def scenario() -> None:
        assert (await socket.connect())[0]
        await database_sync_to_async(listed_then_rolled_back)()
        assert await socket.receive_nothing(timeout=1)
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("who", ["anonymous", "roleless"])
def test_users_without_a_role_are_refused(users, who: str) -> None:
    socket = open_socket(users[who])
    connected, code = async_to_sync(socket.connect)()
    assert not connected and code == 4403


def test_other_origins_are_refused(viewer_user) -> None:
    headers = [(b"origin", b"http://evil.example"), *headers_for(viewer_user)[1:]]
    socket = WebsocketCommunicator(application, PATH, headers=headers)
    connected, _ = async_to_sync(socket.connect)()
    assert not connected
