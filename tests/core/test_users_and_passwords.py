"""Users page (administrators only), roles, API tokens and the password policy."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from vosadmin.core.parameters import update_parameter
from vosadmin.core.roles import Role, role_of

pytestmark = pytest.mark.django_db


def user_form(**overrides: object) -> dict:
    return {
        "username": "new-op",
        "role": Role.OPERATOR.value,
        "is_active": "on",
        "password1": "a-long-passphrase",
        "password2": "a-long-passphrase",
        **overrides,
    }


def test_administrator_creates_a_user_with_a_role(admin_client) -> None:
    response = admin_client.post("/users/add/", user_form())
    assert response.status_code == 302
    user = User.objects.get(username="new-op")
    assert role_of(user) is Role.OPERATOR and user.check_password("a-long-passphrase")


def test_password_shorter_than_the_parameter_is_rejected(admin_client) -> None:
    update_parameter("SERVER_PASSWORD_LENGTH", 20)
    response = admin_client.post("/users/add/", user_form())
    assert response.status_code == 200
    assert "at least 20 characters" in str(response.context["form"].errors["password1"])
    assert not User.objects.filter(username="new-op").exists()


def test_mismatched_passwords_are_rejected(admin_client) -> None:
    response = admin_client.post("/users/add/", user_form(password2="something-else-entirely"))
    assert "password2" in response.context["form"].errors


def test_role_change_takes_effect(admin_client, viewer_user) -> None:
    form = user_form(
        username=viewer_user.username, role=Role.ADMINISTRATOR.value, password1="", password2=""
    )
    assert admin_client.post(f"/users/{viewer_user.pk}/edit/", form).status_code == 302
    assert role_of(User.objects.get(pk=viewer_user.pk)) is Role.ADMINISTRATOR


def test_api_token_is_issued_and_shown_once(admin_client, operator_user) -> None:
    response = admin_client.post(f"/users/{operator_user.pk}/token/", follow=True)
    key = Token.objects.get(user=operator_user).key
    assert key in response.content.decode()
    assert key not in admin_client.get(f"/users/{operator_user.pk}/edit/").content.decode()


def test_administrator_cannot_delete_themself(admin_client, admin_user) -> None:
    admin_client.post(f"/users/{admin_user.pk}/delete/")
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_operation_log_lists_changes(admin_client) -> None:
    update_parameter("SS_ENDPOINT_EXPIRE", 600)
    response = admin_client.get("/operation-log/", {"object_type": "parameter"})
    assert "SS_ENDPOINT_EXPIRE" in response.content.decode()
