"""Customers (accounts): GetCustomer, GetAllCustomers, CreateCustomer, ModifyCustomer.

Creating and changing go through the console's account form (the same validation) and the
operation log; an opening balance (`money` of CreateCustomer) is a payment like any other.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.filtersets import AccountFilterSet
from billing.forms import AccountForm
from billing.models import Account, RateGroup
from billing.payments import PaymentRefused, make_payment
from vosadmin.core.audit import diff, record_model_change, snapshot
from vosadmin.external.calls.cdr import cdr_totals
from vosadmin.external.calls.payments import refused_payment
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import (
    NOT_FOUND,
    REFUSED,
    CallError,
    bad_field,
    day_start,
    filtered,
    integer,
    money,
    success,
    text,
    text_list,
)

# The account form's field for each VOS3000 field, and back (to name a field in an error).
FORM_FIELDS = {
    "account": "account",
    "name": "name",
    "limitMoney": "credit_limit",
    "feeRateGroup": "rate_group",
    "type": "type",
    "lockType": "locked",
    "memo": "memo",
}
VOS_NAMES = {form: vos for vos, form in FORM_FIELDS.items()}
NEW_ACCOUNT = {"type": 0, "credit_limit": 0}  # the model's defaults, which the form requires


def info_customer(account: Account, consumption: dict[int, Decimal]) -> dict[str, Any]:
    return {
        "account": account.account,
        "name": account.name,
        "money": account.balance,
        "limitMoney": account.credit_limit,
        "feeRateGroup": account.rate_group.name if account.rate_group else "",
        "type": account.type,
        "lockType": int(account.locked),
        "todayConsumption": consumption.get(account.pk, Decimal(0)),
        "memo": account.memo,
    }


def today_consumption(accounts: list[Account]) -> dict[int, Decimal]:
    """The fees charged to each account since midnight (console time zone)."""
    start = day_start(timezone.localdate())
    totals = cdr_totals("account", accounts, start, start + timedelta(days=1), total=Sum("fee"))
    return {account: row["total"] or Decimal(0) for account, row in totals.items()}


def listed_accounts(values: dict[str, Any], vos_names: dict[str, str]) -> list[Account]:
    """The accounts the Accounts page's FilterSet selects with `values`, by code."""
    queryset = Account.objects.select_related("rate_group").order_by("account")
    return list(filtered(AccountFilterSet, values, queryset, vos_names).qs)


@web_call("GetCustomer")
def get_customer(context: CallContext) -> dict[str, Any]:
    """The accounts named by `accounts` (every account when absent)."""
    codes = text_list(context.body, "accounts")
    accounts = listed_accounts({"account": codes}, {"account": "accounts"})
    consumption = today_consumption(accounts)
    return success(infoCustomers=[info_customer(account, consumption) for account in accounts])


@web_call("GetAllCustomers")
def get_all_customers(context: CallContext) -> dict[str, Any]:
    """Every account (of `type` when given), by code and as briefs with the money."""
    kind = integer(context.body, "type")
    accounts = listed_accounts({"type": None if kind is None else str(kind)}, {})
    briefs = [
        {
            "account": account.account,
            "money": account.balance,
            "limitMoney": account.credit_limit,
        }
        for account in accounts
    ]
    return success(accounts=[account.account for account in accounts], infoCustomerBriefs=briefs)


def form_data(body: dict[str, Any], account: Account | None) -> dict[str, Any]:
    """The account form's data: the request's fields over the account's current values."""
    return {**(NEW_ACCOUNT if account is None else current_values(account)), **given_values(body)}


def current_values(account: Account) -> dict[str, Any]:
    """An existing account as the account form's data."""
    return {
        "account": account.account,
        "name": account.name,
        "credit_limit": account.credit_limit,
        "rate_group": account.rate_group_id or "",
        "type": account.type,
        "locked": "on" if account.locked else "",
        "memo": account.memo,
    }


def given_values(body: dict[str, Any]) -> dict[str, Any]:
    """The fields a Create/ModifyCustomer request gives, as the account form's data."""
    given: dict[str, Any] = {}
    for field in ("name", "memo"):
        if body.get(field) is not None:
            given[field] = text(body, field)
    if (limit := money(body, "limitMoney")) is not None:
        given["credit_limit"] = limit
    if (kind := integer(body, "type")) is not None:
        given["type"] = kind
    if (lock := integer(body, "lockType")) is not None:
        if lock not in (0, 1):
            raise bad_field("lockType", "must be 0 (unlocked) or 1 (locked)")
        given["locked"] = "on" if lock else ""
    if body.get("feeRateGroup") is not None:  # null: not given, as for every field
        given["rate_group"] = rate_group_id(text(body, "feeRateGroup"))
    return given


def rate_group_id(name: str) -> int | str:
    """The id of the rate group called `name` ("" for none)."""
    if not name:
        return ""
    group = RateGroup.objects.filter(name=name).values_list("pk", flat=True).first()
    if group is None:
        raise CallError(NOT_FOUND, f"feeRateGroup: no rate group named {name}")
    return group


def saved_account(form: AccountForm) -> Account:
    """The form's account once valid; the first invalid field raises, by its VOS3000 name."""
    if not form.is_valid():
        field, messages = next(iter(form.errors.items()))
        if field == "account" and Account.objects.filter(account=form.data.get("account")).exists():
            raise CallError(REFUSED, f"account: {' '.join(messages)}")
        raise bad_field(VOS_NAMES.get(field, field), " ".join(messages))
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError:  # the same code created meanwhile, by a request racing this one
        raise CallError(REFUSED, f"account: {form.data.get('account')} exists already") from None


@web_call("CreateCustomer", writes=True)
def create_customer(context: CallContext) -> dict[str, Any]:
    """A new account; `money` is its opening balance (a payment in the ledger)."""
    body = context.body
    code = text(body, "account", required=True, max_length=32)
    opening = money(body, "money")
    with transaction.atomic():
        form = AccountForm(data={**form_data(body, None), "account": code})
        account = saved_account(form)
        changes = {key: [None, value] for key, value in snapshot(account).items()}
        record_model_change(context.actor, "create", account, changes)
        if opening:
            try:
                make_payment(account.pk, opening, "opening balance", context.actor)
            except PaymentRefused as error:
                raise refused_payment(error) from None
    return success()


@web_call("ModifyCustomer", writes=True)
def modify_customer(context: CallContext) -> dict[str, Any]:
    """Change the given fields of the account `account` (the others keep their values)."""
    body = context.body
    code = text(body, "account", required=True, max_length=32)
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(account=code).first()
        if account is None:
            raise CallError(NOT_FOUND, f"account: no account {code}")
        before = snapshot(account)
        account = saved_account(AccountForm(data=form_data(body, account), instance=account))
        record_model_change(context.actor, "update", account, diff(before, snapshot(account)))
    return success()
