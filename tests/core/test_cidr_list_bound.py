"""A CIDR-list parameter holds at most MAX_CIDR_LIST_LENGTH networks (API and page)."""

from __future__ import annotations

import pytest

from vosadmin.core.models import ParameterValue
from vosadmin.core.parameters import get_parameter
from vosadmin.core.parameters.types import MAX_CIDR_LIST_LENGTH

pytestmark = pytest.mark.django_db

NAME = "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS"
URL = f"/api/v1/parameters/{NAME}/"


def networks(count: int) -> list[str]:
    """`count` distinct /32 networks."""
    return [f"10.{n // 65536}.{n // 256 % 256}.{n % 256}/32" for n in range(count)]


def test_the_api_refuses_a_list_over_the_bound(admin_api) -> None:
    response = admin_api.patch(URL, {"value": networks(MAX_CIDR_LIST_LENGTH + 1)}, format="json")
    assert response.status_code == 400
    message = response.json()["value"][0]
    assert NAME in message and f"at most {MAX_CIDR_LIST_LENGTH}" in message
    assert not ParameterValue.objects.filter(name=NAME).exists()


def test_the_api_refuses_a_huge_list_of_junk_quickly(admin_api) -> None:
    response = admin_api.patch(URL, {"value": ["x"] * 200_000}, format="json")
    assert response.status_code == 400


def test_a_list_at_the_bound_is_saved(admin_api) -> None:
    response = admin_api.patch(URL, {"value": networks(MAX_CIDR_LIST_LENGTH)}, format="json")
    assert response.status_code == 200
    assert len(get_parameter(NAME)) == MAX_CIDR_LIST_LENGTH


def test_the_page_refuses_a_list_over_the_bound(admin_client) -> None:
    text = " ".join(networks(MAX_CIDR_LIST_LENGTH + 1))
    response = admin_client.post("/parameters/", {"name": NAME, "value": text})
    assert response.status_code == 400
    assert f"at most {MAX_CIDR_LIST_LENGTH}" in response.content.decode()
    assert not ParameterValue.objects.filter(name=NAME).exists()
