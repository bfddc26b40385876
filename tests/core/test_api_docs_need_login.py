"""The OpenAPI schema and its interactive docs are for logged-in users only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["", "?format=json"])
def test_anonymous_gets_401_from_the_schema(client, query) -> None:
    response = client.get(f"/api/schema/{query}")
    assert response.status_code == 401
    assert "paths" not in response.content.decode()


@pytest.mark.parametrize("query", ["", "?script="])
def test_anonymous_is_sent_to_login_from_the_docs(client, query) -> None:
    response = client.get(f"/api/docs/{query}")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/api/docs/")


def test_a_token_reads_the_schema(viewer_api) -> None:
    assert viewer_api.get("/api/schema/").status_code == 200


def test_a_logged_in_user_reads_schema_and_docs(client, viewer_user) -> None:
    client.force_login(viewer_user)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
