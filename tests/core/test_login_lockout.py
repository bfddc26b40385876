"""Login lock-out after SERVER_LOGIN_MAX_RETRY failures for SERVER_LOGIN_FAILED_DISABLE_TIME."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt

from tests.conftest import PASSWORD
from vosadmin.core.parameters import update_parameter

pytestmark = pytest.mark.django_db


def login(client, password: str):
    return client.post("/login/", {"username": "victor-viewer", "password": password})


def test_console_locks_after_max_retry_even_with_the_right_password(client, viewer_user) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 3)
    for _ in range(2):
        assert login(client, "wrong").status_code == 200
    assert login(client, "wrong").status_code == 429
    response = login(client, PASSWORD)
    assert response.status_code == 429
    assert "locked for 900 seconds" in response.content.decode()


def test_lock_ends_after_the_disable_time(client, viewer_user) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 2)
    update_parameter("SERVER_LOGIN_FAILED_DISABLE_TIME", 60)
    login(client, "wrong")
    login(client, "wrong")
    assert login(client, PASSWORD).status_code == 429
    # time passes: the failures are now older than the disable time
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(seconds=61)
    )
    assert login(client, PASSWORD).status_code == 302


def test_api_token_endpoint_is_locked_too(client, viewer_user) -> None:
    update_parameter("SERVER_LOGIN_MAX_RETRY", 2)
    url = "/api/v1/auth/token/"
    assert client.post(url, {"username": "victor-viewer", "password": "x"}).status_code == 400
    client.post(url, {"username": "victor-viewer", "password": "x"})
    response = client.post(url, {"username": "victor-viewer", "password": PASSWORD})
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]


def test_token_endpoint_issues_a_token(client, viewer_user) -> None:
    response = client.post(
        "/api/v1/auth/token/", {"username": "victor-viewer", "password": PASSWORD}
    )
    assert response.status_code == 200 and len(response.json()["token"]) == 40
