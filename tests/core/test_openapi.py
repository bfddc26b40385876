"""The OpenAPI schema builds and its docs are served without any external CDN."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_schema_builds_and_lists_the_resources(viewer_api) -> None:
    response = viewer_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/parameters/",
        "/api/v1/parameters/{name}/",
        "/api/v1/gateways/mapping/",
        "/api/v1/gateways/routing/",
        "/api/v1/phones/",
        "/api/v1/registrations/",
        "/api/v1/cdrs/",
        "/api/v1/cdrs/{flow_no}/",
    ):
        assert path in paths


def test_schema_generation_has_no_warnings(capsys) -> None:
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")


def test_docs_page_uses_local_assets(client, viewer_user) -> None:
    client.force_login(viewer_user)
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


def test_anonymous_gets_401_from_the_api(client) -> None:
    response = client.get("/api/v1/phones/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
