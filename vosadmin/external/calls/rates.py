"""GetFeeRate and GetAvailableTime: the rates in force, and what an account's money buys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.choices import AccountTypeChoices
from billing.choices import CdrEndReasonChoices as EndReason
from billing.filtersets import RateFilterSet
from billing.models import Account, Rate, RateGroup
from billing.rating import RateTable, affordable_seconds
from softswitch.models import Phone
from softswitch.redis_keys import BILLING_RESERVED_KEY
from vosadmin.core.live import redis_client
from vosadmin.core.parameters import get_parameter
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import (
    NOT_FOUND,
    CallError,
    bad_field,
    filtered,
    success,
    text,
    text_list,
)

RESERVED_UNIT = Decimal("0.0001")  # BILLING_RESERVED_KEY holds integers of this unit (ADR 0006)


def info_fee_rate(rate: Rate) -> dict[str, Any]:
    return {
        "feePrefix": rate.prefix,
        "areaName": rate.area_name,
        "fee": rate.fee,
        "period": rate.period,
        "infoFeeRateSections": [],  # VOS3000's time-of-day sections: vosadmin has none
    }


@web_call("GetFeeRate")
def get_fee_rate(context: CallContext) -> dict[str, Any]:
    """The rates in force now of the groups `feeRateGroup`, for the prefixes `areaCodes`."""
    names = text_list(context.body, "feeRateGroup", required=True)
    groups = list(RateGroup.objects.filter(name__in=names))
    if missing := sorted(set(names) - {group.name for group in groups}):
        raise CallError(NOT_FOUND, f"feeRateGroup: no rate group named {missing[0]}")
    values = {
        "in_force_at": timezone.now().isoformat(),
        "prefix_exact": text_list(context.body, "areaCodes"),
    }
    queryset = Rate.objects.filter(rate_group__in=groups)
    rates = filtered(RateFilterSet, values, queryset, {"prefix_exact": "areaCodes"}).qs
    rates = rates.order_by("rate_group__name", "prefix", "-effective_from")
    return success(infoFeeRates=[info_fee_rate(rate) for rate in rates])


def paying_account(body: dict[str, Any]) -> tuple[Account | None, bool]:
    """The account named by `account`, or the account of the phone `e164`; and whether the
    calls are rated at all (a phone without an account is not, SPEC §8.3)."""
    if code := text(body, "account", max_length=32):
        account = Account.objects.filter(account=code).first()
        if account is None:
            raise CallError(NOT_FOUND, f"account: no account {code}")
        return account, True
    e164 = text(body, "e164", max_length=33)
    if not e164:
        raise bad_field("account", "required (or e164)")
    phone = Phone.objects.select_related("account").filter(e164=e164).first()
    if phone is None:
        raise CallError(NOT_FOUND, f"e164: no phone {e164}")
    return phone.account, phone.account is not None


def reserved_money(account: Account) -> Decimal:
    """What the account's calls in progress hold on every engine node (0 if Redis is away)."""
    try:
        units = redis_client().hget(BILLING_RESERVED_KEY, str(account.pk))
    except Exception:
        return Decimal(0)
    return Decimal(int(units or 0)) * RESERVED_UNIT


def time_remain(account: Account | None, callee: str, rated: bool = True) -> int:
    """Seconds the account's money buys for a call to `callee` now (SPEC §8.3), or the
    negative end reason that would refuse the call; in the engine's order of checks
    (softswitch/rules/charging.py: unrated and clearing calls are never refused)."""
    longest = get_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL")
    if not rated or (account is not None and account.type == AccountTypeChoices.CLEARING):
        return longest
    if account is None:
        return EndReason.ACCOUNT_MISSING
    if account.locked:
        return EndReason.ACCOUNT_LOCKED
    rate = None
    if account.rate_group_id is not None:
        rate = RateTable.for_group(account.rate_group_id).lookup(callee, timezone.now())
    if rate is None:
        return EndReason.NO_RATE
    precision = get_parameter("SERVER_BILLING_FEE_PRECISTION")
    seconds = affordable_seconds(account.available - reserved_money(account), rate, precision)
    if seconds == 0:
        return EndReason.INSUFFICIENT_BALANCE
    return longest if seconds is None else min(seconds, longest)


@web_call("GetAvailableTime")
def get_available_time(context: CallContext) -> dict[str, Any]:
    callee = text(context.body, "calleeE164", required=True, max_length=64)
    account, rated = paying_account(context.body)
    return success(timeRemain=int(time_remain(account, callee, rated)))
