"""Bad CDR query input is a 400 naming the parameter, on the API and the page; never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.billing.conftest import day_range

BAD_FILTERS = [
    ({"billing_mode": "7"}, "billing_mode"),
    ({"billing_mode": "illegal"}, "billing_mode"),
    ({"start_after": "yesterday"}, "start_after"),
    ({"start_before": "2025-13-01"}, "start_before"),
    ({"start_after": "0001-01-01T00:00:00+05:00"}, "start_after"),
    ({"start_before": "9999-12-31T23:59:59-12:00"}, "start_before"),
    (
        {"start_after": "2025-03-11T00:00:00Z", "start_before": "2025-03-10T00:00:00Z"},
        "start_before",
    ),
    ({"caller": "12*34"}, "caller"),
    ({"caller": "1" * 65}, "caller"),
    ({"callee": "86\x00138"}, "callee"),
    ({"caller_ip": "not-an-address"}, "caller_ip"),
    ({"caller_ip": "198.51.100.10:99999"}, "caller_ip"),
    ({"callee_ip": "[::1]"}, "callee_ip"),
    ({"phone": "10**"}, "phone"),
    ({"end_reason": "busy"}, "end_reason"),
    ({"end_reason": "5000"}, "end_reason"),
    ({"end_direction": "3"}, "end_direction"),
    ({"hold_time_min": "-1"}, "hold_time_min"),
    ({"hold_time_min": "ten"}, "hold_time_min"),
    ({"hold_time_min": "NaN"}, "hold_time_min"),
    ({"hold_time_max": "1e30"}, "hold_time_max"),
    ({"hold_time_min": "20", "hold_time_max": "10"}, "hold_time_max"),
]
BAD_PAGINATION = [
    ({"ordering": "password"}, "ordering"),
    ({"ordering": "-connect_time"}, "ordering"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "WyItc3RhcnRfdGltZSIsZmFsc2UsWzEsMl1d"}, "cursor"),  # wrong types inside
    ({"limit": "0"}, "limit"),
    ({"limit": "5000"}, "limit"),
    ({"limit": "many"}, "limit"),
]


@pytest.mark.parametrize(("params", "name"), BAD_FILTERS + BAD_PAGINATION)
def test_api_answers_400_naming_the_parameter(viewer_api, partitions, params, name) -> None:
    response = viewer_api.get("/api/v1/cdrs/", params)
    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.parametrize(("params", "name"), BAD_FILTERS)
def test_csv_export_answers_400_in_json(viewer_api, partitions, params, name) -> None:
    response = viewer_api.get("/api/v1/cdrs/", {"format": "csv", **day_range(), **params})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert name in response.json()


@pytest.mark.parametrize(("params", "name"), BAD_FILTERS)
def test_page_shows_the_error_next_to_the_filter(client, viewer_user, params, name) -> None:
    client.force_login(viewer_user)
    response = client.get("/cdrs/", params)
    assert response.status_code == 400
    assert name in response.context["filter"].form.errors


@pytest.mark.parametrize(("params", "name"), BAD_PAGINATION[:4])
def test_page_reports_a_bad_ordering_or_cursor(client, viewer_user, params, name) -> None:
    client.force_login(viewer_user)
    response = client.get("/cdrs/", params)
    assert response.status_code == 400
    assert response.context["pagination_error"]


def test_an_export_larger_than_a_day_needs_a_whole_start_range(viewer_api, db) -> None:
    three_days_ago = (timezone.now() - timedelta(days=3)).isoformat()
    response = viewer_api.get("/api/v1/cdrs/", {"format": "csv", "start_after": three_days_ago})
    assert response.status_code == 400
    assert response.json() == {
        "start_before": [
            "A start range is required for exports larger than one day: "
            "give start_before as well as start_after."
        ]
    }
    ranged = {"format": "csv", "start_after": three_days_ago, "start_before": "2999-01-01"}
    assert viewer_api.get("/api/v1/cdrs/", ranged).status_code == 200
    for within_a_day in ({}, {"start_before": three_days_ago}):
        assert viewer_api.get("/api/v1/cdrs/", {"format": "csv", **within_a_day}).status_code == 200


def test_detail_csv_is_not_offered(viewer_api, db) -> None:
    assert viewer_api.get("/api/v1/cdrs/1/", {"format": "csv"}).status_code == 404
