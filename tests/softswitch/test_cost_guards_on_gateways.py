"""A mapping gateway's cost guards (SPEC §8.4): max cost per minute (≥ 0), min margin (0–100 %)
and rate check, on the page and in the API; empty guards guard nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError

from softswitch.models import MappingGateway

pytestmark = pytest.mark.django_db

URL = "/api/v1/gateways/mapping/"
GATEWAY = {"name": "GW", "ips": ["192.0.2.10"]}


def test_the_api_sets_and_shows_the_guards(operator_api) -> None:
    data = {
        **GATEWAY,
        "routing_policy": "least_cost",
        "max_cost_per_minute": "0.0250",
        "min_margin_percent": "12.5",
        "rate_check": True,
    }
    response = operator_api.post(URL, data, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["max_cost_per_minute"], body["min_margin_percent"], body["rate_check"]) == (
        "0.0250",
        "12.50",
        True,
    )
    gateway = MappingGateway.objects.get(name="GW")
    assert gateway.max_cost_per_minute == Decimal("0.025")


def test_guards_default_to_none(operator_api) -> None:
    body = operator_api.post(URL, GATEWAY, format="json").json()
    assert (body["max_cost_per_minute"], body["min_margin_percent"], body["rate_check"]) == (
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_cost_per_minute", "-0.01"),
        ("max_cost_per_minute", "abc"),
        ("min_margin_percent", "-1"),
        ("min_margin_percent", "100.01"),
        ("min_margin_percent", "1000"),
    ],
)
def test_bad_guards_are_field_errors(operator_api, field, value) -> None:
    response = operator_api.post(URL, {**GATEWAY, field: value}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not MappingGateway.objects.exists()


@pytest.mark.parametrize("percent", ["0", "100"])
def test_margin_bounds_are_allowed(operator_api, percent) -> None:
    response = operator_api.post(URL, {**GATEWAY, "min_margin_percent": percent}, format="json")
    assert response.status_code == 201, response.json()


def test_the_page_edits_the_guards(admin_client) -> None:
    form = {
        "name": "GW",
        "ips": "192.0.2.10",
        "auth_mode": "ip",
        "capacity": "0",
        "routing_policy": "least_cost",
        "max_cost_per_minute": "0.03",
        "min_margin_percent": "101",
        "rate_check": "on",
    }
    response = admin_client.post("/mapping-gateways/add/", form)
    assert response.status_code == 200 and "min_margin_percent" in response.context["form"].errors
    response = admin_client.post("/mapping-gateways/add/", {**form, "min_margin_percent": "20"})
    assert response.status_code == 302
    gateway = MappingGateway.objects.get(name="GW")
    assert (gateway.max_cost_per_minute, gateway.min_margin_percent, gateway.rate_check) == (
        Decimal("0.03"),
        Decimal("20"),
        True,
    )


def test_the_database_refuses_bad_guards_too() -> None:
    with pytest.raises(IntegrityError):
        MappingGateway.objects.create(**GATEWAY, min_margin_percent=Decimal("-5"))
