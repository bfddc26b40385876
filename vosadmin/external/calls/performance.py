"""GetPerformance: calls in progress and CDRs not yet in PostgreSQL, over every engine node."""

from __future__ import annotations

from typing import Any

from softswitch.models import CurrentCall
from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key
from vosadmin.core.live import redis_client
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import success

ENGINE_PREFIX = "engine:"


def cdr_backlog() -> int:
    """The sum of the CDR journal backlogs of the engine nodes (each writes its own every few
    seconds, softswitch/engine/metrics.py); a node that stopped drops out when its expires."""
    client = redis_client()
    processes = client.hkeys(HEARTBEATS_KEY)
    keys = [cdr_backlog_key(process.removeprefix(ENGINE_PREFIX)) for process in processes
            if process.startswith(ENGINE_PREFIX)]  # fmt: skip
    return sum(int(value) for value in client.mget(keys) if value is not None) if keys else 0


@web_call("GetPerformance")
def get_performance(context: CallContext) -> dict[str, Any]:
    return success(callSize=CurrentCall.objects.count(), cdrQueueSize=cdr_backlog())
