"""Payments (SPEC §8.1): the only way the balance changes, one ledger row each, in the
operation log; administrators only; a deduction never takes the balance below −credit_limit,
not even two at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Account, Payment
from billing.payments import PaymentAlreadyMade, PaymentRefused, make_payment
from tests.conftest import api_client_for
from tests.helpers import in_threads
from vosadmin.core.models import AuditLog


@pytest.fixture
def account(db) -> Account:
    return Account.objects.create(account="C1001", name="ACME", credit_limit=Decimal("10"))


def pay_url(account: Account) -> str:
    return f"/api/v1/accounts/{account.pk}/payments/"


def test_a_payment_moves_the_balance_and_writes_the_ledger_and_the_log(
    admin_api, admin_user, account
) -> None:
    response = admin_api.post(pay_url(account), {"amount": "100.50", "memo": "wire"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["amount"], body["balance_after"], body["memo"]) == ("100.5000", "100.5000", "wire")
    assert body["username"] == admin_user.username
    response = admin_api.post(pay_url(account), {"amount": "-0.5"}, format="json")
    assert response.json()["balance_after"] == "100.0000"
    account.refresh_from_db()
    assert account.balance == Decimal("100.0000")
    ledger = admin_api.get(pay_url(account)).json()
    assert [row["amount"] for row in ledger["results"]] == ["-0.5000", "100.5000"]  # newest first
    log = list(AuditLog.objects.order_by("id").values_list("action", "object_type", "changes"))
    assert log == [
        (
            "payment",
            "Account",
            {
                "balance": ["0.0000", "100.5000"],
                "amount": [None, "100.5000"],
                "memo": [None, "wire"],
            },
        ),
        (
            "deduction",
            "Account",
            {"balance": ["100.5000", "100.0000"], "amount": [None, "-0.5000"]},
        ),
    ]


def test_a_deduction_may_use_the_credit_limit_but_not_more(admin_api, account) -> None:
    assert admin_api.post(pay_url(account), {"amount": "-10"}, format="json").status_code == 201
    response = admin_api.post(pay_url(account), {"amount": "-0.0001"}, format="json")
    assert response.status_code == 400
    assert "below the credit limit" in response.json()["amount"][0]
    account.refresh_from_db()
    assert account.balance == Decimal("-10")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "amount", ["0", "abc", "1.00001", None, "", "NaN", "Infinity", "-Infinity", "1e30", "1e-30"]
)
def test_bad_amounts_are_400_naming_the_field(admin_api, account, amount) -> None:
    response = admin_api.post(pay_url(account), {"amount": amount}, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()
    assert not Payment.objects.exists() and not AuditLog.objects.exists()


def test_a_json_number_is_taken_as_its_decimal_text(admin_api, account) -> None:
    response = admin_api.post(pay_url(account), {"amount": 0.1}, format="json")
    assert response.json()["balance_after"] == "0.1000"
    account.refresh_from_db()
    assert account.balance == Decimal("0.1")


def test_a_memo_too_long_is_400(admin_api, account) -> None:
    response = admin_api.post(pay_url(account), {"amount": "1", "memo": "x" * 256}, format="json")
    assert response.status_code == 400 and "memo" in response.json()


def test_an_unknown_account_is_404(admin_api, db) -> None:
    assert admin_api.post("/api/v1/accounts/999999/payments/", {"amount": "1"}).status_code == 404


@pytest.mark.parametrize(
    ("who", "read", "pay"),
    [
        ("admin", 200, 201),
        ("operator", 200, 403),
        ("viewer", 200, 403),
        ("roleless", 403, 403),
        ("anonymous", 401, 401),
    ],
)
def test_only_administrators_pay(users, account, who, read, pay) -> None:
    client = api_client_for(users[who])
    assert client.get(pay_url(account)).status_code == read
    assert client.post(pay_url(account), {"amount": "5"}, format="json").status_code == pay
    account.refresh_from_db()
    assert account.balance == (Decimal(5) if pay == 201 else 0)


def test_operators_still_edit_accounts_but_not_their_balance(operator_api, account) -> None:
    detail = f"/api/v1/accounts/{account.pk}/"
    response = operator_api.patch(detail, {"locked": True, "balance": "99"}, format="json")
    assert response.status_code == 200
    account.refresh_from_db()
    assert account.locked and account.balance == 0


def test_make_payment_refuses_without_changing_anything(account) -> None:
    make_payment(account.pk, Decimal("5"), "", None)
    with pytest.raises(PaymentRefused):
        make_payment(account.pk, Decimal("-15.0001"), "", None)
    account.refresh_from_db()
    assert account.balance == Decimal(5)
    assert list(Payment.objects.values_list("balance_after", flat=True)) == [Decimal(5)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_deductions_never_overdraw() -> None:
    """Eight threads, each with its own connection, deduct 30 from 100 + 10 of credit at once:
    exactly three succeed, and the balance ends at 10, above −credit_limit."""
    account = Account.objects.create(account="C-RACE", credit_limit=Decimal("10"))
    make_payment(account.pk, Decimal("100"), "opening", None)

    def deduct() -> str:
        try:
            make_payment(account.pk, Decimal("-30"), "race", None)
            return "paid"
        except PaymentRefused:
            return "refused"

    outcomes = in_threads(deduct, 8)
    assert sorted(outcomes) == ["paid"] * 3 + ["refused"] * 5
    account.refresh_from_db()
    assert account.balance == Decimal("10")
    ledger = list(Payment.objects.filter(account=account).order_by("id"))
    assert [row.balance_after for row in ledger] == [Decimal(v) for v in (100, 70, 40, 10)]
    assert sum(row.amount for row in ledger) == account.balance


def test_an_out_of_range_json_number_is_400(admin_api, account) -> None:
    response = admin_api.post(
        pay_url(account), '{"amount": 1e400}', content_type="application/json"
    )
    assert response.status_code == 400 and "amount" in response.json()


def test_editing_an_account_read_before_a_payment_keeps_the_payment(account) -> None:
    stale = Account.objects.get(pk=account.pk)
    make_payment(account.pk, Decimal("7"), "", None)
    stale.name = "renamed"
    stale.save()
    account.refresh_from_db()
    assert (account.name, account.balance) == ("renamed", Decimal(7))


def test_an_api_edit_racing_a_payment_keeps_the_payment(operator_api, account) -> None:
    from unittest import mock

    from billing.api.serializers import AccountSerializer

    original = AccountSerializer.update

    def pay_meanwhile(self, instance, validated_data):
        make_payment(instance.pk, Decimal("3"), "meanwhile", None)
        return original(self, instance, validated_data)

    with mock.patch.object(AccountSerializer, "update", pay_meanwhile):
        response = operator_api.patch(
            f"/api/v1/accounts/{account.pk}/", {"memo": "x"}, format="json"
        )
    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.memo, account.balance) == ("x", Decimal(3))


def test_an_idempotency_key_makes_a_retried_payment_a_replay(admin_api, account) -> None:
    """A script that retries a payment (its answer was lost) with the same Idempotency-Key
    gets the first payment's answer back; the balance moves once."""
    headers = {"HTTP_IDEMPOTENCY_KEY": "wire-2026-12-04-0001"}
    first = admin_api.post(
        pay_url(account), {"amount": "25", "memo": "wire"}, format="json", **headers
    )
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = admin_api.post(
        pay_url(account), {"amount": "25", "memo": "wire"}, format="json", **headers
    )
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    account.refresh_from_db()
    assert account.balance == Decimal(25)
    assert Payment.objects.count() == 1 and AuditLog.objects.count() == 1
    other = admin_api.post(pay_url(account), {"amount": "25", "memo": "wire"}, format="json")
    assert other.status_code == 201  # no key: a new payment
    account.refresh_from_db()
    assert account.balance == Decimal(50)


