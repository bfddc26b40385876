"""Fixtures of the blacklist tests: a clean Redis keyspace, family parameters, entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from blacklist.families import FAMILY_BY_TYPE
from blacklist.models import DynamicBlacklistEntry
from softswitch.redis_keys import BLACKLIST_PREFIX
from vosadmin.core.live import redis_client
from vosadmin.core.parameters import update_parameter

# A fixed clock: 2026-03-01 12:00:05 UTC is 5 s into a 600 s and a 60 s window.
NOW = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


def clear_counters(redis: Any) -> None:
    """Delete every dynamic-blacklist key (counters and claims)."""
    keys = list(redis.scan_iter(f"{BLACKLIST_PREFIX}:*", count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def redis() -> Iterator[Any]:
    """The shared Redis the engine and the checks use, without any blacklist keys."""
    client = redis_client()
    clear_counters(client)
    yield client
    clear_counters(client)


def configure(entry_type: str, limit: int | None, interval: int | None = None, **more: int) -> None:
    """Set a family's LIMIT (and optionally CHECK_INTERVAL / EXPIRE) like an operator would."""
    family = FAMILY_BY_TYPE[entry_type]
    update_parameter(family.limit_parameter, limit)
    if interval is not None:
        update_parameter(family.interval_parameter, interval)
    if "expire" in more:
        update_parameter(family.expire_parameter, more["expire"])


def make_entry(
    number: str = "8613900000001",
    entry_type: str = "malicious_caller",
    effective_at: datetime = NOW,
    expire: int = 3600,
    **fields: Any,
) -> DynamicBlacklistEntry:
    """A dynamic-blacklist entry as a check would have created it."""
    return DynamicBlacklistEntry.objects.create(
        number=number,
        type=entry_type,
        effective_at=effective_at,
        expires_at=effective_at + timedelta(seconds=expire),
        observed=fields.pop("observed", 120),
        limit=fields.pop("limit", 100),
        window_seconds=fields.pop("window_seconds", 600),
        **fields,
    )
