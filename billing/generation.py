"""Realistic generated CDRs for demo data and benchmarks (`manage.py generate_cdrs`).

The mix resembles a small carrier's day: mostly mapping-gateway (wholesale) and phone (retail)
traffic with a diurnal curve, answered calls with long-tailed durations, the usual failure
statuses, some screening rejections, and a few illegal-call bursts from scanners (billing mode
−2). Rows go in through COPY in chunks, so memory stays flat whatever the count.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.flow_numbers import GENERATED_NODE, FlowNumberGenerator
from billing.ingest import copy_cdrs
from billing.partitions import ensure_cdr_partitions

CHUNK_ROWS = 50_000
FAILURES = [  # (end reason, weight, who ended it)
    (486, 10, Direction.CALLEE),
    (487, 14, Direction.CALLER),
    (480, 8, Direction.CALLEE),
    (404, 3, Direction.CALLEE),
    (503, 5, Direction.CALLEE),
    (408, 2, Direction.CALLEE),
    (603, 2, Direction.CALLEE),
    (Reason.NO_ROUTE, 2, Direction.SERVER),
    (Reason.GATEWAY_TIMEOUT, 2, Direction.SERVER),
    (Reason.CALLER_STATIC_BLACKLIST, 1, Direction.SERVER),
    (Reason.CALLEE_DYNAMIC_BLACKLIST_NO_ANSWER, 1, Direction.SERVER),
    (Reason.ORIGIN_CAPACITY, 1, Direction.SERVER),
]
DESTINATIONS = ["86", "44", "1", "91", "234", "880", "49", "33", "7", "62", "63", "55"]


@dataclass
class Population:
    """Who calls and through what: names and numbers the generated CDRs draw from."""

    phones: list[str] = field(default_factory=lambda: [f"{1000 + i}" for i in range(1, 200)])
    mapping_gateways: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("GW-ACME", "198.51.100.10"),
            ("GW-GLOBALTEL", "198.51.100.20"),
            ("GW-NORTHWIND", "203.0.113.30"),
            ("GW-CONTOSO", "203.0.113.40"),
        ]
    )
    routing_gateways: list[tuple[str, str]] = field(
        default_factory=lambda: [
            ("VENDOR-ALPHA", "192.0.2.50:5060"),
            ("VENDOR-BRAVO", "192.0.2.60:5060"),
            ("VENDOR-CHARLIE", "192.0.2.70:5060"),
        ]
    )


class CdrFactory:
    """Builds CDR rows (tuples in `billing.ingest.CDR_COLUMNS` order)."""

    def __init__(self, population: Population, rng: random.Random, precision: int = 2) -> None:
        self.population = population
        self.rng = rng
        self.flow_numbers = FlowNumberGenerator(GENERATED_NODE)
        self.quantum = Decimal(1).scaleb(-precision)
        self._failure_weights = [weight for _, weight, _ in FAILURES]

    def callee(self) -> str:
        return self.rng.choice(DESTINATIONS) + str(self.rng.randrange(10**8, 10**10))

    def legitimate(self, start: datetime) -> tuple[Any, ...]:
        """A phone or mapping-gateway call, answered or failed."""
        rng = self.rng
        if rng.random() < 0.4:
            mode, phone, gateway = Mode.PHONE, rng.choice(self.population.phones), ""
            caller, caller_ip = phone, f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}:5060"
        else:
            name, ip = rng.choice(self.population.mapping_gateways)
            mode, phone, gateway = Mode.MAPPING_GATEWAY, "", name
            caller, caller_ip = str(rng.randrange(10**9, 10**10)), f"{ip}:5060"
        route, route_ip = rng.choice(self.population.routing_gateways)
        if rng.random() < 0.48:
            return self._answered(start, mode, caller, caller_ip, phone, gateway, route, route_ip)
        return self._failed(start, mode, caller, caller_ip, phone, gateway, route, route_ip)

    def _answered(
        self,
        start: datetime,
        mode: int,
        caller: str,
        caller_ip: str,
        phone: str,
        gateway: str,
        route: str,
        route_ip: str,
    ) -> tuple[Any, ...]:
        rng = self.rng
        connect = start + timedelta(milliseconds=rng.randrange(1500, 15000))
        hold_ms = min(int(rng.expovariate(1 / 110_000)) + 1000, 7_200_000)
        stop = connect + timedelta(milliseconds=hold_ms)
        fee_time = math.ceil(hold_ms / 1000)
        fee = (Decimal(fee_time) * Decimal(rng.choice(["0.012", "0.025", "0.04"])) / 60).quantize(
            self.quantum
        )
        direction = Direction.CALLER if rng.random() < 0.56 else Direction.CALLEE
        if hold_ms >= 7_200_000:
            direction = Direction.SERVER
        return self._row(
            start,
            caller,
            self.callee(),
            caller_ip,
            route_ip,
            gateway,
            phone,
            route,
            connect,
            stop,
            hold_ms,
            fee_time,
            fee,
            200,
            direction,
            mode,
        )

    def _failed(
        self,
        start: datetime,
        mode: int,
        caller: str,
        caller_ip: str,
        phone: str,
        gateway: str,
        route: str,
        route_ip: str,
    ) -> tuple[Any, ...]:
        reason, _, direction = self.rng.choices(FAILURES, self._failure_weights)[0]
        routed = reason > 0 or reason == Reason.GATEWAY_TIMEOUT
        stop = start + timedelta(milliseconds=self.rng.randrange(20, 30000 if routed else 50))
        return self._row(
            start,
            caller,
            self.callee(),
            caller_ip,
            route_ip if routed else "",
            gateway,
            phone,
            route if routed else "",
            None,
            stop,
            0,
            0,
            Decimal(0),
            int(reason),
            direction,
            mode,
        )

    def illegal(self, start: datetime, source_ip: str) -> tuple[Any, ...]:
        """An INVITE from an unknown source, recorded and rejected."""
        stop = start + timedelta(milliseconds=self.rng.randrange(1, 5))
        caller = self.rng.choice(
            ["100", "1000", "sipvicious", "anonymous", str(self.rng.randrange(10**6))]
        )
        return self._row(
            start,
            caller,
            "00" + self.callee(),
            f"{source_ip}:5060",
            "",
            "",
            "",
            "",
            None,
            stop,
            0,
            0,
            Decimal(0),
            int(Reason.ILLEGAL_SOURCE),
            int(Direction.SERVER),
            int(Mode.ILLEGAL_CALL),
        )

    def _row(
        self,
        start: datetime,
        caller: str,
        callee: str,
        caller_ip: str,
        callee_ip: str,
        gateway: str,
        phone: str,
        route: str,
        connect: datetime | None,
        stop: datetime,
        hold_ms: int,
        fee_time: int,
        fee: Decimal,
        reason: int,
        direction: int,
        mode: int,
    ) -> tuple[Any, ...]:
        flow_no = self.flow_numbers.next(int(start.timestamp() * 1000))
        call_id = f"{flow_no:x}@generated"
        return (
            flow_no,
            call_id,
            caller,
            callee,
            caller_ip,
            callee_ip,
            gateway,
            phone,
            route,
            start,
            connect,
            stop,
            hold_ms,
            fee_time,
            fee,
            int(reason),
            int(direction),
            int(mode),
        )


def start_times(rng: random.Random, count: int, first: datetime, seconds: float) -> list[datetime]:
    """`count` start times over the window, denser in business hours, in ascending order."""
    times = []
    while len(times) < count:
        offset = rng.random() * seconds
        moment = first + timedelta(seconds=offset)
        busy = (
            0.35
            + 0.65 * math.sin(math.pi * ((moment.hour + moment.minute / 60 - 6) % 24) / 24) ** 2
        )
        if rng.random() < busy:
            times.append(moment)
    return sorted(times)


def generate_rows(
    count: int,
    days: int,
    end: datetime,
    seed: int | None = None,
    population: Population | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Yield `count` CDR rows over the `days` before `end`, oldest first, ~8 % illegal bursts.

    Rows are produced one day at a time, so memory is bounded by a day's share.
    """
    rng = random.Random(seed)
    factory = CdrFactory(population or Population(), rng)
    first = end - timedelta(days=days)
    for day in range(days):
        share = count // days + (count % days if day == days - 1 else 0)
        day_start = first + timedelta(days=day)
        illegal = share * 8 // 100
        bursts = _illegal_bursts(rng, illegal, day_start, 86400.0)
        legitimate = [
            (moment, "") for moment in start_times(rng, share - illegal, day_start, 86400.0)
        ]
        for moment, source_ip in sorted(legitimate + bursts):
            yield factory.illegal(moment, source_ip) if source_ip else factory.legitimate(moment)


