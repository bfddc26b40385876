"""The shared Redis every process of the console reads live state from (ADR 0003)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def redis_client() -> redis.Redis:
    """This process's client of the shared Redis (settings.REDIS_URL), strings decoded."""
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
