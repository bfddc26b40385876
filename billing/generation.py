"""Realistic generated CDRs for demo data and benchmarks (`manage.py generate_cdrs`).

The mix resembles a small carrier's day: mostly mapping-gateway (wholesale) and phone (retail)
traffic with a diurnal curve, answered calls with long-tailed durations, the usual failure
statuses, some screening rejections, and a few illegal-call bursts from scanners (billing mode
−2). Calls are rated as the engine rates them (`billing.generation_rating`): with the accounts
and rates of the database, fee, cost and account agree with the rates; an origin without an
account is unbilled. A call goes to a routing gateway whose prefixes match its callee; calls that
rang or were answered have a post-dial delay (pdd_ms). Rows are
generated while COPY inserts the previous ones (billing.ingest.CsvStream), in
transactions of CHUNK_ROWS, so memory stays flat whatever the count.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar

from django.db import connection, transaction

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.flow_numbers import GENERATED_NODE, FlowNumberGenerator
from billing.generation_rating import CdrRating
from billing.ingest import CdrRow, copy_cdrs
from billing.partitions import ensure_cdr_partitions
from billing.reports import mark_hours

T = TypeVar("T")

CHUNK_ROWS = 50_000
DAY_SECONDS = 86400
ILLEGAL_SHARE = 0.08
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
RANG_FIRST = {487, 480, 603}  # failures that come after ringing (cancelled, no answer, declined)
DESTINATIONS = ["86", "44", "1", "91", "234", "880", "49", "33", "7", "62", "63", "55"]
SCANNER_CALLERS = ["100", "1000", "sipvicious", "anonymous"]
MAX_HOLD_MS = 7_200_000  # the default SS_SIP_NO_TIMER_REINVITE_INTERVAL
# Relative call volume per hour of the day (UTC): quiet at night, busy in business hours.
HOURLY_WEIGHTS = [
    0.35 + 0.65 * math.sin(math.pi * ((hour + 0.5 - 6) % 24) / 24) ** 2 for hour in range(24)
]


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
    rating: CdrRating = field(default_factory=CdrRating)  # default: every call unbilled


class Origin(NamedTuple):
    """Where a call came from."""

    mode: int
    caller: str
    caller_ip: str
    phone: str
    mapping_gateway: str

    @property
    def name(self) -> str:
        """The phone's number or the mapping gateway's name (whose account pays)."""
        return self.phone or self.mapping_gateway


class FastRandom(random.Random):
    """`random.Random` plus the two draws the factory makes millions of times, 3× faster than
    `choice` and `randrange` (which reject and retry to stay exactly uniform)."""

    def pick(self, items: Sequence[T]) -> T:
        """One of the items, uniformly."""
        return items[int(self.random() * len(items))]

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high)."""
        return low + int(self.random() * (high - low))


class Charges(NamedTuple):
    """What rating gives a CDR (unbilled and unanswered calls: nothing)."""

    account_id: int | None = None
    fee_time: int = 0
    fee: Decimal = Decimal(0)
    fee_prefix: str = ""
    cost: Decimal = Decimal(0)
    cost_prefix: str = ""


