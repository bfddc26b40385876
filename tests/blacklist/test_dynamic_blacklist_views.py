"""The Dynamic black list page, its history, and `GET /api/v1/blacklist/dynamic/`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from blacklist.tables import time_left
from tests.blacklist.conftest import make_entry

pytestmark = pytest.mark.django_db

API = "/api/v1/blacklist/dynamic/"
PAGE = "/dynamic-black-list/"


@pytest.fixture
def entries() -> dict[str, object]:
    now = timezone.now()
    return {
        "caller": make_entry("8613900000001", "malicious_caller", effective_at=now),
        "callee": make_entry("4420700000001", "malicious_callee", effective_at=now),
        "no_answer": make_entry("4930000001", "no_answer", observed=12, limit=10, effective_at=now),
        "expired": make_entry("8613900000002", effective_at=now - timedelta(hours=2), active=False),
        "released": make_entry(
            "8613900000003", active=False, released_at=now, released_by="alice-admin"
        ),
    }


def numbers(response) -> set[str]:
    return {row["number"] for row in response.json()["results"]}


def test_the_api_lists_entries_with_their_evidence(viewer_api, entries) -> None:
    response = viewer_api.get(API, {"active": "true", "type": "no_answer"})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["number"] == "4930000001" and row["type_label"] == "No answer"
    assert (row["observed"], row["limit"], row["window_seconds"]) == (12, 10, 600)
    assert row["evidence"] == "12 unanswered calls in a row (limit 10)"
    assert {"effective_at", "expires_at", "released_at", "released_by"} <= row.keys()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"active": "true"}, {"8613900000001", "4420700000001", "4930000001"}),
        ({"active": "false"}, {"8613900000002", "8613900000003"}),
        ({"number": "86139"}, {"8613900000001", "8613900000002", "8613900000003"}),
        ({"number": "86139", "active": "true"}, {"8613900000001"}),
        ({"type": "malicious_callee"}, {"4420700000001"}),
    ],
)
def test_the_api_filters_by_type_number_and_active(viewer_api, entries, query, expected) -> None:
    assert numbers(viewer_api.get(API, query)) == expected


@pytest.mark.parametrize("query", [{"type": "bogus"}, {"active": "perhaps"}])
def test_bad_filter_values_are_a_400(viewer_api, query) -> None:
    response = viewer_api.get(API, query)
    assert response.status_code == 400 and next(iter(query)) in response.json()


def test_the_api_is_read_only_apart_from_release(admin_api, entries) -> None:
    assert admin_api.post(API, {"number": "1"}, format="json").status_code == 405
    detail = f"{API}{entries['caller'].pk}/"
    assert admin_api.patch(detail, {"number": "1"}, format="json").status_code == 405


def test_the_page_shows_active_entries_with_time_left_and_why(client, viewer_user, entries):
    client.force_login(viewer_user)
    response = client.get(PAGE)
    rows = response.context["table"].page.object_list
    assert {row.record.number for row in rows} == {"8613900000001", "4420700000001", "4930000001"}
    page = response.content.decode()
    assert "120 call attempts in 600 s (limit 100)" in page
    assert 'class="time-left" data-expires=' in page
    assert "3 in all" in page
    assert "Release" not in page, "viewers do not get the release column"


def test_the_page_filters_by_type_and_number(client, viewer_user, entries) -> None:
    client.force_login(viewer_user)
    response = client.get(PAGE, {"type": "malicious_callee"})
    assert [row.record.number for row in response.context["table"].page.object_list] == [
        "4420700000001"
    ]
    response = client.get(PAGE, {"number": "4930"})
    assert [row.record.number for row in response.context["table"].page.object_list] == [
        "4930000001"
    ]


def test_the_history_shows_expired_and_released_entries(client, viewer_user, entries) -> None:
    client.force_login(viewer_user)
    response = client.get(f"{PAGE}history/", {"sort": "number"})
    rows = response.context["table"].page.object_list
    assert [(row.record.number, row.get_cell("ending")) for row in rows] == [
        ("8613900000002", "expired"),
        ("8613900000003", "released by alice-admin"),
    ]


def test_a_user_without_role_sees_nothing(client, roleless_user) -> None:
    client.force_login(roleless_user)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}history/").status_code == 403


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-1, "expired"), (0, "expired"), (9, "9 s"), (65, "1 min 05 s"), (3720, "1 h 02 min")],
)
def test_time_left_reads_like_a_countdown(seconds, shown) -> None:
    assert time_left(seconds) == shown
    assert time_left(2 * 86400 + 3 * 3600 + 5) == "2 d 3 h"


def test_page_and_api_share_the_filters(client, viewer_user) -> None:
    client.force_login(viewer_user)
    form = client.get(PAGE).context["filter"].form
    assert list(form.fields) == ["type", "number"], "active/history are the two pages"
