"""`/api/v1/parameters/`: read by every role, changed by administrators, validated, audited,
and announced to the SIP engine with a NOTIFY on commit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.conftest import api_client_for
from tests.helpers import listening
from vosadmin.core.models import AuditLog, ParameterValue
from vosadmin.core.notify import CONFIG_CHANNEL
from vosadmin.core.parameters import PARAMETERS, get_parameter

URL = "/api/v1/parameters/"


def test_list_shows_every_parameter_with_its_declaration(viewer_api) -> None:
    response = viewer_api.get(URL)
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()}
    assert set(by_name) == set(PARAMETERS)
    expire = by_name["SS_ENDPOINT_EXPIRE"]
    assert expire["value"] == 3600 and expire["default"] == 3600
    assert (expire["minimum"], expire["maximum"], expire["unit"]) == (60, 7200, "seconds")
    assert expire["type"] == "integer" and expire["origin"] == "VOS3000"
    assert expire["description"] and expire["recommendation"]
    assert by_name["SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS"]["origin"] == "extension"


def test_detail_and_unknown_name(viewer_api) -> None:
    assert viewer_api.get(f"{URL}SS_TCP_CLOSE_RESET/").json()["value"] is False
    response = viewer_api.get(f"{URL}SS_NO_SUCH_THING/")
    assert response.status_code == 404
    assert "SS_NO_SUCH_THING" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SS_TCP_CLOSE_RESET", True),
        ("SS_ENDPOINT_EXPIRE", 120),
        ("SS_GATEWAY_SWITCH_LIMIT", None),
        ("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_LIMIT", 30),
        ("SERVER_BILLING_RECORD_ILLEGAL_CALL", 0),
        ("SS_BLACK_LIST_DYNAMIC_RUN_MODE", "Independent"),
        ("SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS", ["10.0.0.0/8"]),
    ],
)
def test_admin_changes_a_value_of_each_type(admin_api, name: str, value: object) -> None:
    if name == "SS_GATEWAY_SWITCH_LIMIT":
        admin_api.patch(f"{URL}{name}/", {"value": 3}, format="json")
    response = admin_api.patch(f"{URL}{name}/", {"value": value}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["value"] == value
    assert get_parameter(name) == value
    assert admin_api.get(f"{URL}{name}/").json()["value"] == value


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("SS_ENDPOINT_EXPIRE", 59, "from 60 to 7200"),
        ("SS_ENDPOINT_EXPIRE", 7201, "from 60 to 7200"),
        ("SS_ENDPOINT_EXPIRE", "3600", "from 60 to 7200"),
        ("SS_ENDPOINT_EXPIRE", None, "integer"),
        ("SS_TCP_CLOSE_RESET", 1, "true (On) or false (Off)"),
        ("SS_ENDPOINTTIMETOLIVE", 5, "0 or an integer from 10 to 3600"),
        ("SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 2, "0 or 1"),
        ("SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS", ["300.1.1.1/8"], "CIDR"),
    ],
)
def test_invalid_value_is_400_naming_parameter_and_range_and_saves_nothing(
    admin_api, name: str, value: object, allowed: str
) -> None:
    response = admin_api.patch(f"{URL}{name}/", {"value": value}, format="json")
    assert response.status_code == 400
    message = response.json()["value"][0]
    assert name in message and allowed in message
    assert not ParameterValue.objects.filter(name=name).exists()
    assert not AuditLog.objects.exists()
    assert get_parameter(name) == PARAMETERS[name].default


def test_patch_without_value_is_400(admin_api) -> None:
    response = admin_api.patch(f"{URL}SS_ENDPOINT_EXPIRE/", {"expire": 60}, format="json")
    assert response.status_code == 400
    assert "SS_ENDPOINT_EXPIRE" in response.json()["value"][0]


def test_put_and_post_are_not_allowed(admin_api) -> None:
    assert (
        admin_api.put(f"{URL}SS_ENDPOINT_EXPIRE/", {"value": 60}, format="json").status_code == 405
    )
    assert admin_api.post(URL, {"value": 60}, format="json").status_code == 405


@pytest.mark.parametrize(
    ("who", "status"), [("operator", 403), ("viewer", 403), ("roleless", 403), ("anonymous", 401)]
)
def test_only_administrators_change_parameters(users: dict, who: str, status: int) -> None:
    client = api_client_for(users[who])
    response = client.patch(f"{URL}SS_ENDPOINT_EXPIRE/", {"value": 120}, format="json")
    assert response.status_code == status
    assert get_parameter("SS_ENDPOINT_EXPIRE") == 3600


def test_change_is_audited_with_user_and_before_after(admin_api, admin_user: User) -> None:
    admin_api.patch(f"{URL}SS_ENDPOINT_EXPIRE/", {"value": 300}, format="json")
    admin_api.patch(f"{URL}SS_ENDPOINT_EXPIRE/", {"value": 300}, format="json")  # no change
    entry = AuditLog.objects.get()
    assert (entry.user, entry.username, entry.action) == (admin_user, "alice-admin", "update")
    assert (entry.object_type, entry.object_repr) == ("System parameter", "SS_ENDPOINT_EXPIRE")
    assert entry.changes == {"value": [3600, 300]}


@pytest.mark.django_db(transaction=True)
def test_committed_change_sends_notify(admin_user: User) -> None:
    client = api_client_for(admin_user)
    with listening(CONFIG_CHANNEL) as receive:
        client.patch(f"{URL}SS_TCP_CLOSE_RESET/", {"value": True}, format="json")
        assert receive() == [{"kind": "parameter", "action": "update", "key": "SS_TCP_CLOSE_RESET"}]
        client.patch(f"{URL}SS_ENDPOINT_EXPIRE/", {"value": 1}, format="json")  # rejected
        assert receive(timeout=0.5) == []
