"""Payments: the only way the console and the API change an account's balance.

A payment (positive) or deduction (negative) locks the account's row (SELECT … FOR UPDATE),
checks that a deduction leaves the balance at or above −credit_limit, updates the balance and
writes the ledger row and the operation log, all in one transaction. Two concurrent
deductions therefore run one after the other, and the second sees the first's balance: they
can never overdraw the account together. Lock order: the account row only (charges of CDRs
will take the same lock, so nothing can deadlock on it).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from billing.models import MONEY_DIGITS, MONEY_PLACES, Account, Payment
from vosadmin.core.audit import actor_name, record_change
from vosadmin.core.notify import notify_config_change

MONEY_STEP = Decimal(1).scaleb(-MONEY_PLACES)
MONEY_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
MEMO_LENGTH = Payment._meta.get_field("memo").max_length


class PaymentRefused(Exception):
    """A payment that was not made; the message says why (shown to the user as is)."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(message)
        self.field = field


def parse_amount(value: Any) -> Decimal:
    """An amount of money typed by a user: a non-zero Decimal with at most 4 decimal places."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise PaymentRefused(f"Not an amount of money: “{value}”.") from None
    if not amount.is_finite():
        raise PaymentRefused(f"Not an amount of money: “{value}”.")
    if amount != amount.quantize(MONEY_STEP):
        raise PaymentRefused(f"At most {MONEY_PLACES} decimal places.")
    if amount == 0:
        raise PaymentRefused("The amount must not be zero.")
    if abs(amount) >= MONEY_LIMIT:
        raise PaymentRefused("The amount is too large.")
    return amount.quantize(MONEY_STEP)


def make_payment(account_id: int, amount: Any, memo: str, user: Any) -> Payment:
    """Add `amount` (negative: deduct) to an account's balance and write its ledger row.

    Raises PaymentRefused for a bad amount or a deduction below −credit_limit, and
    Account.DoesNotExist for an unknown account; nothing changes then.
    """
    amount = parse_amount(amount)
    if len(memo) > MEMO_LENGTH:
        raise PaymentRefused(f"The memo is longer than {MEMO_LENGTH} characters.", "memo")
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        before = account.balance
        after = before + amount
        if amount < 0 and after < -account.credit_limit:
            raise PaymentRefused(
                f"Refused: this deduction would take the balance to {after}, below the credit "
                f"limit (the balance may go down to {-account.credit_limit}). Available: "
                f"{account.available}."
            )
        if abs(after) >= MONEY_LIMIT:
            raise PaymentRefused("The balance would be too large.")
        Account.objects.filter(pk=account.pk).update(balance=after)
        notify_config_change("account", "update", account.pk)  # the engines' balance (ADR 0006)
        payment = Payment.objects.create(
            account=account,
            amount=amount,
            balance_after=after,
            user=user if getattr(user, "is_authenticated", False) else None,
            username=actor_name(user)[:150],
            memo=memo,
        )
        changes = {"balance": [str(before), str(after)], "amount": [None, str(amount)]}
        if memo:
            changes["memo"] = [None, memo]
        action = "payment" if amount > 0 else "deduction"
        record_change(user, action, "Account", account.pk, str(account), changes)
    account.balance = after
    return payment
