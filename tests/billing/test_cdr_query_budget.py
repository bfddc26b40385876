"""The CDR list costs a fixed number of queries, however many CDRs there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.billing.conftest import at, cdr, day_range, store


@pytest.fixture
def many_cdrs(partitions) -> None:
    store(*(cdr(f"call-{index}", at(index / 10)) for index in range(120)))


def test_api_list(viewer_api, many_cdrs, django_assert_max_num_queries) -> None:
    viewer_api.get("/api/v1/cdrs/")  # the token and the role are looked up once per request
    # token + user, role groups, the page of rows.
    with django_assert_max_num_queries(3):
        response = viewer_api.get("/api/v1/cdrs/", {**day_range(), "limit": 100})
    assert len(response.json()["results"]) == 100


def test_api_next_page(viewer_api, many_cdrs, django_assert_max_num_queries) -> None:
    next_url = viewer_api.get("/api/v1/cdrs/", day_range()).json()["next"]
    with django_assert_max_num_queries(3):
        assert len(viewer_api.get(next_url).json()["results"]) == 50


def test_page(client, viewer_user, many_cdrs, django_assert_max_num_queries) -> None:
    client.force_login(viewer_user)
    # session, user, role groups, remembering the filters, the page of rows, the summary.
    with django_assert_max_num_queries(6):
        response = client.get("/cdrs/", {**day_range(), "billing_mode": [1, -2]})
    assert len(response.context["table"].data) == 50


def test_no_offset_and_no_count(client, viewer_user, many_cdrs) -> None:
    client.force_login(viewer_user)
    first = client.get("/cdrs/", day_range())
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/cdrs/{first.context['table'].next_url}")
    statements = [query["sql"].upper() for query in captured.captured_queries]
    assert not any("OFFSET" in sql for sql in statements)
    assert len([sql for sql in statements if "COUNT(" in sql]) == 1  # the summary, no paginator
