"""Rating a call (SPEC §8.2): one pure function, and the rate lookup it takes as input.

Nothing here touches the database or the clock: `RateTable` is built from a group's rates
(`RateTable.for_group` loads them) and answers "which rate applies to this number at this
moment"; `rate_call` turns a hold time and that rate into the fee and the fee time. The engine,
the console's "test a number" box and the tests all use these two.

Money is `Decimal` throughout; a float hold time is converted through its shortest decimal
representation (`repr`), so 61.1 s is 61.1 s and not 61.100000000000001 s.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

MAX_PRECISION = 4  # SERVER_BILLING_FEE_PRECISTION ranges over 0–4 decimal places
QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(MAX_PRECISION + 1)}  # 1, 0.1…


@dataclass(frozen=True, slots=True)
class RateTerms:
    """What one rate charges (the fields of `billing.models.Rate` that rating needs)."""

    prefix: str
    first_period: int
    first_fee: Decimal
    period: int
    fee: Decimal
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    area_name: str = ""
    rate_id: int | None = None

    def in_force(self, at: datetime) -> bool:
        """Whether the rate applies to a call starting at `at`."""
        started = self.effective_from is None or self.effective_from <= at
        return started and (self.effective_to is None or at < self.effective_to)


@dataclass(frozen=True, slots=True)
class Charge:
    """What a call costs: the fee (rounded) and the fee time (whole seconds billed)."""

    fee: Decimal
    fee_time: int


def whole_seconds(seconds: Decimal | float | int) -> int:
    """The hold time in whole seconds, rounded up (61.001 s → 62 s); never negative."""
    if type(seconds) is int:  # not bool; the engine's common case needs no Decimal
        return max(0, seconds)
    if isinstance(seconds, float):
        seconds = Decimal(repr(seconds))
    if not isinstance(seconds, int | Decimal) or not Decimal(seconds).is_finite():
        raise ValueError(f"not a duration: {seconds!r}")
    return max(0, math.ceil(seconds))


def rate_call(seconds: Decimal | float | int, rate: RateTerms, precision: int) -> Charge:
    """The fee and fee time of a call of `seconds` hold time at `rate` (SPEC §8.2).

    0 s costs nothing; up to the first period costs the first fee; every started period after
    it costs `fee`. The fee is rounded half-up to `precision` decimal places
    (SERVER_BILLING_FEE_PRECISTION).
    """
    if not 0 <= precision <= MAX_PRECISION:
        raise ValueError(f"precision must be 0–{MAX_PRECISION}, not {precision}")
    billed = whole_seconds(seconds)
    if billed == 0:
        return Charge(round_fee(Decimal(0), precision), 0)
    if billed <= rate.first_period:
        return Charge(round_fee(rate.first_fee, precision), rate.first_period)
    periods = -(-(billed - rate.first_period) // rate.period)  # ceiling division, in integers
    fee = rate.first_fee + periods * rate.fee
    return Charge(round_fee(fee, precision), rate.first_period + periods * rate.period)


def round_fee(amount: Decimal, precision: int) -> Decimal:
    """`amount` rounded half-up to `precision` decimal places."""
    return amount.quantize(QUANTUM[precision], rounding=ROUND_HALF_UP)


class RateTable:
    """The rates of one group, indexed for "longest prefix in force at a moment".

    A dict maps each prefix to its versions sorted by `effective_from`; a lookup probes the
    callee's prefixes from the longest to "" (at most 33 dict probes), and for each prefix
    finds the latest version started at that moment by bisection. So a lookup costs
    microseconds whatever the size of the group, and building one is linear.
    """

    __slots__ = ("_longest", "_starts", "_versions")

    def __init__(self, rates: Iterable[RateTerms]) -> None:
        versions: dict[str, list[RateTerms]] = {}
        for rate in rates:
            versions.setdefault(rate.prefix, []).append(rate)
        for prefix_versions in versions.values():
            prefix_versions.sort(key=_start_key)
        self._versions = versions
        self._starts = {
            prefix: [_start_key(rate) for rate in prefix_versions]
            for prefix, prefix_versions in versions.items()
        }
        self._longest = max((len(prefix) for prefix in versions), default=0)

    def __len__(self) -> int:
        return sum(len(prefix_versions) for prefix_versions in self._versions.values())

    def lookup(self, number: str, at: datetime) -> RateTerms | None:
        """The rate for calls to `number` starting at `at`: longest prefix among those in force."""
        for length in range(min(len(number), self._longest), -1, -1):
            prefix = number[:length]
            if prefix in self._versions:
                rate = self._in_force(prefix, at)
                if rate is not None:
                    return rate
        return None

    def _in_force(self, prefix: str, at: datetime) -> RateTerms | None:
        """The latest-starting version of `prefix` that has started and not ended at `at`."""
        versions = self._versions[prefix]
        index = bisect_right(self._starts[prefix], at.timestamp())
        for position in range(index - 1, -1, -1):
            if versions[position].in_force(at):
                return versions[position]
        return None

    @classmethod
    def for_group(cls, rate_group_id: int) -> RateTable:
        """The table of a rate group, loaded from the database in one query."""
        from billing.models import Rate

        return cls(rate_terms(rate) for rate in Rate.objects.filter(rate_group_id=rate_group_id))


def rate_terms(rate: object) -> RateTerms:
    """The `RateTerms` of a `billing.models.Rate`."""
    return RateTerms(
        prefix=rate.prefix,
        first_period=rate.first_period,
        first_fee=rate.first_fee,
        period=rate.period,
        fee=rate.fee,
        effective_from=rate.effective_from,
        effective_to=rate.effective_to,
        area_name=rate.area_name,
        rate_id=rate.pk,
    )


def _start_key(rate: RateTerms) -> float:
    # Timestamps compare across time zones and against bisect's probe; no start = always.
    return rate.effective_from.timestamp() if rate.effective_from else -math.inf


def affordable_seconds(available: Decimal, rate: RateTerms, precision: int) -> int | None:
    """The longest hold time (whole seconds) whose fee, as `rate_call` charges it (rounded),
    `available` money pays for at `rate`.

    0 when it cannot pay the first fee (the call must be refused, SPEC §8.3); None when the
    rate charges nothing after the first period (money sets no limit). A first fee stored with
    more places than it is charged with (0.0140 charged 0.01) buys its first period with what
    it is charged, and the later periods follow from the fees as charged too. A negative amount
    (an account in debt) buys what nothing buys: a first period charged 0.00, as the engine
    admits such a call.
    """
    available = max(available, Decimal(0))
    if available < round_fee(rate.first_fee, precision):
        return 0
    if rate.fee <= 0:
        return None
    # Rounded half-up, an amount is at most `available` when it is below `limit`: what
    # `available` holds in whole quanta, plus half a quantum. Exact, in fractions.
    quantum = QUANTUM[precision]
    limit = Fraction(available.quantize(quantum, rounding=ROUND_FLOOR) + quantum / 2)
    periods = max(math.ceil((limit - Fraction(rate.first_fee)) / Fraction(rate.fee)) - 1, 0)
    return rate.first_period + periods * rate.period
