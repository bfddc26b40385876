"""Account management API (SPEC §8.1): CRUD and roles of rate groups, rates and accounts;
money as strings with 4 decimal places; the balance is read only; the account code is fixed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Account, Payment, Rate, RateGroup
from tests.conftest import api_client_for
from tests.crud import ApiCrudTests
from vosadmin.core.models import AuditLog


class TestRateGroupApi(ApiCrudTests):
    model = RateGroup
    api_url = "/api/v1/rate-groups/"
    create_data = {"name": "Retail", "memo": "customers"}
    update_data = {"name": "Retail 2026"}
    bad_data = [({"name": ""}, "name"), ({"name": "x" * 65}, "name")]

    def make(self) -> RateGroup:
        return RateGroup.objects.create(name="Wholesale")


class TestRateApi(ApiCrudTests):
    model = Rate
    api_url = "/api/v1/rates/"
    create_data = {
        "prefix": "8613",
        "area_name": "China mobile",
        "first_period": 30,
        "first_fee": "0.0500",
        "period": 6,
        "fee": "0.0123",
        "effective_from": "2026-01-01T00:00:00Z",
        "effective_to": None,
        "memo": "",
    }
    update_data = {"fee": "0.0100", "effective_to": "2027-01-01T00:00:00Z"}
    bad_data = [
        ({"prefix": "86a"}, "prefix"),
        ({"period": 0}, "period"),
        ({"first_period": -1}, "first_period"),
        ({"fee": "-0.01"}, "fee"),
        ({"fee": "0.00001"}, "fee"),
        ({"first_fee": "abc"}, "first_fee"),
        ({"effective_to": "2025-12-31T00:00:00Z"}, "effective_to"),
        ({"rate_group": None}, "rate_group"),
    ]

    @pytest.fixture(autouse=True)
    def group(self, db) -> None:
        self.rate_group = RateGroup.objects.create(name="Retail")
        self.create_data = {**type(self).create_data, "rate_group": self.rate_group.pk}

    def make(self) -> Rate:
        return Rate.objects.create(rate_group=self.rate_group, prefix="44", fee=Decimal("0.1"))


class TestAccountApi(ApiCrudTests):
    model = Account
    api_url = "/api/v1/accounts/"
    create_data = {
        "account": "C1001",
        "name": "ACME Telecom",
        "type": 0,
        "credit_limit": "50.0000",
        "rate_group": None,
        "locked": False,
        "memo": "",
    }
    update_data = {"name": "ACME Telecom Ltd", "locked": True, "type": 2}
    bad_data = [
        ({"account": ""}, "account"),
        ({"credit_limit": "-1"}, "credit_limit"),
        ({"credit_limit": "1.00001"}, "credit_limit"),
        ({"type": 1}, "type"),
        ({"rate_group": 999999}, "rate_group"),
    ]

    def make(self) -> Account:
        return Account.objects.create(account="C0001", name="Globex")


def test_a_new_account_starts_at_zero_and_its_balance_cannot_be_written(admin_api, db) -> None:
    response = admin_api.post(
        "/api/v1/accounts/", {"account": "C7", "balance": "1000"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["balance"] == "0.0000"
    detail = f"/api/v1/accounts/{response.json()['id']}/"
    response = admin_api.patch(detail, {"balance": "5000", "memo": "x"}, format="json")
    assert response.status_code == 200
    assert response.json()["balance"] == "0.0000"
    assert Account.objects.get().balance == 0


def test_the_account_code_cannot_be_changed(admin_api, db) -> None:
    account = Account.objects.create(account="C1")
    response = admin_api.patch(f"/api/v1/accounts/{account.pk}/", {"account": "C2"}, format="json")
    assert response.status_code == 400
    assert "account" in response.json()
    assert (
        admin_api.patch(
            f"/api/v1/accounts/{account.pk}/", {"account": "C1"}, format="json"
        ).status_code
        == 200
    )


def test_account_codes_are_unique(admin_api, db) -> None:
    Account.objects.create(account="C1")
    response = admin_api.post("/api/v1/accounts/", {"account": "C1"}, format="json")
    assert response.status_code == 400 and "account" in response.json()


def test_an_account_with_payments_cannot_be_deleted(admin_api, db) -> None:
    from billing.payments import make_payment

    account = Account.objects.create(account="C1")
    make_payment(account.pk, "10", "", None)
    response = admin_api.delete(f"/api/v1/accounts/{account.pk}/")
    assert response.status_code == 409, response.json()
    assert Account.objects.exists()


def test_a_rate_group_in_use_cannot_be_deleted(admin_api, db) -> None:
    group = RateGroup.objects.create(name="Retail")
    Account.objects.create(account="C1", rate_group=group)
    assert admin_api.delete(f"/api/v1/rate-groups/{group.pk}/").status_code == 409


def test_a_prefix_has_one_version_per_start_time(admin_api, db) -> None:
    group = RateGroup.objects.create(name="Retail")
    data = {"rate_group": group.pk, "prefix": "44", "period": 60, "fee": "0.1"}
    start = {"effective_from": "2026-01-01T00:00:00Z"}
    assert admin_api.post("/api/v1/rates/", {**data, **start}, format="json").status_code == 201
    response = admin_api.post("/api/v1/rates/", {**data, **start}, format="json")
    assert response.status_code == 400 and "effective_from" in response.json()
    later = {"effective_from": "2026-02-01T00:00:00Z"}
    assert admin_api.post("/api/v1/rates/", {**data, **later}, format="json").status_code == 201


def test_rates_filter_by_group_prefix_and_in_force_at(viewer_api, db) -> None:
    from datetime import UTC, datetime

    retail, other = RateGroup.objects.create(name="Retail"), RateGroup.objects.create(name="B")
    jan, jun = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    Rate.objects.create(rate_group=retail, prefix="44", fee=1, effective_from=jan, effective_to=jun)
    Rate.objects.create(rate_group=retail, prefix="4420", fee=1, effective_from=jun)
    Rate.objects.create(rate_group=other, prefix="44", fee=1, effective_from=jan)

    def prefixes(**params):
        response = viewer_api.get("/api/v1/rates/", {"rate_group": retail.pk, **params})
        assert response.status_code == 200, response.json()
        return sorted(rate["prefix"] for rate in response.json()["results"])

    assert prefixes() == ["44", "4420"]
    assert prefixes(prefix="442") == ["4420"]
    assert prefixes(in_force_at="2026-03-01T00:00:00Z") == ["44"]
    assert prefixes(in_force_at="2026-06-01T00:00:00Z") == ["4420"]
    bad = viewer_api.get("/api/v1/rates/", {"in_force_at": "tomorrow"})
    assert bad.status_code == 400 and "in_force_at" in bad.json()


def test_in_force_at_gives_the_one_version_the_switch_charges_by(viewer_api, db) -> None:
    """Of the versions of a prefix that have started and not ended, the latest-starting one."""
    from datetime import UTC, datetime

    retail = RateGroup.objects.create(name="Retail")
    for month, fee in ((1, "0.3"), (3, "0.2"), (9, "0.1")):
        start = datetime(2026, month, 1, tzinfo=UTC)
        Rate.objects.create(rate_group=retail, prefix="44", fee=Decimal(fee), effective_from=start)
    response = viewer_api.get(
        "/api/v1/rates/", {"rate_group": retail.pk, "in_force_at": "2026-06-01T00:00:00Z"}
    )
    assert [rate["fee"] for rate in response.json()["results"]] == ["0.2000"]


def test_money_is_sent_as_strings_never_floats(viewer_api, db) -> None:
    group = RateGroup.objects.create(name="Retail")
    Rate.objects.create(rate_group=group, prefix="1", fee=Decimal("0.1"))
    Account.objects.create(account="C1", credit_limit=Decimal("0.3"))
    rate = viewer_api.get("/api/v1/rates/").json()["results"][0]
    account = viewer_api.get("/api/v1/accounts/").json()["results"][0]
    assert (rate["fee"], rate["first_fee"]) == ("0.1000", "0.0000")
    assert (account["balance"], account["credit_limit"]) == ("0.0000", "0.3000")


def test_accounts_filter_by_type_and_search(viewer_api, db) -> None:
    Account.objects.create(account="C1", name="ACME")
    Account.objects.create(account="V1", name="Vendor", type=2)

    def codes(**params) -> list[str]:
        results = viewer_api.get("/api/v1/accounts/", params).json()["results"]
        return [account["account"] for account in results]

    assert codes(type=2) == ["V1"]
    assert codes(q="acme") == ["C1"]


def test_payments_ledger_is_read_only_for_everyone(users, db) -> None:
    account = Account.objects.create(account="C1")
    Payment.objects.create(account=account, amount=1, balance_after=1, username="x")
    for who in ("admin", "operator"):
        client = api_client_for(users[who])
        assert client.get("/api/v1/payments/").status_code == 200
        assert client.post("/api/v1/payments/", {}).status_code == 405
    assert not AuditLog.objects.exists()


def test_the_schema_lists_the_account_management_resources(viewer_api) -> None:
    response = viewer_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    paths = response.json()["paths"]
    for path in (
        "/api/v1/rate-groups/",
        "/api/v1/rates/",
        "/api/v1/rates/import/",
        "/api/v1/rates/export/",
        "/api/v1/accounts/",
        "/api/v1/accounts/{id}/payments/",
        "/api/v1/payments/",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/accounts/{id}/payments/"]) >= {"get", "post"}


def test_account_list_queries_do_not_grow_with_rows(
    viewer_api, django_assert_max_num_queries
) -> None:
    group = RateGroup.objects.create(name="Retail")
    for n in range(30):
        Account.objects.create(account=f"C{n:03d}", rate_group=group)
        Rate.objects.create(rate_group=group, prefix=str(n), fee=1)
    for url in ("/api/v1/accounts/", "/api/v1/rates/", "/api/v1/rate-groups/"):
        with django_assert_max_num_queries(6):
            assert viewer_api.get(url).status_code == 200
