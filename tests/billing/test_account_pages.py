"""*Account management* pages (SPEC §8.5): rate groups and rates (test a number, CSV import and
export), accounts (balance shown, never edited; Pay with confirmation, administrators only),
the payment history; roles as on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.models import Account, Payment, Rate, RateGroup
from billing.payments import make_payment
from tests.crud import PageCrudTests
from vosadmin.core.models import AuditLog


class TestRateGroupPages(PageCrudTests):
    model = RateGroup
    list_url = "/rate-groups/"
    form_data = {"name": "Retail", "memo": "customers"}

    def make(self) -> RateGroup:
        return RateGroup.objects.create(name="Wholesale")


class TestRatePages(PageCrudTests):
    model = Rate
    list_url = "/rates/"
    form_data = {
        "prefix": "8613",
        "area_name": "China mobile",
        "first_period": "30",
        "first_fee": "0.05",
        "period": "6",
        "fee": "0.0123",
        "effective_from": "2026-01-01 00:00:00",
        "effective_to": "",
        "memo": "",
    }

    @pytest.fixture(autouse=True)
    def group(self, db) -> None:
        self.rate_group = RateGroup.objects.create(name="Retail")
        self.form_data = {**type(self).form_data, "rate_group": self.rate_group.pk}

    def make(self) -> Rate:
        return Rate.objects.create(rate_group=self.rate_group, prefix="44", fee=Decimal("0.1"))


class TestAccountPages(PageCrudTests):
    model = Account
    list_url = "/accounts/"
    form_data = {"account": "C1001", "name": "ACME", "type": "0", "credit_limit": "25"}

    def make(self) -> Account:
        return Account.objects.create(account="C0001", name="Globex")


@pytest.fixture
def account(db) -> Account:
    return Account.objects.create(account="C1001", name="ACME", credit_limit=Decimal("10"))


def test_the_account_form_has_no_balance_and_a_fixed_code(admin_client, account) -> None:
    make_payment(account.pk, "5", "", None)
    form = admin_client.get(f"/accounts/{account.pk}/edit/").context["form"]
    assert "balance" not in form.fields
    assert form.fields["account"].disabled
    data = {"account": "HIJACK", "name": "x", "type": "0", "credit_limit": "1", "balance": "999"}
    assert admin_client.post(f"/accounts/{account.pk}/edit/", data).status_code == 302
    account.refresh_from_db()
    assert (account.account, account.balance) == ("C1001", Decimal(5))


def test_accounts_show_the_balance_and_only_administrators_get_pay(client, users, account) -> None:
    make_payment(account.pk, "12.5", "", None)
    client.force_login(users["admin"])
    page = client.get("/accounts/").content.decode()
    assert "12.5000" in page and f"/accounts/{account.pk}/pay/" in page
    client.force_login(users["operator"])
    assert f"/accounts/{account.pk}/pay/" not in client.get("/accounts/").content.decode()


def test_pay_asks_for_confirmation_then_pays(admin_client, account) -> None:
    url = f"/accounts/{account.pk}/pay/"
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"amount": "100", "memo": "wire 42"})
    assert response.status_code == 200 and response.context["confirming"]
    assert "goes from 0.0000 to <strong>100.0000</strong>" in response.content.decode()
    assert not Payment.objects.exists()
    response = admin_client.post(url, {"amount": "100", "memo": "wire 42", "confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"/payments/?account={account.pk}"
    account.refresh_from_db()
    assert account.balance == Decimal(100)
    assert Payment.objects.get().memo == "wire 42"
    assert AuditLog.objects.get().action == "payment"
    history = admin_client.get(response["Location"])
    assert [row.record.amount for row in history.context["table"].page.object_list] == [
        Decimal(100)
    ]


def test_a_deduction_past_the_credit_limit_is_refused_on_the_page(admin_client, account) -> None:
    url = f"/accounts/{account.pk}/pay/"
    response = admin_client.post(url, {"amount": "-10.01", "confirm": "1"})
    assert response.status_code == 400
    assert "below the credit limit" in response.content.decode()
    account.refresh_from_db()
    assert account.balance == 0 and not Payment.objects.exists()


@pytest.mark.parametrize("amount", ["0", "abc", "1.00001", ""])
def test_bad_amounts_are_form_errors(admin_client, account, amount) -> None:
    response = admin_client.post(f"/accounts/{account.pk}/pay/", {"amount": amount, "confirm": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["amount"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("operator", 403), ("viewer", 403), ("roleless", 403), ("anonymous", 302)]
)
def test_only_administrators_open_or_post_the_pay_page(client, users, account, who, status) -> None:
    if users[who]:
        client.force_login(users[who])
    url = f"/accounts/{account.pk}/pay/"
    assert client.get(url).status_code == status
    assert client.post(url, {"amount": "5", "confirm": "1"}).status_code == status
    assert not Payment.objects.exists()


def test_the_payment_history_filters_by_account(client, viewer_user, account) -> None:
    other = Account.objects.create(account="C2")
    make_payment(account.pk, "1", "", None)
    make_payment(other.pk, "2", "", None)
    client.force_login(viewer_user)
    response = client.get("/payments/", {"account": other.pk})
    assert response.status_code == 200
    assert [row.record.account_id for row in response.context["table"].page.object_list] == [
        other.pk
    ]


def test_an_account_with_payments_is_not_deleted(admin_client, account) -> None:
    make_payment(account.pk, "1", "", None)
    response = admin_client.post(f"/accounts/{account.pk}/delete/", follow=True)
    assert "is still used by payments" in response.content.decode()
    assert Account.objects.filter(pk=account.pk).exists()
    assert [entry.action for entry in AuditLog.objects.all()] == ["payment"]


@pytest.fixture
def retail(db) -> RateGroup:
    group = RateGroup.objects.create(name="Retail")
    now = timezone.now()
    Rate.objects.create(
        rate_group=group,
        prefix="",
        period=60,
        fee=Decimal("0.6"),
        effective_from=now - timedelta(days=9),
    )
    Rate.objects.create(
        rate_group=group,
        prefix="44",
        area_name="UK",
        period=60,
        fee=Decimal("0.02"),
        effective_from=now - timedelta(days=9),
    )
    Rate.objects.create(
        rate_group=group,
        prefix="44",
        period=60,
        fee=Decimal("9"),
        effective_from=now + timedelta(days=1),
    )
    return group


def test_test_a_number_shows_the_rate_in_force_now_and_the_cost(
    client, viewer_user, retail
) -> None:
    client.force_login(viewer_user)
    response = client.get("/rates/", {"rate_group": retail.pk, "number": "442071", "seconds": "61"})
    assert response.status_code == 200
    result = response.context["test_result"]
    assert (result["rate"].prefix, result["rate"].fee) == ("44", Decimal("0.02"))  # not tomorrow's
    assert (result["charge"].fee, result["charge"].fee_time) == (Decimal("0.04"), 120)
    response = client.get("/rates/", {"rate_group": retail.pk, "number": "33", "seconds": "61"})
    assert response.context["test_result"]["charge"].fee == Decimal("1.20")  # SPEC's example
    assert "1.20" in response.content.decode()


def test_test_a_number_uses_the_fee_precision_parameter(client, viewer_user, retail) -> None:
    from vosadmin.core.parameters.resolver import update_parameter

    update_parameter("SERVER_BILLING_FEE_PRECISTION", 0)
    client.force_login(viewer_user)
    response = client.get("/rates/", {"rate_group": retail.pk, "number": "33", "seconds": "61"})
    assert str(response.context["test_result"]["charge"].fee) == "1"


def test_test_a_number_without_a_rate_says_so(client, viewer_user, db) -> None:
    group = RateGroup.objects.create(name="Empty")
    client.force_login(viewer_user)
    response = client.get("/rates/", {"rate_group": group.pk, "number": "44", "seconds": "5"})
    assert "No rate of this group applies" in response.content.decode()
    bad = client.get("/rates/", {"rate_group": group.pk, "number": "4x", "seconds": "-1"})
    assert bad.status_code == 200 and bad.context["test_form"].errors.keys() == {
        "number",
        "seconds",
    }


def test_rates_import_and_export_pages(client, operator_user, retail) -> None:
    client.force_login(operator_user)
    good = b"prefix,period,fee,effective_from\n49,60,0.1,2026-01-01\n4930,60,0.2,2026-01-01\n"
    response = client.post(
        "/rates/import/",
        {"rate_group": retail.pk, "file": SimpleUploadedFile("r.csv", good)},
        follow=True,
    )
    assert "2 rates imported." in response.content.decode()
    bad = b"prefix,period,fee\n49x,60,0.1\n"
    response = client.post(
        "/rates/import/", {"rate_group": retail.pk, "file": SimpleUploadedFile("r.csv", bad)}
    )
    assert response.status_code == 400
    assert response.context["rejected"].errors[0].line == 2
    assert Rate.objects.filter(rate_group=retail).count() == 5
    export = client.get("/rates/export/", {"rate_group": retail.pk})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) == 6 and lines[0].startswith("prefix,area_name,")
    assert client.get("/rates/export/").status_code == 400


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("roleless", 403)])
def test_only_operators_import_rates(client, users, retail, who, status) -> None:
    client.force_login(users[who])
    assert client.get("/rates/import/").status_code == status


def test_navigation_has_account_management(client, viewer_user) -> None:
    client.force_login(viewer_user)
    menu = client.get("/").context["menu"]
    labels = {group["label"]: [item["label"] for item in group["items"]] for group in menu}
    assert labels["Account management"] == ["Accounts", "Payments", "Rate groups", "Rates"]


def test_pages_have_no_inline_script(admin_client, account, retail) -> None:
    for url in (
        "/accounts/",
        f"/accounts/{account.pk}/pay/",
        f"/rates/?rate_group={retail.pk}&number=44&seconds=3",
        "/rate-groups/",
        "/payments/",
        "/rates/import/",
    ):
        html = admin_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\son[a-z]+=", html), url


def test_list_pages_cost_a_fixed_number_of_queries(
    admin_client, retail, django_assert_max_num_queries
) -> None:
    for n in range(30):
        account = Account.objects.create(account=f"C{n:03d}", rate_group=retail)
        make_payment(account.pk, "1", "", None)
    for url in ("/accounts/", "/payments/", f"/rates/?rate_group={retail.pk}", "/rate-groups/"):
        with django_assert_max_num_queries(12):
            assert admin_client.get(url).status_code == 200


def test_a_confirmation_sent_twice_pays_once(admin_client, account) -> None:
    """A double click on Confirm, or the browser sending the form again, must not pay twice:
    the confirmation carries a one-time key, and its second use only shows the payment."""
    url = f"/accounts/{account.pk}/pay/"
    confirming = admin_client.post(url, {"amount": "100", "memo": "wire 42"})
    key = confirming.context["key"]
    assert f'name="key" value="{key}"' in confirming.content.decode()
    confirm = {"amount": "100", "memo": "wire 42", "confirm": "1", "key": key}
    assert admin_client.post(url, confirm).status_code == 302
    again = admin_client.post(url, confirm, follow=True)
    assert again.status_code == 200
    assert "already made" in again.content.decode()
    account.refresh_from_db()
    assert account.balance == Decimal(100)
    assert Payment.objects.count() == 1 and AuditLog.objects.count() == 1
    second = admin_client.post(url, {"amount": "100", "memo": "wire 42"}).context["key"]
    assert second != key  # a new confirmation is a new payment
    admin_client.post(url, {**confirm, "key": second})
    account.refresh_from_db()
    assert account.balance == Decimal(200)


def test_a_confirmation_key_reused_for_another_amount_is_refused(admin_client, account) -> None:
    url = f"/accounts/{account.pk}/pay/"
    key = admin_client.post(url, {"amount": "100"}).context["key"]
    admin_client.post(url, {"amount": "100", "confirm": "1", "key": key})
    response = admin_client.post(url, {"amount": "-50", "confirm": "1", "key": key})
    assert response.status_code == 400
    assert "already used" in response.content.decode()
    account.refresh_from_db()
    assert account.balance == Decimal(100) and Payment.objects.count() == 1
