"""Pay and GetPayHistory: the account ledger, through the console's payment function."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from billing.filtersets import PaymentFilterSet
from billing.models import Account, Payment
from billing.payments import PaymentRefused, make_payment
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import (
    BAD_FIELD,
    NOT_FOUND,
    REFUSED,
    CallError,
    bad_field,
    filtered,
    integer,
    later,
    milliseconds,
    moment,
    money,
    success,
    text,
)

OWNER_ACCOUNT = 2  # VOS3000's ownerType of an account (customer)
PAY_TYPE, DEDUCTION_TYPE = 0, 1  # `type` of a payment history entry


def account_named(code: str, field: str) -> Account:
    account = Account.objects.filter(account=code).first()
    if account is None:
        raise CallError(NOT_FOUND, f"{field}: no account {code}")
    return account


def refused_payment(error: PaymentRefused) -> CallError:
    """A payment `make_payment` refused, as the Web API answers it: −5 for a refusal (the
    balance does not allow it), −3 naming the field for a bad value."""
    field = "money" if error.field == "amount" else error.field
    refused = str(error).startswith("Refused")
    return CallError(REFUSED if refused else BAD_FIELD, f"{field}: {error}")


@web_call("Pay", writes=True)
def pay(context: CallContext) -> dict[str, Any]:
    """Add `money` to the account `ownerName` (negative: deduct); a ledger row as in the console."""
    body = context.body
    code = text(body, "ownerName", required=True, max_length=32)
    owner_type = integer(body, "ownerType", default=OWNER_ACCOUNT)
    if owner_type != OWNER_ACCOUNT:
        raise bad_field("ownerType", "only 2 (account) is supported")
    amount = money(body, "money", required=True)
    memo = text(body, "memo")
    account = account_named(code, "ownerName")
    try:
        payment = make_payment(account.pk, amount, memo, context.actor)
    except PaymentRefused as error:
        raise refused_payment(error) from None
    except Account.DoesNotExist:
        raise CallError(NOT_FOUND, f"ownerName: no account {code}") from None
    return success(
        infoPay={
            "account": account.account,
            "money": payment.balance_after,
            "payMoney": payment.amount,
        }
    )


@web_call("GetPayHistory")
def get_pay_history(context: CallContext) -> dict[str, Any]:
    """The ledger of `account` between beginTime and endTime (yyyyMMddHHmmss, console time)."""
    body = context.body
    account = account_named(text(body, "account", required=True, max_length=32), "account")
    values = {"account": str(account.pk)}
    if begin := moment(body, "beginTime"):
        values["after"] = begin.isoformat()
    end = moment(body, "endTime")
    if end and (after_end := later(end, timedelta(seconds=1))):  # endTime is inclusive
        values["before"] = after_end.isoformat()
    if begin and end and end < begin:
        raise bad_field("endTime", "must not be before beginTime")
    queryset = Payment.objects.order_by("created", "id")
    names = {"after": "beginTime", "before": "endTime"}
    filterset = filtered(PaymentFilterSet, values, queryset, names)
    return success(
        infoPayHistorys=[
            {
                "account": account.account,
                "fee": payment.amount,
                "type": PAY_TYPE if payment.amount > 0 else DEDUCTION_TYPE,
                "customerMoney": payment.balance_after,
                "payTime": milliseconds(payment.created),
                "memo": payment.memo,
            }
            for payment in filterset.qs
        ]
    )
