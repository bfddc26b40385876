"""Money rules of a call (SPEC §8.2, §8.3): what a finished call is charged and costs, and
whether a new one may start and for how long. Pure functions over the cached configuration;
the Redis reservation itself is `softswitch.engine.money`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from billing.choices import CdrEndReasonChoices as EndReason
from billing.rating import RateTable, RateTerms, affordable_seconds, rate_call, round_fee
from softswitch.rules.cdr import CallRecord
from softswitch.rules.domain import BillingAccount

RateTables = Callable[[int | None], RateTable | None]  # account id → its group's rate table


@dataclass(frozen=True, slots=True)
class CallCharges:
    """The rating columns of a CDR."""

    account_id: int | None
    fee: Decimal
    fee_time: int
    fee_prefix: str = ""
    cost: Decimal = Decimal(0)
    cost_prefix: str = ""


def unrated(record: CallRecord, precision: int) -> CallCharges:
    """The charges of a call nobody pays for: fee 0, fee time the hold time rounded up."""
    zero = round_fee(Decimal(0), precision)
    return CallCharges(None, zero, math.ceil(record.hold_time_ms / 1000), cost=zero)


def rate_record(record: CallRecord, tables: RateTables, precision: int) -> CallCharges:
    """The fee (the origin's account, on the callee as the caller sent it) and the cost (the
    routing gateway's clearing account, on the number as sent to the vendor) of a call, with
    the rates in force at its start. Without an account or a rate, that side is 0."""
    seconds = -(-record.hold_time_ms // 1000)  # whole seconds, rounded up as rating does
    start = datetime.fromtimestamp(record.start_time, tz=UTC)
    base = unrated(record, precision)
    fee_rate = _lookup(tables, record.account_id, record.callee, start)
    cost_rate = _lookup(tables, record.clearing_account_id, record.dialled or record.callee, start)
    fee = rate_call(seconds, fee_rate, precision) if fee_rate else None
    cost = rate_call(seconds, cost_rate, precision) if cost_rate else None
    return CallCharges(
        account_id=record.account_id,
        fee=fee.fee if fee else base.fee,
        fee_time=fee.fee_time if fee else base.fee_time,
        fee_prefix=fee_rate.prefix if fee_rate else "",
        cost=cost.fee if cost else base.cost,
        cost_prefix=cost_rate.prefix if cost_rate else "",
    )


def _lookup(
    tables: RateTables, account_id: int | None, number: str, at: datetime
) -> RateTerms | None:
    table = tables(account_id) if account_id is not None else None
    return table.lookup(number, at) if table is not None else None


@dataclass(frozen=True, slots=True)
class MoneyCheck:
    """What admission needs to reserve for a rated call (amounts in money, Decimal).

    `minimum`: the fee of the shortest call (the first period); `wanted`: the fee of the
    longest call the switch allows, `longest` seconds (SS_SIP_NO_TIMER_REINVITE_INTERVAL at
    admission: a later change must not make the call outlast what it reserved), rated at
    `precision` places. `rate` prices the call; `refusal` is set when the call must be
    refused before any reservation.
    """

    rate: RateTerms | None = None
    minimum: Decimal = Decimal(0)
    wanted: Decimal = Decimal(0)
    longest: int = 0
    precision: int = 0
    refusal: int | None = None
    unlimited: bool = False  # clearing account: admitted, nothing reserved


def check_money(
    account: BillingAccount | None,
    table: RateTable | None,
    callee: str,
    at: datetime,
    longest: int,
    precision: int,
) -> MoneyCheck:
    """Admission of a call paid by `account` (SPEC §8.3), before its reservation: a missing or
    locked account and a callee without a rate refuse it; a clearing account is never refused."""
    if account is not None and account.is_clearing:
        return MoneyCheck(unlimited=True)
    if account is None:
        return MoneyCheck(refusal=EndReason.ACCOUNT_MISSING)
    if account.locked:
        return MoneyCheck(refusal=EndReason.ACCOUNT_LOCKED)
    rate = table.lookup(callee, at) if table is not None else None
    if rate is None:
        return MoneyCheck(refusal=EndReason.NO_RATE)
    minimum = rate_call(1, rate, precision).fee
    wanted = rate_call(longest, rate, precision).fee
    return MoneyCheck(rate, minimum, wanted, longest, precision)


def longest_call(granted: Decimal, rate: RateTerms, longest: int, precision: int) -> int:
    """The call's maximum duration in seconds: what `granted` money buys, at most `longest`."""
    affordable = affordable_seconds(granted, rate, precision)
    return longest if affordable is None else min(affordable, longest)
