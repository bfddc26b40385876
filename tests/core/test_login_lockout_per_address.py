"""Lock-out is per user name *and* source address: a stranger guessing a password locks that
name out from the stranger's address only, never the real user from everywhere."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from vosadmin.core.parameters import update_parameter

pytestmark = pytest.mark.django_db

STRANGER = "203.0.113.66"
OFFICE = "198.51.100.7"


def login(client, password: str, address: str, username: str = "alice-admin"):
    data = {"username": username, "password": password}
    return client.post("/login/", data, REMOTE_ADDR=address)


def token(client, password: str, address: str):
    data = {"username": "alice-admin", "password": password}
    return client.post("/api/v1/auth/token/", data, REMOTE_ADDR=address)


def test_a_stranger_cannot_lock_the_administrator_out(client, admin_user) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 3)
    for _ in range(5):
        login(client, "guess", STRANGER)
    assert login(client, PASSWORD, STRANGER).status_code == 429
    assert login(client, PASSWORD, OFFICE).status_code == 302


def test_the_api_token_endpoint_is_locked_per_address_too(client, admin_user) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 2)
    for _ in range(3):
        token(client, "guess", STRANGER)
    assert token(client, PASSWORD, STRANGER).status_code == 429
    assert token(client, PASSWORD, OFFICE).status_code == 200


def test_failures_for_other_names_from_one_address_do_not_lock_a_name(client, users) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 2)
    for name in ("oscar-operator", "victor-viewer", "nobody"):
        login(client, "guess", OFFICE, username=name)
    assert login(client, PASSWORD, OFFICE).status_code == 302
