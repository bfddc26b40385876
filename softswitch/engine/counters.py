"""The engine's Redis counters (docs/adr/0003-redis-keys.md), batched off the call path.

The call path only bumps in-memory tallies; the engine calls `Counters.flush()` every `interval`
in one pipeline. If Redis is unreachable the tallies are kept and merged into the next flush.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from softswitch.redis_keys import (
    CONCURRENT_NOW_KEY,
    CONCURRENT_PEAK_KEY,
    NO_ANSWER_RUN_KEY,
    concurrent_node_key,
    window_of,
)
from softswitch.redis_keys import attempts_key as window_attempts_key
from softswitch.redis_keys import security_key as minute_security_key

logger = logging.getLogger(__name__)

SECURITY_TTL = 48 * 3600
CONCURRENT_NOW = CONCURRENT_NOW_KEY
CONCURRENT_PEAK = CONCURRENT_PEAK_KEY
NO_ANSWER_RUN = NO_ANSWER_RUN_KEY

# KEYS: now, peak, node hash. ARGV: caller, rise, net, caller, rise, net, ... where `rise` is
# the most calls the caller had in progress above its count at the start of the batch, and
# `net` the change of that count: the peak is at least now + rise, never more (calls that
# started and ended one after another within a batch were not simultaneous).
APPLY_CONCURRENCY = """
for i = 1, #ARGV, 3 do
  local member, rise, net = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if rise > 0 then
    local highest = tonumber(redis.call('ZSCORE', KEYS[1], member) or '0') + rise
    local peak = tonumber(redis.call('ZSCORE', KEYS[2], member) or '0')
    if highest > peak then redis.call('ZADD', KEYS[2], highest, member) end
  end
  local now = tonumber(redis.call('ZINCRBY', KEYS[1], net, member))
  local mine = redis.call('HINCRBY', KEYS[3], member, net)
  if now <= 0 then redis.call('ZREM', KEYS[1], member) end
  if mine <= 0 then redis.call('HDEL', KEYS[3], member) end
end
return 1
"""

# KEYS: a sorted set (a window's attempts, the no-answer runs). ARGV: its TTL (0: none), then
# member, increment, member, increment, ... One command per key instead of a ZINCRBY per
# number, which redis-py packs and parses in Python: that was 7 % of a loaded engine's main
# thread (docs/adr/0009).
ADD_SCORES = """
for i = 2, #ARGV, 2 do
  redis.call('ZINCRBY', KEYS[1], ARGV[i + 1], ARGV[i])
