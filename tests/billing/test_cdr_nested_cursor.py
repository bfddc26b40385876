"""A cursor crafted as deeply nested JSON is a bad cursor (400), not a RecursionError (500)."""

from __future__ import annotations

import base64

import pytest

NESTED = base64.urlsafe_b64encode(b"[" * 5_000).decode().rstrip("=")
NESTED_INSIDE = base64.urlsafe_b64encode(b'["-start_time",false,' + b"[" * 5_000).decode()


@pytest.mark.parametrize("cursor", [NESTED, NESTED_INSIDE])
def test_api_answers_400_naming_the_cursor(viewer_api, partitions, cursor) -> None:
    response = viewer_api.get("/api/v1/cdrs/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_page_reports_the_bad_cursor(client, viewer_user, partitions) -> None:
    client.force_login(viewer_user)
    response = client.get("/cdrs/", {"cursor": NESTED})
    assert response.status_code == 400
    assert response.context["pagination_error"]
