"""Disconnect on the Current calls page and POST /api/v1/calls/{id}/disconnect/: operators and
administrators only, CSRF on the page, logged, and told to the engine by the same NOTIFY as the
Web API's DisconnectCurrentCall (the live call ending: tests/external/test_disconnect_live_call.py).
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import api_client_for
from tests.external.test_contract import in_progress
from tests.helpers import listening
from vosadmin.core.models import AuditLog

PAGE = "/current-calls/"
BUTTON = ">Disconnect</button>"


def page_action(pk: int) -> str:
    return f"{PAGE}{pk}/disconnect/"


@pytest.mark.parametrize(
    ("who", "page", "button", "post", "api"),
    [
        ("admin", 200, True, 302, 202),
        ("operator", 200, True, 302, 202),
        ("viewer", 200, False, 403, 403),
        ("roleless", 403, False, 403, 403),
        ("anonymous", 302, False, 302, 401),
    ],
)
def test_role_matrix(client, users, who, page, button, post, api) -> None:
    if users[who]:
        client.force_login(users[who])
    call = in_progress()
    response = client.get(PAGE)
    assert response.status_code == page
    assert (BUTTON in response.content.decode()) is button
    response = client.post(page_action(call.pk))
    assert response.status_code == post
    if who == "anonymous":
        assert "login" in response["Location"]
    response = api_client_for(users[who]).post(f"/api/v1/calls/{call.pk}/disconnect/")
    assert response.status_code == api
    assert AuditLog.objects.filter(action="disconnect").count() == (2 if api == 202 else 0)


def test_the_page_s_button_needs_the_csrf_token(operator_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)
    call = in_progress()
    assert client.post(page_action(call.pk)).status_code == 403
    assert not AuditLog.objects.exists()
    html = client.get(PAGE).content.decode()
    assert 'data-confirm="Disconnect the call 2125550100 → 8613800000000?' in html


def test_an_unknown_call_is_a_404(client, operator_user, operator_api) -> None:
    client.force_login(operator_user)
    assert client.post(page_action(4711)).status_code == 404
    assert operator_api.post("/api/v1/calls/4711/disconnect/").status_code == 404
    assert not AuditLog.objects.exists()


@pytest.mark.django_db(transaction=True)  # NOTIFY is delivered on commit
def test_the_engine_is_told_and_the_operation_logged(client, operator_user, operator_api) -> None:
    page_call = in_progress("page-call@198.51.100.20")
    api_call = in_progress("api-call@198.51.100.20", caller="1002")
    client.force_login(operator_user)
    with listening("vosadmin_config") as receive:
        response = client.post(page_action(page_call.pk), follow=True)
        assert operator_api.post(f"/api/v1/calls/{api_call.pk}/disconnect/").status_code == 202
        notes = receive()
    assert "disconnected" in response.content.decode()  # the page says so
    for call_id in (page_call.call_id, api_call.call_id):
        assert {"kind": "current_call", "action": "disconnect", "key": call_id} in notes
        entry = AuditLog.objects.get(object_id=call_id)
        assert (entry.action, entry.user, entry.username) == (
            "disconnect",
            operator_user,
            "oscar-operator",
        )