end
if tonumber(ARGV[1]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return 1
"""

# KEYS: now, node hash. Undo a previous run of this node (its calls died with it).
FORGET_NODE = """
local mine = redis.call('HGETALL', KEYS[2])
for i = 1, #mine, 2 do
  local now = tonumber(redis.call('ZINCRBY', KEYS[1], -tonumber(mine[i + 1]), mine[i]))
  if now <= 0 then redis.call('ZREM', KEYS[1], mine[i]) end
end
redis.call('DEL', KEYS[2])
return #mine / 2
"""


def attempts_key(side: str, interval: int, now: float) -> str:
    """The sorted set of attempts per `side` ("caller"/"callee") in the window holding `now`."""
    return window_attempts_key(side, interval, window_of(now, interval))


def security_key(now: float) -> str:
    """The hash of security counters for the minute holding `now`."""
    return minute_security_key(int(now // 60))


@dataclass
class Tallies:
    """What happened since the last flush."""

    attempts: dict[str, Counter[str]] = field(default_factory=dict)
    key_ttls: dict[str, int] = field(default_factory=dict)
    no_answer: dict[str, tuple[bool, int]] = field(default_factory=dict)  # callee → (reset, +n)
    concurrency: Counter[str] = field(default_factory=Counter)  # started − ended per caller
    rise: Counter[str] = field(default_factory=Counter)  # highest `concurrency` reached
    security: dict[str, Counter[str]] = field(default_factory=dict)
    gauges: dict[str, dict[str, int]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not (
            self.attempts
            or self.no_answer
            or self.rise
            or self.concurrency
            or self.security
            or self.gauges
        )

    def merge(self, older: Tallies) -> None:
        """Fold in tallies a failed flush could not write (they happened before these)."""
        for key, counts in older.attempts.items():
            self.attempts.setdefault(key, Counter()).update(counts)
        self.key_ttls = {**older.key_ttls, **self.key_ttls}
        for callee, (reset, count) in older.no_answer.items():
            newer = self.no_answer.get(callee)
            self.no_answer[callee] = (
                newer if newer and newer[0] else (reset, count + (newer or (0, 0))[1])
            )
        for caller in older.rise.keys() | older.concurrency.keys():
            before = older.concurrency[caller]
            self.rise[caller] = max(older.rise[caller], before + self.rise[caller])
        self.concurrency.update(older.concurrency)
        for key, counts in older.security.items():
            self.security.setdefault(key, Counter()).update(counts)
        for key, values in older.gauges.items():
            self.gauges[key] = {**values, **self.gauges.get(key, {})}


class Counters:
    """The engine's side of ADR 0003: record events now, write them to Redis in batches."""

    def __init__(self, redis: Any, node: str, interval: float = 0.1) -> None:
        self.redis = redis
        self.node = node
        self.interval = interval
        self.node_key = concurrent_node_key(node)
        self.tallies = Tallies()
        self.redis_down = False

    def call_attempt(
        self, caller: str, callee: str, intervals: tuple[int, int], now: float
    ) -> None:
        """An INVITE from an identified origin: count it for the caller and the callee windows."""
        for side, number, interval in (
            ("caller", caller, intervals[0]),
            ("callee", callee, intervals[1]),
        ):
            key = attempts_key(side, interval, now)
            self.tallies.attempts.setdefault(key, Counter())[number] += 1
            self.tallies.key_ttls[key] = max(3 * interval, 60)

    def call_started(self, caller: str) -> None:
        """An admitted call: one more in progress for the caller."""
        tallies = self.tallies
        tallies.concurrency[caller] += 1
        tallies.rise[caller] = max(tallies.rise[caller], tallies.concurrency[caller])

    def call_ended(self, caller: str) -> None:
        """An admitted call ended."""
        self.tallies.concurrency[caller] -= 1

    def call_unanswered(self, callee: str) -> None:
        """A routed call to `callee` ended without an answer: its no-answer run grows."""
        reset, count = self.tallies.no_answer.get(callee, (False, 0))
        self.tallies.no_answer[callee] = (reset, count + 1)

    def call_answered(self, callee: str) -> None:
        """A call to `callee` was answered: its no-answer run restarts from zero."""
        self.tallies.no_answer[callee] = (True, 0)

    def security(self, metric: str, now: float, count: int = 1) -> None:
        """Count a security event (register_failed, unauthorized, register_replaced)."""
        self.tallies.security.setdefault(security_key(now), Counter())[metric] += count

    def gauge(self, metric: str, value: int, now: float) -> None:
        """Record this node's current value of a gauge (tcp_connections)."""
        self.tallies.gauges.setdefault(security_key(now), {})[f"{metric}:{self.node}"] = value

    async def forget_previous_run(self) -> int:
        """At start: remove the concurrent calls a previous run of this node left behind."""
        return int(await self.redis.eval(FORGET_NODE, 2, CONCURRENT_NOW, self.node_key))

    async def flush(self) -> bool:
        """Write the tallies in one pipeline; on failure keep them for the next flush."""
        tallies, self.tallies = self.tallies, Tallies()
        if tallies.empty():
            return True
        try:
            await self._write(tallies)
        except Exception as error:
            self.tallies.merge(tallies)
            if not self.redis_down:
                logger.error("counters: Redis unavailable, keeping tallies in memory (%s)", error)
            self.redis_down = True
            return False
        self.redis_down = False
        return True

    async def _write(self, tallies: Tallies) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for key, counts in tallies.attempts.items():
            numbers = [item for number, count in counts.items() for item in (number, count)]
            pipe.eval(ADD_SCORES, 1, key, tallies.key_ttls[key], *numbers)
        self._queue_no_answer(pipe, tallies)
        self._queue_concurrency(pipe, tallies)
        for key, counts in tallies.security.items():
            for metric, count in counts.items():
                pipe.hincrby(key, metric, count)
            pipe.expire(key, SECURITY_TTL)
        for key, values in tallies.gauges.items():
            pipe.hset(key, mapping=values)
            pipe.expire(key, SECURITY_TTL)
        await pipe.execute()

    @staticmethod
    def _queue_no_answer(pipe: Any, tallies: Tallies) -> None:
        """A callee's run restarts (answered) before what followed the answer is added: one
        ZREM for every restart and one script for every increment, not a command per callee
        (every answered call restarts its callee's run)."""
        restarted = [callee for callee, (reset, _) in tallies.no_answer.items() if reset]
        if restarted:
            pipe.zrem(NO_ANSWER_RUN, *restarted)
        grown = [
            item
            for callee, (_, count) in tallies.no_answer.items()
            if count
            for item in (callee, count)
        ]
        if grown:
            pipe.eval(ADD_SCORES, 1, NO_ANSWER_RUN, 0, *grown)

    def _queue_concurrency(self, pipe: Any, tallies: Tallies) -> None:
        changes = [
            item
            for caller in tallies.rise.keys() | tallies.concurrency.keys()
            if tallies.rise[caller] or tallies.concurrency[caller]
            for item in (caller, tallies.rise[caller], tallies.concurrency[caller])
        ]
        if changes:
            pipe.eval(
                APPLY_CONCURRENCY, 3, CONCURRENT_NOW, CONCURRENT_PEAK, self.node_key, *changes
            )
