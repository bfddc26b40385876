"""The System parameter page: grouped, searchable, editable by administrators only."""

from __future__ import annotations

import pytest

from vosadmin.core.models import AuditLog
from vosadmin.core.parameters import GROUPS, PARAMETERS, get_parameter

pytestmark = pytest.mark.django_db
URL = "/parameters/"


def test_page_shows_every_parameter_grouped_with_value_default_unit_and_meaning(
    admin_client,
) -> None:
    response = admin_client.get(URL)
    assert [group["name"] for group in response.context["groups"]] == list(GROUPS)
    shown = [row["parameter"].name for group in response.context["groups"] for row in group["rows"]]
    assert sorted(shown) == sorted(PARAMETERS)
    page = response.content.decode()
    parameter = PARAMETERS["SS_MAPPING_GATEWAY_TIMEOUT"]
    for text in (
        parameter.name,
        parameter.recommendation,
        "seconds",
        "Allowed: an integer from 1 to 300",
    ):
        assert text in page


def test_search_narrows_the_rows(admin_client) -> None:
    response = admin_client.get(URL, {"q": "register"})
    names = [row["parameter"].name for group in response.context["groups"] for row in group["rows"]]
    assert "SS_ENDPOINT_REGISTER_REPLACE" in names and "SERVER_PASSWORD_LENGTH" not in names


@pytest.mark.parametrize(
    ("name", "typed", "stored"),
    [
        ("SS_ENDPOINT_REGISTER_REPLACE", "off", False),
        ("SS_ENDPOINT_EXPIRE", "300", 300),
        ("SS_BLACK_LIST_NO_ANSWER_LIMIT", "5", 5),
        ("SERVER_BILLING_RECORD_ZERO_HOLD_TIME", "0", 0),
        (
            "SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS",
            "10.0.0.0/8 192.0.2.0/24",
            ["10.0.0.0/8", "192.0.2.0/24"],
        ),
    ],
)
def test_administrator_saves_a_value(admin_client, name: str, typed: str, stored: object) -> None:
    response = admin_client.post(URL, {"name": name, "value": typed})
    assert response.status_code == 302 and response["Location"].endswith(f"#{name}")
    assert get_parameter(name) == stored
    assert AuditLog.objects.get().object_repr == name


def test_invalid_value_is_shown_on_its_row_and_not_saved(admin_client) -> None:
    response = admin_client.post(URL, {"name": "SS_ENDPOINT_EXPIRE", "value": "30"})
    assert response.status_code == 400
    assert (
        "SS_ENDPOINT_EXPIRE must be an integer from 60 to 7200 (seconds)."
        in response.content.decode()
    )
    assert get_parameter("SS_ENDPOINT_EXPIRE") == 3600
    assert not AuditLog.objects.exists()


def test_unknown_parameter_is_reported(admin_client) -> None:
    response = admin_client.post(URL, {"name": "SS_NOPE", "value": "1"}, follow=True)
    assert "There is no system parameter named" in response.content.decode()


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_only_administrators_edit(client, users, who: str) -> None:
    client.force_login(users[who])
    page = client.get(URL)
    assert page.status_code == 200 and not page.context["can_edit"]
    assert b'name="value"' not in page.content
    assert client.post(URL, {"name": "SS_ENDPOINT_EXPIRE", "value": "300"}).status_code == 403
    assert get_parameter("SS_ENDPOINT_EXPIRE") == 3600
