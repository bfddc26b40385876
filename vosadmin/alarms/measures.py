"""What each alarm type measures: {target: value} for the targets a rule watches.

ASR and ACD come straight from the CDRs of the rule's last period (a range on `start_time`,
the partition key, so only the last day's partition is scanned; the hourly report tables
are too coarse for "the last 5 minutes") and its answered calls still in progress;
concurrency from the current calls; illegal calls, CDR backlogs and heartbeats from Redis
(softswitch/redis_keys.py); balances from the accounts.
A measure that cannot be taken raises, and the rule is skipped: nothing is raised or cleared
on a guess.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key, security_key
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.models import AlarmRule
from vosadmin.core.live import redis_client

Values = dict[str, Decimal]
ALL = "all"  # the target of a switch-wide figure


def _cdr_figures(rule: AlarmRule, now: datetime, side: str) -> list[dict]:
    """Per gateway on `side` (the rule's target, or each one): the calls that started in the
    rule's last period and are decided — their CDRs, and the answered calls still in progress
    (`_talking`) — with how many were answered and their hold time so far. A gateway with
    fewer than `min_calls` such calls is left out (not judged)."""
    from billing.models import Cdr

    field = f"{side}_gateway"
    since = now - timedelta(minutes=rule.period_minutes)
    cdrs = Cdr.objects.filter(start_time__gte=since, start_time__lt=now).exclude(**{field: ""})
    if rule.target:
        cdrs = cdrs.filter(**{field: rule.target})
    rows = (
        cdrs.values(field)
        .annotate(
            calls=Count("pk"),
            answered=Count("connect_time"),  # answered: a connect time (SPEC §4.1)
            held_ms=Sum("hold_time_ms"),
        )
        .order_by()
    )
    figures = {row[field]: {**row, "held_ms": row["held_ms"] or 0} for row in rows}
    for gateway, held_ms in _talking(rule, since, now, side, cdrs):
        row = figures.setdefault(gateway, {"calls": 0, "answered": 0, "held_ms": 0})
        row["calls"], row["answered"] = row["calls"] + 1, row["answered"] + 1
        row["held_ms"] += held_ms
    return [
        {"target": gateway, **row}
        for gateway, row in figures.items()
        if row["calls"] >= max(rule.min_calls, 1)
    ]


def _talking(
    rule: AlarmRule, since: datetime, now: datetime, side: str, cdrs: QuerySet
) -> list[tuple[str, int]]:
    """(gateway, hold time so far in ms) of each answered call in progress that started in
    [since, now) on `side`: without them a period's ASR counts every failure (a CDR at once)
    but no answered call before it ends, and its ACD only the calls that were short. A call
    whose CDR is in `cdrs` already (the current calls follow the engine about once a second)
    is not counted twice."""
    from softswitch.choices import CurrentCallOriginChoices
    from softswitch.models import CurrentCall

    calls = CurrentCall.objects.filter(
        connected_at__isnull=False, started_at__gte=since, started_at__lt=now
    )
    if side == "mapping":
        gateway = "origin"
        calls = calls.filter(origin_type=CurrentCallOriginChoices.MAPPING_GATEWAY)
    else:
        gateway = "routing_gateway"
        calls = calls.exclude(routing_gateway="")
    if rule.target:
        calls = calls.filter(**{gateway: rule.target})
    talking = calls.without_cdr_in(cdrs).values_list(gateway, "connected_at")
    return [
        (name, max(int((now - connected).total_seconds() * 1000), 0)) for name, connected in talking
    ]


def asr(side: str) -> Callable[[AlarmRule, datetime], Values]:
    def measure(rule: AlarmRule, now: datetime) -> Values:
        return {
            row["target"]: Decimal(100 * row["answered"]) / row["calls"]
            for row in _cdr_figures(rule, now, side)
        }

    return measure


def acd(side: str) -> Callable[[AlarmRule, datetime], Values]:
    def measure(rule: AlarmRule, now: datetime) -> Values:
        return {
            row["target"]: (
                Decimal(row["held_ms"] or 0) / 1000 / row["answered"]
                if row["answered"]
                else Decimal(0)
            )
            for row in _cdr_figures(rule, now, side)
        }

    return measure


def concurrency(rule: AlarmRule, now: datetime) -> Values:
    from softswitch.models import CurrentCall

    calls = CurrentCall.objects.all()
    if rule.target:
        calls = calls.filter(node=rule.target)
    return {rule.target or ALL: Decimal(calls.count())}


def illegal_calls(rule: AlarmRule, now: datetime) -> Values:
    """Unauthorised requests (calls and registrations from unknown sources) per minute, on
    average over the period's whole minutes, all engine nodes."""
    last = int(now.timestamp() // 60) - 1
    minutes = range(last - rule.period_minutes + 1, last + 1)
    with redis_client().pipeline(transaction=False) as pipe:
        for minute in minutes:
            pipe.hget(security_key(minute), "unauthorized")
        counts = pipe.execute()
    total = sum(int(count or 0) for count in counts)
    return {ALL: Decimal(total) / rule.period_minutes}


def heartbeats(target: str = "") -> dict[str, float]:
    """Last heartbeat per process (`engine:node1`, `worker:host`…), those matching `target`
    (a whole name, or a kind: `worker` matches every worker; an engine node's name matches
    its workers too, `engine:node1` → `engine:node1-0`, `engine:node1-1`…); blank: all."""
    beats = redis_client().hgetall(HEARTBEATS_KEY)
    return {
        process: float(beat)
        for process, beat in beats.items()
        if not target or process.startswith(f"{target}:") or _is_or_works_for(process, target)
    }


def _is_or_works_for(process: str, target: str) -> bool:
    """`process` is `target`, or one of its engine workers (`<target>-<n>`, docs/adr/0011)."""
    name, dash, worker = process.partition(f"{target}-")
    return process == target or (not name and bool(dash) and worker.isdigit())


def cdr_backlog(rule: AlarmRule, now: datetime) -> Values:
    engines = heartbeats(f"engine:{rule.target}" if rule.target else "engine")
    nodes = [process.split(":", 1)[1] for process in engines]
    backlogs = redis_client().mget([cdr_backlog_key(node) for node in nodes]) if nodes else []
    return {
        node: Decimal(backlog)
        for node, backlog in zip(nodes, backlogs, strict=True)
        if backlog is not None
    }


def balance(rule: AlarmRule, now: datetime) -> Values:
    """The accounts below the floor: the one named, or every customer (normal) account."""
    from billing.choices import AccountTypeChoices
    from billing.models import Account

    accounts = Account.objects.filter(balance__lt=rule.threshold)
    if rule.target:
        accounts = accounts.filter(account=rule.target)
    else:
        accounts = accounts.filter(type=AccountTypeChoices.NORMAL)
    return dict(accounts.values_list("account", "balance"))


def process_down(rule: AlarmRule, now: datetime) -> Values:
    """Seconds since each process's last heartbeat."""
    clock = time.time()
    return {
        process: Decimal(f"{max(0.0, clock - beat):.1f}")
        for process, beat in heartbeats(rule.target).items()
    }


BELOW, ABOVE = "below", "above"
MEASURES: dict[str, tuple[Callable[[AlarmRule, datetime], Values], str]] = {
    Type.MAPPING_ASR: (asr("mapping"), BELOW),
    Type.ROUTING_ASR: (asr("routing"), BELOW),
    Type.MAPPING_ACD: (acd("mapping"), BELOW),
    Type.ROUTING_ACD: (acd("routing"), BELOW),
    Type.CONCURRENCY: (concurrency, ABOVE),
    Type.ILLEGAL_CALLS: (illegal_calls, ABOVE),
    Type.CDR_BACKLOG: (cdr_backlog, ABOVE),
    Type.BALANCE: (balance, BELOW),
    Type.PROCESS_DOWN: (process_down, ABOVE),
}


def firing(rule: AlarmRule, now: datetime) -> Values:
    """The targets of `rule` whose value is past its threshold, with their values."""
    measure, direction = MEASURES[rule.type]
    values = measure(rule, now)
    if direction == BELOW:
        return {target: value for target, value in values.items() if value < rule.threshold}
    return {target: value for target, value in values.items() if value > rule.threshold}
