"""The Redis keys of the dynamic-blacklist counters (docs/adr/0003-redis-keys.md).

The SIP engine writes these keys and `blacklist.checks` reads them; both sides build the names
here so the contract is spelled once. Windows are Unix time in whole seconds divided by the
family's CHECK_INTERVAL.
"""

from __future__ import annotations

import math

PREFIX = "vosadmin:bl"
NO_ANSWER_RUN_KEY = f"{PREFIX}:no_answer_run"
CONCURRENT_NOW_KEY = f"{PREFIX}:concurrent:now"
CONCURRENT_PEAK_KEY = f"{PREFIX}:concurrent:peak"


def attempts_key(party: str, interval: int, window: int) -> str:
    """ZSET of call attempts per caller or callee (`party`) in one window of `interval` s."""
    return f"{PREFIX}:attempts:{party}:{interval}:{window}"


def checked_key(family: str, interval: int, window: int) -> str:
    """The claim a check run sets (SET NX) before it reads one attempts window."""
    return f"{PREFIX}:checked:{family}:{interval}:{window}"


def concurrent_node_key(node: str) -> str:
    """HASH of the calls in progress per caller on one engine node."""
    return f"{PREFIX}:concurrent:node:{node}"


def window_of(timestamp: float, interval: int) -> int:
    """The window a Unix time falls in: floor(t / interval)."""
    return math.floor(timestamp / interval)