def _illegal_bursts(
    rng: random.Random, total: int, first: datetime, seconds: float
) -> list[tuple[datetime, str]]:
    """A few scanner bursts: hundreds of INVITEs from one address within minutes."""
    events: list[tuple[datetime, str]] = []
    while len(events) < total:
        octets = [rng.choice([45, 77, 185, 193]), rng.randrange(256), rng.randrange(256)]
        source = ".".join(map(str, [*octets, rng.randrange(1, 255)]))
        begin = first + timedelta(seconds=rng.random() * max(seconds - 600, 1))
        size = min(total - len(events), rng.randrange(200, 3000))
        events.extend((begin + timedelta(seconds=rng.random() * 300), source) for _ in range(size))
    return events


def generate_cdrs(
    count: int,
    days: int = 1,
    end: datetime | None = None,
    seed: int | None = None,
    population: Population | None = None,
) -> int:
    """Insert `count` generated CDRs over the `days` before `end` (default now); returns count."""
    end = end or datetime.now(UTC)
    ensure_cdr_partitions((end - timedelta(days=days)).date(), end.date())
    rows = generate_rows(count, days, end, seed, population)
    written = 0
    while chunk := [row for _, row in zip(range(CHUNK_ROWS), rows, strict=False)]:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_cdrs(cursor.cursor, chunk)
        written += len(chunk)
    return written
