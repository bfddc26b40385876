"""The home page's live overview (SPEC §10): samples of the switch every SAMPLE_SECONDS.

A Celery task (beat, every 5 s) takes a sample — calls in progress, calls and answers per
second, registrations, and the engines' security counters — keeps the last hour of them in a
capped Redis list (softswitch/redis_keys.py OVERVIEW_SAMPLES_KEY) for pages that open later,
and pushes it to every open home page over the Channels layer (`OverviewConsumer`).

Rates come from the calls that started (answered) in the sample's window: those still up are
current calls, those that ended are CDRs. The window ends SETTLE_SECONDS ago, so the engines'
current-call sync (every second) and CDR writer (every 0.2 s) have caught up with it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from softswitch.redis_keys import OVERVIEW_SAMPLES_KEY, security_key
from vosadmin.core.dashboard import SECURITY_METRICS
from vosadmin.core.live import redis_client

SAMPLE_SECONDS = 5
HISTORY_SECONDS = 3600
HISTORY_SAMPLES = HISTORY_SECONDS // SAMPLE_SECONDS
SETTLE_SECONDS = 2
RING_LIMIT = timedelta(minutes=5)  # a CDR answered in the window started at most this earlier
GROUP = "overview"

# What a sample holds, in the order the page charts them: (key, label, chart).
SERIES = (
    ("calls", "Calls in progress", "calls"),
    ("registrations", "Registrations", "calls"),
    ("cps", "Calls per second", "rates"),
    ("aps", "Answered per second", "rates"),
    *((metric, f"{label} per minute", "security") for metric, label in SECURITY_METRICS),
    ("tcp_connections", "Open TCP connections", "security"),
)


def take_sample(now: float | None = None) -> dict[str, Any]:
    """Measure, keep and publish one sample."""
    now = time.time() if now is None else now
    sample = {"t": int(now), **_calls(now), **_security(now)}
    with redis_client().pipeline(transaction=False) as pipe:
        pipe.lpush(OVERVIEW_SAMPLES_KEY, json.dumps(sample))
        pipe.ltrim(OVERVIEW_SAMPLES_KEY, 0, HISTORY_SAMPLES - 1)
        pipe.execute()
    async_to_sync(get_channel_layer().group_send)(
        GROUP, {"type": "overview.sample", "sample": sample}
    )
    return sample


def history(now: float | None = None) -> list[dict[str, Any]]:
    """The samples of the last hour, oldest first (empty if Redis cannot be reached)."""
    import redis

    now = time.time() if now is None else now
    try:
        kept = redis_client().lrange(OVERVIEW_SAMPLES_KEY, 0, HISTORY_SAMPLES - 1)
    except redis.RedisError:
        return []
    samples = [json.loads(item) for item in reversed(kept)]
    return [sample for sample in samples if sample["t"] > now - HISTORY_SECONDS]


def _calls(now: float) -> dict[str, Any]:
    from billing.models import Cdr
    from softswitch.models import CurrentCall, Registration

    end = datetime.fromtimestamp(now - SETTLE_SECONDS, UTC)
    start = end - timedelta(seconds=SAMPLE_SECONDS)
    started_cdrs = Cdr.objects.filter(start_time__gte=start, start_time__lt=end)
    started_calls = CurrentCall.objects.filter(started_at__gte=start, started_at__lt=end)
    started = started_cdrs.count() + started_calls.without_cdr_in(started_cdrs).count()
    answered_cdrs = Cdr.objects.filter(
        start_time__gte=start - RING_LIMIT,
        start_time__lt=end,
        connect_time__gte=start,
        connect_time__lt=end,
    )
    answered_calls = CurrentCall.objects.filter(connected_at__gte=start, connected_at__lt=end)
    answered = answered_cdrs.count() + answered_calls.without_cdr_in(answered_cdrs).count()
    return {
        "calls": CurrentCall.objects.count(),
        "registrations": Registration.objects.count(),
        "cps": round(started / SAMPLE_SECONDS, 2),
        "aps": round(answered / SAMPLE_SECONDS, 2),
    }


def _security(now: float) -> dict[str, int]:
    """The last whole minute's security counters, and the open TCP connections all engine
    nodes reported last (their gauges are written into the current minute's hash)."""
    minute = int(now // 60)
    with redis_client().pipeline(transaction=False) as pipe:
        for key in (security_key(minute - 1), security_key(minute)):
            pipe.hgetall(key)
        last, current = pipe.execute()
    gauges = current or last
    counts = {metric: int(last.get(metric, 0)) for metric, _ in SECURITY_METRICS}
    tcp = sum(int(value) for key, value in gauges.items() if key.startswith("tcp_connections:"))
    return {**counts, "tcp_connections": tcp}


def page_data(now: float | None = None) -> dict[str, Any]:
    """What the home page's charts start from: the series and the last hour's samples."""
    return {
        "series": [{"key": key, "label": label, "chart": chart} for key, label, chart in SERIES],
        "samples": history(now),
        "history_seconds": HISTORY_SECONDS,
    }