class CdrFactory:
    """Builds CDR rows."""

    def __init__(self, population: Population, rng: FastRandom) -> None:
        self.population = population
        self.rating = population.rating
        self.rng = rng
        self.flow_numbers = FlowNumberGenerator(GENERATED_NODE)
        self._failures = list(itertools.accumulate(weight for _, weight, _ in FAILURES))

    def callee(self) -> str:
        return self.rng.pick(DESTINATIONS) + str(self.rng.between(10**8, 10**10))

    def origin(self) -> Origin:
        """A retail phone (40 %) or a wholesale customer's gateway."""
        rng = self.rng
        if rng.random() < 0.4:
            phone = rng.pick(self.population.phones)
            address = f"10.1.{rng.between(0, 256)}.{rng.between(1, 255)}:5060"
            return Origin(Mode.PHONE, phone, address, phone, "")
        name, ip = rng.pick(self.population.mapping_gateways)
        return Origin(Mode.MAPPING_GATEWAY, str(rng.between(10**9, 10**10)), f"{ip}:5060", "", name)

    def route(self, callee: str) -> tuple[str, str]:
        """A routing gateway that serves the callee (any, if none does)."""
        routes = self.population.routing_gateways
        serving = [route for route in routes if self.rating.serves(route[0], callee)]
        return self.rng.pick(serving or routes)

    def legitimate(self, start: datetime) -> CdrRow:
        """A phone or mapping-gateway call, answered (48 %) or failed."""
        origin = self.origin()
        callee = self.callee()
        route = self.route(callee)
        if self.rng.random() < 0.48:
            return self._answered(start, origin, route, callee)
        return self._failed(start, origin, route, callee)

    def _answered(
        self, start: datetime, origin: Origin, route: tuple[str, str], callee: str
    ) -> CdrRow:
        rng = self.rng
        connect_ms = rng.between(1500, 15000)
        connect = start + timedelta(milliseconds=connect_ms)
        hold_ms = min(int(rng.expovariate(1 / 110_000)) + 1000, MAX_HOLD_MS)
        if hold_ms >= MAX_HOLD_MS:
            direction = Direction.SERVER
        else:
            direction = Direction.CALLER if rng.random() < 0.56 else Direction.CALLEE
        stop = connect + timedelta(milliseconds=hold_ms)
        charges = self.charges(start, origin, route, callee, math.ceil(hold_ms / 1000))
        pdd_ms = rng.between(300, min(connect_ms, 5000))  # rang first, or answered at once
        return self._row(
            start, origin, route, connect, stop, hold_ms, 200, direction, callee, charges, pdd_ms
        )

    def charges(
        self, start: datetime, origin: Origin, route: tuple[str, str], callee: str, seconds: int
    ) -> Charges:
        """The fee (the callee as sent by the caller) and the cost (as sent to the vendor) of
        an answered call of `seconds`, rated at its start time."""
        rating = self.rating
        account_id = rating.account_id(origin.name)
        if account_id is None:
            return Charges()
        fee_time, fee, fee_prefix = rating.fee(origin.name, callee, start, seconds)
        cost, cost_prefix = rating.cost(route[0], callee, start, seconds)
        return Charges(account_id, fee_time, fee, fee_prefix, cost, cost_prefix)

    def _failed(
        self, start: datetime, origin: Origin, route: tuple[str, str], callee: str
    ) -> CdrRow:
        rng = self.rng
        reason, _, direction = FAILURES[self._failure_index()]
        routed = reason > 0 or reason == Reason.GATEWAY_TIMEOUT
        stop_ms = rng.between(20, 30000 if routed else 50)
        stop = start + timedelta(milliseconds=stop_ms)
        route = route if routed else ("", "")
        charges = Charges(account_id=self.rating.account_id(origin.name))
        # Rang before it was cancelled, not answered or declined; the others failed at once.
        pdd_ms = rng.between(0, stop_ms) if reason in RANG_FIRST else None
        return self._row(
            start, origin, route, None, stop, 0, reason, direction, callee, charges, pdd_ms
        )

    def _failure_index(self) -> int:
        return bisect.bisect(self._failures, self.rng.random() * self._failures[-1])

    def illegal(self, start: datetime, source_ip: str) -> CdrRow:
        """An INVITE from an unknown source, recorded and rejected."""
        rng = self.rng
        caller = rng.pick(SCANNER_CALLERS) if rng.random() < 0.8 else str(rng.between(0, 10**6))
        origin = Origin(Mode.ILLEGAL_CALL, caller, f"{source_ip}:5060", "", "")
        stop = start + timedelta(milliseconds=rng.between(1, 5))
        return self._row(
            start,
            origin,
            ("", ""),
            None,
            stop,
            0,
            Reason.ILLEGAL_SOURCE,
            Direction.SERVER,
            "00" + self.callee(),
            Charges(),
        )

    def _row(
        self,
        start: datetime,
        origin: Origin,
        route: tuple[str, str],
        connect: datetime | None,
        stop: datetime,
        hold_ms: int,
        reason: int,
        direction: int,
        callee: str,
        charges: Charges,
        pdd_ms: int | None = None,
    ) -> CdrRow:
        flow_no = self.flow_numbers.next(int(start.timestamp() * 1000))
        return CdrRow(
            flow_no=flow_no,
            call_id=f"{flow_no:x}@generated",
            caller=origin.caller,
            callee=callee,
            caller_ip=origin.caller_ip,
            callee_ip=route[1],
            mapping_gateway=origin.mapping_gateway,
            phone=origin.phone,
            routing_gateway=route[0],
            start_time=start,
            connect_time=connect,
            stop_time=stop,
            hold_time_ms=hold_ms,
            end_reason=int(reason),
            end_direction=int(direction),
            billing_mode=int(origin.mode),
            pdd_ms=pdd_ms,
            **charges._asdict(),
        )


