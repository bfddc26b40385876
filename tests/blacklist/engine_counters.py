"""What the SIP engine writes to Redis (docs/adr/0003-redis-keys.md), for driving the checks.

These helpers write the ADR's keys, types and TTLs directly, so a test can put exact counts in
any window for one side only. `test_engine_counter_contract.py` runs the same reads against
the engine's own writer (`softswitch.engine.counters.Counters`).
"""

from __future__ import annotations

from typing import Any

from softswitch.redis_keys import (
    CONCURRENT_NOW_KEY,
    CONCURRENT_PEAK_KEY,
    NO_ANSWER_RUN_KEY,
    attempts_key,
    concurrent_node_key,
    window_of,
)

# The engine's "+1 when a call is admitted": now, the node's share, and peak = max(peak, now).
CALL_ADMITTED = """
local now = redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
local peak = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not peak or tonumber(peak) < tonumber(now) then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
end
return now
"""


def count_attempts(
    redis: Any, party: str, number: str, attempts: int, interval: int, at: float
) -> str:
    """`attempts` INVITEs from (party "caller") or to ("callee") `number` at Unix time `at`."""
    key = attempts_key(party, interval, window_of(at, interval))
    redis.zincrby(key, attempts, number)
    redis.expire(key, max(3 * interval, 60))
    return key


def count_unanswered(redis: Any, callee: str, calls: int = 1) -> None:
    """`calls` routed calls to `callee` that ended unanswered."""
    redis.zincrby(NO_ANSWER_RUN_KEY, calls, callee)


def count_answered(redis: Any, callee: str) -> None:
    """A call to `callee` was answered: its no-answer run ends."""
    redis.zrem(NO_ANSWER_RUN_KEY, callee)


def call_admitted(redis: Any, caller: str, node: str = "node1") -> None:
    """A call from `caller` was admitted on `node`."""
    keys = [CONCURRENT_NOW_KEY, CONCURRENT_PEAK_KEY, concurrent_node_key(node)]
    redis.eval(CALL_ADMITTED, len(keys), *keys, caller)


def call_ended(redis: Any, caller: str, node: str = "node1") -> None:
    """A call from `caller` on `node` ended."""
    redis.zincrby(CONCURRENT_NOW_KEY, -1, caller)
    redis.hincrby(concurrent_node_key(node), caller, -1)
