"""The dynamic-blacklist checks (SPEC §2.2) over the SIP engine's Redis counters.

Celery beat runs one check per family every CHECK_INTERVAL (`blacklist.tasks`); each check is
a plain function of a clock and a Redis client, so tests drive it with a fixed `now`. The key
layout and the read rules are docs/adr/0003-redis-keys.md:

- malicious caller / callee: members of the attempts ZSET of the window just ended whose score
  reached LIMIT (`ZRANGEBYSCORE key LIMIT +inf`). A run first claims the window with
  `SET vosadmin:bl:checked:{type}:{interval}:{window} NX EX 2×interval`, so a duplicated or late
  run for that window reads nothing. A run also looks at the window before the last one: beat's
  cadence drifts, and a run that lands just past two boundaries must not skip a window (the
  claim makes the second look free when the window was already checked).
- no answer: one Lua script returns the callees whose run of unanswered calls reached LIMIT and
  removes them (their run restarts from zero), so a repeated run finds nothing.
- concurrent abuse: one Lua script takes the peaks recorded since the last check, keeps those
  over LIMIT (strictly), and re-seeds the peaks from the calls in progress now (only the callers
  over LIMIT need re-seeding; see TAKE_CONCURRENCY_PEAKS); the callers over LIMIT now are found
  too (after a lowered LIMIT they have no peak over it).

Numbers on the system white list (exact or prefix) are never listed. An active entry per
(number, type) is never duplicated: `blacklist.entries.list_numbers` inserts with ON CONFLICT
DO NOTHING against the partial unique index. A family whose LIMIT is None does nothing at all.

SS_BLACK_LIST_DYNAMIC_RUN_MODE needs nothing here: in Independent mode the engine counts only
the traffic of phones and mapping gateways with "dynamic blacklist" on (ADR 0003), so every
counter a check reads is watched traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis as redis_py
from django.utils import timezone

from blacklist.choices import DynamicBlacklistTypeChoices as Type
from blacklist.choices import NumberMatchChoices
from blacklist.entries import Finding, Listing, list_numbers
from blacklist.families import FAMILY_BY_TYPE, Family, FamilySettings
from blacklist.models import SystemWhitelistEntry
from softswitch.redis_keys import (
    CONCURRENT_NOW_KEY,
    CONCURRENT_PEAK_KEY,
    NO_ANSWER_RUN_KEY,
    attempts_key,
    checked_key,
    window_of,
)
from vosadmin.core.live import redis_client

# The engine flushes its counters at least every 100 ms: read a window once it is 1 s old.
SETTLE_SECONDS = 1
# Attempts windows read per run: the one just ended and the one before it.
CATCH_UP_WINDOWS = 2

TAKE_NO_ANSWER_RUNS = """
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #found, 2 do
  redis.call('ZREM', KEYS[1], found[i])
end
return found
"""

# Re-seeding copies only the callers whose calls in progress are over LIMIT: any other caller
# can only cross it with a new call, and the engine's +1 sets its peak to max(peak, now) then.
# So the script costs O(log N + listed) however many callers `now` holds (ZRANGESTORE: 6.2+).
# A LIMIT lowered since the last check is the exception: a caller already holding more calls
# than the new LIMIT has no peak to show it, so the callers over LIMIT in `now` (the re-seeded
# peaks) are returned too, after the peaks (a caller may be in both).
TAKE_CONCURRENCY_PEAKS = """
local over = '(' .. ARGV[1]
local found = redis.call('ZRANGEBYSCORE', KEYS[1], over, '+inf', 'WITHSCORES')
redis.call('UNLINK', KEYS[1])
redis.call('ZRANGESTORE', KEYS[1], KEYS[2], over, '+inf', 'BYSCORE')
local current = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #current do found[#found + 1] = current[i] end
return found
"""


@dataclass
class Found:
    """What a family's Redis read returned, and what it took to get it: window claims, or
    the counts it removed from a sorted set (`taken_from`: the no-answer runs, the peaks)."""

    findings: list[Finding] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    taken_from: str = ""

    def release(self, redis: redis_py.Redis) -> None:
        """Give back what the read took, so a later run finds it again: the claimed windows,
        and the counts taken (each at least as high as it was)."""
        if self.claims:
            redis.delete(*self.claims)
        if self.taken_from and self.findings:
            counts = {finding.number: finding.observed for finding in self.findings}
            redis.zadd(self.taken_from, counts, gt=True)


@dataclass
class CheckResult:
    """The outcome of one check run."""

    type: str
    found: int = 0
    listed: list[int] = field(default_factory=list)
    skipped: str = ""

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary for the worker's log."""
        return {
            "type": self.type,
            "found": self.found,
            "listed": self.listed,
            "skipped": self.skipped,
        }