def start_offsets(rng: FastRandom, count: int) -> list[float]:
    """`count` start times within a day, seconds from midnight, following HOURLY_WEIGHTS."""
    hours = rng.choices(range(24), HOURLY_WEIGHTS, k=count)
    return [(hour + rng.random()) * 3600 for hour in hours]


def illegal_bursts(rng: FastRandom, total: int) -> list[tuple[float, str]]:
    """A few scanner bursts within a day: hundreds of INVITEs from one address within minutes.

    Returns (seconds from midnight, source address) pairs.
    """
    events: list[tuple[float, str]] = []
    while len(events) < total:
        octets = [rng.pick([45, 77, 185, 193]), rng.between(0, 256), rng.between(0, 256)]
        source = ".".join(map(str, [*octets, rng.between(1, 255)]))
        begin = rng.random() * (DAY_SECONDS - 600)
        size = min(total - len(events), rng.between(200, 3000))
        events.extend((begin + rng.random() * 300, source) for _ in range(size))
    return events


def generate_rows(
    count: int,
    days: int,
    end: datetime,
    seed: int | None = None,
    population: Population | None = None,
) -> Iterator[CdrRow]:
    """Yield `count` CDR rows over the `days` before `end`, oldest first, ~8 % illegal bursts.

    Rows are produced one day at a time, so memory is bounded by a day's share.
    """
    rng = FastRandom(seed)
    factory = CdrFactory(population or Population(), rng)
    first = end - timedelta(days=days)
    for day in range(days):
        share = count // days + (count % days if day == days - 1 else 0)
        day_start = first + timedelta(days=day)
        illegal = int(share * ILLEGAL_SHARE)
        events = illegal_bursts(rng, illegal)
        events += ((offset, "") for offset in start_offsets(rng, share - illegal))
        events.sort()
        for offset, source_ip in events:
            start = day_start + timedelta(seconds=offset)
            yield factory.illegal(start, source_ip) if source_ip else factory.legitimate(start)


def generate_cdrs(
    count: int,
    days: int = 1,
    end: datetime | None = None,
    seed: int | None = None,
    population: Population | None = None,
) -> int:
    """Insert `count` generated CDRs over the `days` before `end` (default now); returns count.

    Without a population, the default one is rated with the database's accounts and rates.
    The hours they fall in are marked for the gateway reports (beat recomputes them).
    """
    end = end or datetime.now(UTC)
    population = population or Population(rating=CdrRating.from_database())
    ensure_cdr_partitions((end - timedelta(days=days)).date(), end.date())
    rows = generate_rows(count, days, end, seed, population)
    written = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            copied = copy_cdrs(cursor.cursor, itertools.islice(rows, CHUNK_ROWS))
        if not copied:
            mark_hours(end - timedelta(days=days), end)
            return written
        written += copied
