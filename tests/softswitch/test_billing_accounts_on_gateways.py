"""Mapping gateways and phones name the account charged for their calls and their routing
policy; routing gateways name the vendor's clearing account (SPEC §8.1, §8.4)."""

from __future__ import annotations

import pytest

from billing.models import Account
from softswitch.models import MappingGateway, Phone, RoutingGateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer() -> Account:
    return Account.objects.create(account="C1", name="ACME")


@pytest.fixture
def vendor() -> Account:
    return Account.objects.create(account="V1", name="Carrier", type=2)


def test_a_mapping_gateway_gets_an_account_and_a_policy(operator_api, customer, vendor) -> None:
    data = {
        "name": "GW",
        "ips": ["192.0.2.10"],
        "account": customer.pk,
        "routing_policy": "least_cost",
    }
    response = operator_api.post("/api/v1/gateways/mapping/", data, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["account"], response.json()["routing_policy"]) == (
        customer.pk,
        "least_cost",
    )
    bad = operator_api.post(
        "/api/v1/gateways/mapping/", {**data, "name": "GW2", "account": vendor.pk}, format="json"
    )
    assert bad.status_code == 400 and "account" in bad.json()  # a vendor does not pay for calls
    bad = operator_api.post(
        "/api/v1/gateways/mapping/",
        {**data, "name": "GW3", "routing_policy": "cheapest"},
        format="json",
    )
    assert bad.status_code == 400 and "routing_policy" in bad.json()


def test_a_phone_defaults_to_unbilled_and_priority(operator_api) -> None:
    response = operator_api.post(
        "/api/v1/phones/", {"e164": "1001", "password": "pw-123456"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["account"], response.json()["routing_policy"]) == (None, "priority")


def test_a_routing_gateway_gets_a_clearing_account(operator_api, customer, vendor) -> None:
    data = {"name": "VENDOR", "host": "192.0.2.50", "clearing_account": vendor.pk}
    response = operator_api.post("/api/v1/gateways/routing/", data, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["clearing_account"] == vendor.pk
    bad = operator_api.post(
        "/api/v1/gateways/routing/",
        {**data, "name": "V2", "clearing_account": customer.pk},
        format="json",
    )
    assert bad.status_code == 400 and "clearing_account" in bad.json()


def test_pages_show_the_account_or_unbilled(admin_client, customer, vendor) -> None:
    MappingGateway.objects.create(name="GW-BILLED", ips=["192.0.2.1"], account=customer)
    MappingGateway.objects.create(name="GW-FREE", ips=["192.0.2.2"])
    Phone.objects.create(e164="1001", password="x")
    RoutingGateway.objects.create(name="VENDOR", host="192.0.2.50", clearing_account=vendor)
    page = admin_client.get("/mapping-gateways/").content.decode()
    assert "C1 (ACME)" in page and "unbilled" in page
    assert "unbilled" in admin_client.get("/phones/").content.decode()
    assert "V1 (Carrier)" in admin_client.get("/routing-gateways/").content.decode()
    form = admin_client.get("/mapping-gateways/add/").context["form"]
    assert list(form.fields["account"].queryset) == [customer]
    form = admin_client.get("/routing-gateways/add/").context["form"]
    assert list(form.fields["clearing_account"].queryset) == [vendor]


def test_an_account_in_use_by_a_gateway_is_not_deleted(admin_client, admin_api, customer) -> None:
    MappingGateway.objects.create(name="GW", ips=["192.0.2.1"], account=customer)
    assert admin_api.delete(f"/api/v1/accounts/{customer.pk}/").status_code == 409
    response = admin_client.post(f"/accounts/{customer.pk}/delete/", follow=True)
    assert "is still used by mapping gateways" in response.content.decode()
    assert Account.objects.filter(pk=customer.pk).exists()
