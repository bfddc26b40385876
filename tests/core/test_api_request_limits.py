"""Oversized or pathological requests get a clear 4xx in the API's JSON, never a 500 or HTML."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

POST_ENDPOINTS = [
    "/api/v1/phones/",
    "/api/v1/gateways/mapping/",
    "/api/v1/gateways/routing/",
    "/api/v1/blacklist/groups/",
    "/api/v1/whitelist/",
    "/api/v1/auth/token/",
]


@pytest.mark.parametrize("url", POST_ENDPOINTS)
def test_a_deeply_nested_json_body_is_a_400(admin_api, url) -> None:
    response = admin_api.post(url, b"[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_a_deeply_nested_parameter_value_is_a_400(admin_api) -> None:
    body = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    url = "/api/v1/parameters/SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS/"
    response = admin_api.patch(url, body, content_type="application/json")
    assert response.status_code == 400


def test_a_10_mb_json_body_is_a_json_413(admin_api) -> None:
    body = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = admin_api.post("/api/v1/phones/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is too large."}


def test_a_body_over_the_limit_is_refused_before_it_is_read(admin_api, settings) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = admin_api.post("/api/v1/phones/", {"number": "1" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}


def test_a_url_over_the_limit_is_a_414(admin_api, admin_client, settings) -> None:
    settings.MAX_URL_LENGTH = 8192
    response = admin_api.get("/api/v1/phones/", {"number": "1" * 9000})
    assert response.status_code == 414
    assert "longer than 8192" in response.json()["detail"]
    assert admin_client.get("/phones/", {"q": "1" * 9000}).status_code == 414


def test_a_url_under_the_limit_is_served(admin_api) -> None:
    assert admin_api.get("/api/v1/phones/", {"number": "1" * 100}).status_code in (200, 400)