@pytest.mark.parametrize(
    "body", [{"amount": "26", "memo": "wire"}, {"amount": "25", "memo": "cheque"}]
)
def test_an_idempotency_key_reused_for_another_payment_is_422(admin_api, account, body) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    admin_api.post(pay_url(account), {"amount": "25", "memo": "wire"}, format="json", **headers)
    response = admin_api.post(pay_url(account), body, format="json", **headers)
    assert response.status_code == 422
    assert "already used" in response.json()["detail"]
    account.refresh_from_db()
    assert account.balance == Decimal(25) and Payment.objects.count() == 1


def test_the_same_key_on_another_account_is_another_payment(admin_api, account) -> None:
    other = Account.objects.create(account="C1002")
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    for target in (account, other):
        response = admin_api.post(pay_url(target), {"amount": "5"}, format="json", **headers)
        assert response.status_code == 201
    assert Payment.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 65, "tab\there"])
def test_a_bad_idempotency_key_is_400(admin_api, account, key) -> None:
    response = admin_api.post(
        pay_url(account), {"amount": "5"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["detail"]
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_with_one_key_pay_once() -> None:
    """Eight threads send the same keyed payment at once: one pays, seven get it back."""
    account = Account.objects.create(account="C-KEY")

    def pay() -> str:
        try:
            make_payment(account.pk, Decimal("10"), "retry", None, key="once")
            return "paid"
        except PaymentAlreadyMade as made:
            return f"replayed {made.payment.amount}"

    outcomes = in_threads(pay, 8)
    assert sorted(outcomes) == ["paid"] + ["replayed 10.0000"] * 7
    account.refresh_from_db()
    assert account.balance == Decimal(10) and Payment.objects.count() == 1
