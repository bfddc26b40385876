"""Every Redis key that more than one process reads or writes (docs/adr/0003-redis-keys.md).

The SIP engine writes these keys; Celery checks, the console and the dashboard read them. Each
name and layout is spelled here once, in a module with no asyncio and no Django imports, so the
console never imports an engine module to learn a key. All keys start with `vosadmin:`; time
windows are Unix time in whole seconds.
"""

from __future__ import annotations

import math

# Dynamic-blacklist counters (ADR 0003): written by the engine, read by blacklist/checks.py.
BLACKLIST_PREFIX = "vosadmin:bl"
NO_ANSWER_RUN_KEY = f"{BLACKLIST_PREFIX}:no_answer_run"  # ZSET callee → unanswered calls in a row
CONCURRENT_NOW_KEY = f"{BLACKLIST_PREFIX}:concurrent:now"  # ZSET caller → calls in progress
CONCURRENT_PEAK_KEY = f"{BLACKLIST_PREFIX}:concurrent:peak"  # ZSET caller → peak since last check

# Line limits (softswitch/engine/capacity.py): HASH "<kind>:<id>" → calls in progress, all nodes.
CAPACITY_IN_USE_KEY = "vosadmin:capacity:in_use"

# Money reserved by calls in progress (ADR 0006): HASH account id → 1/10,000 units, all nodes.
BILLING_RESERVED_KEY = "vosadmin:billing:reserved"

# Routing-gateway OPTIONS status (softswitch/engine/gateways.py): HASH id → online/offline.
GATEWAY_STATUS_KEY = "vosadmin:gateway:status"


def attempts_key(party: str, interval: int, window: int) -> str:
    """ZSET of call attempts per caller or callee (`party`) in one window of `interval` s."""
    return f"{BLACKLIST_PREFIX}:attempts:{party}:{interval}:{window}"


def checked_key(family: str, interval: int, window: int) -> str:
    """The claim a check run sets (SET NX) before it reads one attempts window."""
    return f"{BLACKLIST_PREFIX}:checked:{family}:{interval}:{window}"


def concurrent_node_key(node: str) -> str:
    """HASH of the calls in progress per caller on one engine node."""
    return f"{BLACKLIST_PREFIX}:concurrent:node:{node}"


def window_of(timestamp: float, interval: int) -> int:
    """The window a Unix time falls in: floor(t / interval)."""
    return math.floor(timestamp / interval)


# The counters of a security_key hash (the gauges are "<name>:<node>" fields beside them).
SECURITY_EVENTS = ("register_failed", "unauthorized", "register_replaced")


def security_key(minute: int) -> str:
    """HASH of the security counters (and per-node gauges) of one minute (Unix time // 60)."""
    return f"vosadmin:security:{minute}"


def capacity_node_key(node: str) -> str:
    """HASH of one node's share of CAPACITY_IN_USE_KEY, given back when the node restarts."""
    return f"vosadmin:capacity:node:{node}"


def billing_reserved_node_key(node: str) -> str:
    """HASH of one node's share of BILLING_RESERVED_KEY, given back when the node restarts."""
    return f"{BILLING_RESERVED_KEY}:node:{node}"


# Monitoring (SPEC §10). Heartbeats: HASH "<kind>:<name>" (engine:node1, worker:host, beat:host)
# → Unix time of its last beat; a field left stale is a process down (alarms). Never expires, so
# a process that died is still listed; the console's alarm rules decide how stale is "down".
HEARTBEATS_KEY = "vosadmin:monitor:heartbeats"
# The live overview's samples (vosadmin/core/overview.py): LIST of JSON samples, newest first,
# capped at an hour of them.
OVERVIEW_SAMPLES_KEY = "vosadmin:monitor:overview"


def cdr_backlog_key(node: str) -> str:
    """STRING: CDRs one engine node journaled that are not in the database yet (expires)."""
    return f"vosadmin:monitor:cdr_backlog:{node}"
