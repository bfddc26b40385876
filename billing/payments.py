"""Payments: the only way the console and the API change an account's balance.

A payment (positive) or deduction (negative) locks the account's row (SELECT … FOR UPDATE),
checks that a deduction leaves the balance at or above −credit_limit, updates the balance and
writes the ledger row and the operation log, all in one transaction. Two concurrent
deductions therefore run one after the other, and the second sees the first's balance: they
can never overdraw the account together. Lock order: the account row only (charges of CDRs
will take the same lock, so nothing can deadlock on it).

A payment may carry a key (the console's confirmation, an API call's Idempotency-Key): a
payment sent twice with one key — a double click, a script retrying after a lost answer — is
made once. The key is checked under the same lock, so even two at once pay once.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from billing.models import MONEY_DIGITS, MONEY_PLACES, Account, Payment
from vosadmin.core.audit import actor_name, record_change
from vosadmin.core.notify import notify_config_change

MONEY_STEP = Decimal(1).scaleb(-MONEY_PLACES)
MONEY_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
MEMO_LENGTH = Payment._meta.get_field("memo").max_length
KEY_LENGTH = Payment._meta.get_field("key").max_length
KEY_FORMAT = re.compile(rf"[!-~]{{1,{KEY_LENGTH}}}")  # visible ASCII, as HTTP header values


class PaymentRefused(Exception):
    """A payment that was not made; the message says why (shown to the user as is)."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(message)
        self.field = field


class KeyReused(PaymentRefused):
    """A key already used for another payment (another amount or memo) of the account."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(
            f"This key was already used for a payment of {payment.amount} at "
            f"{payment.created.isoformat(timespec='seconds')}; send a new key.",
            "key",
        )


class PaymentAlreadyMade(Exception):
    """The payment of this key was made before (`payment`): it is not made again."""

    def __init__(self, payment: Payment) -> None:
        super().__init__(f"Payment {payment.pk} was already made with this key.")
        self.payment = payment


def parse_key(value: str) -> str:
    """A payment's key: 1 to 64 visible ASCII characters."""
    if not KEY_FORMAT.fullmatch(value):
        raise PaymentRefused(
            f"A payment key is 1 to {KEY_LENGTH} visible ASCII characters, without spaces.", "key"
        )
    return value


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


def make_payment(
    account_id: int, amount: Any, memo: str, user: Any, key: str | None = None
) -> Payment:
    """Add `amount` (negative: deduct) to an account's balance and write its ledger row.

    Raises PaymentRefused for a bad amount, key or a deduction below −credit_limit (KeyReused
    for a key of another payment), PaymentAlreadyMade for a key already paid with, and
    Account.DoesNotExist for an unknown account; nothing changes then.
    """
    amount = parse_amount(amount)
    if len(memo) > MEMO_LENGTH:
        raise PaymentRefused(f"The memo is longer than {MEMO_LENGTH} characters.", "memo")
    if key is not None:
        key = parse_key(key)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if key is not None:
            refuse_a_second_use(account, key, amount, memo)
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
            key=key,
        )
        changes = {"balance": [str(before), str(after)], "amount": [None, str(amount)]}
        if memo:
            changes["memo"] = [None, memo]
        action = "payment" if amount > 0 else "deduction"
        record_change(user, action, "Account", account.pk, str(account), changes)
    account.balance = after
    return payment


def refuse_a_second_use(account: Account, key: str, amount: Decimal, memo: str) -> None:
    """Raise if the account has a payment of `key` already (with the account's row locked)."""
    earlier = Payment.objects.filter(account=account, key=key).first()
    if earlier is None:
        return
    if (earlier.amount, earlier.memo) != (amount, memo):
        raise KeyReused(earlier)
    raise PaymentAlreadyMade(earlier)
