"""The home page's live overview (SPEC §10): samples measured from current calls, CDRs,
registrations and the engines' security counters, kept for an hour in Redis, pushed over the
WebSocket."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from billing.partitions import ensure_cdr_partitions
from softswitch.models import CurrentCall
from softswitch.redis_keys import OVERVIEW_SAMPLES_KEY, security_key
from tests.billing.conftest import cdr, store
from tests.blacklist.test_live_updates_websocket import headers_for
from vosadmin.asgi import application
from vosadmin.core import overview

pytestmark = pytest.mark.django_db


def test_a_sample_counts_calls_answers_and_security(redis_client) -> None:
    now = time.time()
    inside = datetime.fromtimestamp(now - overview.SETTLE_SECONDS - 1, UTC)
    ensure_cdr_partitions((inside - timedelta(days=1)).date(), inside.date())
    for i, connected in enumerate([inside, None]):
        CurrentCall.objects.create(
            node="node1",
            call_id=f"up{i}",
            caller="1",
            callee="2",
            origin="GW",
            state="ringing",
            started_at=inside,
            connected_at=connected,
        )
    store(
        cdr("ended-answered", inside - timedelta(seconds=30), connect_time=inside),
        cdr("ended-failed", inside, hold_time_ms=0),
        cdr("too-old", inside - timedelta(minutes=1)),
    )
    minute = int(now // 60)
    redis_client.hset(security_key(minute - 1), mapping={"unauthorized": 12, "register_failed": 3})
    redis_client.hset(security_key(minute), mapping={"tcp_connections:node1": 4})
    sample = overview.take_sample(now)
    assert sample == {
        "t": int(now),
        "calls": 2,
        "registrations": 0,
        "cps": round(3 / overview.SAMPLE_SECONDS, 2),  # two calls up, one ended in the window
        "aps": round(2 / overview.SAMPLE_SECONDS, 2),
        "register_failed": 3,
        "unauthorized": 12,
        "register_replaced": 0,
        "tcp_connections": 4,
    }
    assert json.loads(redis_client.lindex(OVERVIEW_SAMPLES_KEY, 0)) == sample


def test_history_keeps_the_last_hour_oldest_first(redis_client) -> None:
    now = time.time()
    for age in (4000, 1200, 600, 5):
        redis_client.lpush(OVERVIEW_SAMPLES_KEY, json.dumps({"t": int(now - age), "calls": age}))
    assert [sample["calls"] for sample in overview.history(now)] == [1200, 600, 5]
    for _ in range(3):
        overview.take_sample(now)
    assert redis_client.llen(OVERVIEW_SAMPLES_KEY) <= overview.HISTORY_SAMPLES


def test_home_page_starts_from_the_history(client, viewer_user, redis_client) -> None:
    redis_client.lpush(OVERVIEW_SAMPLES_KEY, json.dumps({"t": int(time.time()), "calls": 7}))
    client.force_login(viewer_user)
    page = client.get("/")
    assert page.context["overview"]["samples"][-1]["calls"] == 7
    html = page.content.decode()
    assert 'id="overview-data"' in html and "js/overview.js" in html and "uPlot.iife" in html


@pytest.mark.django_db(transaction=True)
def test_the_socket_relays_samples_to_users_with_a_role(viewer_user, redis_client) -> None:
    socket = WebsocketCommunicator(application, "/ws/overview/", headers=headers_for(viewer_user))

    async def scenario() -> None:
        assert (await socket.connect())[0]
        from channels.db import database_sync_to_async

        sample = await database_sync_to_async(overview.take_sample)()
        assert await socket.receive_json_from(timeout=5) == {"event": "sample", "sample": sample}
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_call_both_current_and_in_a_cdr_counts_once(redis_client) -> None:
    """The engine writes a CDR within 0.2 s of a call's end but drops the call from the
    current calls at its next sync (about once a second): for that while one call is both."""
    now = time.time()
    inside = datetime.fromtimestamp(now - overview.SETTLE_SECONDS - 1, UTC)
    ensure_cdr_partitions((inside - timedelta(days=1)).date(), inside.date())
    CurrentCall.objects.create(
        node="node1",
        call_id="one-call",
        caller="1",
        callee="2",
        origin="GW",
        state="connected",
        started_at=inside,
        connected_at=inside,
    )
    store(cdr("one-call", inside, connect_time=inside))
    sample = overview.take_sample(now)
    one_per_window = round(1 / overview.SAMPLE_SECONDS, 2)
    assert (sample["cps"], sample["aps"]) == (one_per_window, one_per_window)