def run_check(
    entry_type: str, now: datetime | None = None, redis: redis_py.Redis | None = None
) -> CheckResult:
    """Run one family's check at `now` (default: the current time) and list what it finds."""
    family = FAMILY_BY_TYPE[entry_type]
    settings = family.current_settings()
    if settings.limit is None:
        return CheckResult(family.type.value, skipped=f"{family.limit_parameter} is None")
    now = now or timezone.now()
    redis = redis or redis_client()
    found = FINDERS[family.type](redis, family, settings, now.timestamp())
    try:
        findings = drop_whitelisted(found.findings)
        listing = Listing(family.type, now, settings.expire, settings.limit, settings.interval)
        ids = list_numbers(findings, listing)
    except Exception:
        found.release(redis)
        raise
    return CheckResult(family.type.value, found=len(findings), listed=ids)


def windows_to_read(timestamp: float, interval: int) -> list[int]:
    """The attempts windows a run at `timestamp` reads, oldest first (see the module doc)."""
    last = window_of(timestamp - SETTLE_SECONDS, interval) - 1
    return list(range(last - CATCH_UP_WINDOWS + 1, last + 1))


def find_attempts(
    party: str,
) -> Callable[[redis_py.Redis, Family, FamilySettings, float], Found]:
    """The finder of the malicious caller (`party` = "caller") or callee ("callee") family."""

    def find(
        redis: redis_py.Redis, family: Family, settings: FamilySettings, timestamp: float
    ) -> Found:
        found = Found()
        for window in windows_to_read(timestamp, settings.interval):
            claim = checked_key(family.type, settings.interval, window)
            if not redis.set(claim, int(timestamp), nx=True, ex=2 * settings.interval):
                continue
            found.claims.append(claim)
            key = attempts_key(party, settings.interval, window)
            members = redis.zrangebyscore(key, settings.limit, "+inf", withscores=True)
            found.findings += [Finding(number, int(score)) for number, score in members]
        return found

    return find


def find_no_answer_runs(
    redis: redis_py.Redis, family: Family, settings: FamilySettings, timestamp: float
) -> Found:
    """Callees whose run of unanswered calls reached LIMIT; their runs restart from zero."""
    flat = redis.register_script(TAKE_NO_ANSWER_RUNS)(
        keys=[NO_ANSWER_RUN_KEY], args=[settings.limit]
    )
    return Found(_pairs(flat), taken_from=NO_ANSWER_RUN_KEY)


def find_concurrency_peaks(
    redis: redis_py.Redis, family: Family, settings: FamilySettings, timestamp: float
) -> Found:
    """Callers whose simultaneous calls exceeded LIMIT since the last check."""
    flat = redis.register_script(TAKE_CONCURRENCY_PEAKS)(
        keys=[CONCURRENT_PEAK_KEY, CONCURRENT_NOW_KEY], args=[settings.limit]
    )
    return Found(_highest(_pairs(flat)), taken_from=CONCURRENT_PEAK_KEY)


FINDERS = {
    Type.MALICIOUS_CALLER: find_attempts("caller"),
    Type.MALICIOUS_CALLEE: find_attempts("callee"),
    Type.NO_ANSWER: find_no_answer_runs,
    Type.CONCURRENT: find_concurrency_peaks,
}


def drop_whitelisted(findings: list[Finding]) -> list[Finding]:
    """The findings whose number is not on the system white list (exact or prefix match)."""
    if not findings:
        return []
    exact, prefixes = set(), []
    for number, match in SystemWhitelistEntry.objects.values_list("number", "match"):
        if match == NumberMatchChoices.PREFIX:
            prefixes.append(number)
        else:
            exact.add(number)
    starts = tuple(prefixes)
    return [f for f in findings if f.number not in exact and not f.number.startswith(starts)]


def _highest(findings: list[Finding]) -> list[Finding]:
    """One finding per number: the highest count found for it."""
    highest: dict[str, int] = {}
    for finding in findings:
        highest[finding.number] = max(highest.get(finding.number, 0), finding.observed)
    return [Finding(number, observed) for number, observed in highest.items()]


def _pairs(flat: list[str]) -> list[Finding]:
    """[member, score, member, score, …] from a Lua script as findings."""
    return [Finding(flat[i], int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]
