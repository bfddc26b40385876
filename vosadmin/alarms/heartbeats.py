"""Heartbeats of the Celery worker and beat in Redis (engine nodes write their own:
softswitch/engine/metrics.py). The "process down" alarm reads them all.

The worker beats when it runs `heartbeat_task`, which it sends itself every 10 s (watch.py);
beat beats whenever it publishes a task (several times a minute), from the
`before_task_publish` signal.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any

import redis
from celery.signals import before_task_publish
from django.conf import settings

from softswitch.redis_keys import HEARTBEATS_KEY
from vosadmin.core.live import redis_client


def beat(kind: str) -> None:
    """Record that this process (`worker` or `beat` on this host) is alive now."""
    # Redis away: the heartbeat goes stale, which is what the alarm should see
    with contextlib.suppress(redis.RedisError):
        redis_client().hset(HEARTBEATS_KEY, f"{kind}:{socket.gethostname()}", f"{time.time():.3f}")


@before_task_publish.connect
def beat_publishes(**kwargs: Any) -> None:
    if settings.PROCESS_NAME == "beat":
        beat("beat")
