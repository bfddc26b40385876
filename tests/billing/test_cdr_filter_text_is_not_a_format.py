"""A filter value holding `%` is quoted in its error, never used as a format string (was a 500)."""

from __future__ import annotations

import pytest

from tests.billing.conftest import day_range

PERCENT_VALUES = ["%", "%s", "%(x)s", "100%", "%d%%"]


@pytest.mark.parametrize("name", ["caller_ip", "callee_ip"])
@pytest.mark.parametrize("value", PERCENT_VALUES)
def test_api_answers_400_naming_the_filter(viewer_api, partitions, name, value) -> None:
    response = viewer_api.get("/api/v1/cdrs/", {name: value})
    assert response.status_code == 400
    assert value in response.json()[name][0]


@pytest.mark.parametrize("name", ["caller_ip", "callee_ip"])
def test_csv_export_answers_400_in_json(viewer_api, partitions, name) -> None:
    response = viewer_api.get("/api/v1/cdrs/", {"format": "csv", name: "%", **day_range()})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "'%'" in response.json()[name][0]


def test_page_shows_the_error_next_to_the_filter(client, viewer_user) -> None:
    client.force_login(viewer_user)
    response = client.get("/cdrs/", {"caller_ip": "%s"})
    assert response.status_code == 400
    assert "caller_ip" in response.context["filter"].form.errors
