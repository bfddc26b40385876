"""Data query → CDR: codes by name, the summary, sorting, and the filters remembered per user."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from billing.models import LastCdrFilters
from tests.billing.conftest import at, cdr, day_range, store

ILLEGAL = {"billing_mode": -2, "end_reason": -1, "end_direction": 2, "hold_time_ms": 0}


@pytest.fixture
def cdrs(partitions) -> None:
    store(
        cdr("answered-60", at(1), hold_time_ms=60_000),
        cdr("answered-90", at(2), hold_time_ms=90_000, end_direction=1),
        cdr("busy", at(3), hold_time_ms=0, end_reason=486, end_direction=1),
        cdr("scan-1", at(4), caller="sipvicious", **ILLEGAL),
        cdr("scan-2", at(5), caller="100", **ILLEGAL),
    )


@pytest.fixture
def viewer_client(client, viewer_user):
    client.force_login(viewer_user)
    return client


def test_codes_are_shown_with_their_names(viewer_client, cdrs) -> None:
    page = viewer_client.get("/cdrs/", day_range()).content.decode()
    for text in ("-2 Illegal call", "1 Mapping gateway account", "-1 Illegal call: unknown source"):
        assert text in page
    assert "486 Busy Here" in page and "200 Normal call clearing" in page and "2 Server" in page


def test_the_form_offers_billing_modes_by_name(viewer_client, db) -> None:
    form = viewer_client.get("/cdrs/").context["filter"].form
    labels = [label for _, label in form.fields["billing_mode"].choices]
    assert labels == [
        "Phone account",
        "Mapping gateway account",
        "Bound number account",
        "Phone card account",
        "No billing",
        "Illegal call",
    ]


@pytest.mark.parametrize(
    ("filters", "calls", "answered", "asr", "acd", "hold"),
    [
        ({}, 5, 2, 40.0, 75.0, 150.0),
        ({"billing_mode": 1}, 3, 2, 100 * 2 / 3, 75.0, 150.0),
        ({"billing_mode": -2}, 2, 0, 0.0, None, 0.0),
        ({"caller": "nobody"}, 0, 0, None, None, 0.0),
    ],
)
def test_summary_of_the_filtered_set(
    viewer_client, cdrs, filters, calls, answered, asr, acd, hold
) -> None:
    summary = viewer_client.get("/cdrs/", {**day_range(), **filters}).context["summary"]
    assert (summary.calls, summary.answered) == (calls, answered)
    assert summary.asr == pytest.approx(asr) if asr is not None else summary.asr is None
    assert summary.acd_seconds == acd and summary.hold_time_seconds == hold


def test_the_summary_counts_the_whole_set_not_the_page(viewer_client, partitions) -> None:
    store(*(cdr(f"call-{index}", at(index / 10)) for index in range(80)))
    response = viewer_client.get("/cdrs/", day_range())
    assert response.context["summary"].calls == 80
    assert len(response.context["table"].data) == 50


def test_columns_sort(viewer_client, cdrs) -> None:
    response = viewer_client.get("/cdrs/", {**day_range(), "ordering": "-hold_time_ms"})
    calls = [row.call_id for row in response.context["table"].data]
    assert calls[:2] == ["answered-90", "answered-60"]
    header = re.search(
        r'<th class="([^"]*)"><a href="([^"]*)">Hold time', response.content.decode()
    )
    assert "desc" in header[1].split() and header[2].endswith("ordering=hold_time_ms")


def test_a_header_link_sorts_from_the_first_page(viewer_client, partitions) -> None:
    store(*(cdr(f"call-{index}", at(index / 10)) for index in range(60)))
    first = viewer_client.get("/cdrs/", day_range())
    second = viewer_client.get(f"/cdrs/{first.context['table'].next_url}").content.decode()
    header_links = re.findall(r'<th[^>]*><a href="([^"]+)"', second.split("</thead>")[0])
    assert header_links and not any("cursor=" in link for link in header_links)
    assert "cursor=" in first.context["table"].next_url
    assert f'href="{first.context["table"].next_url.replace("&", "&amp;")}" rel="next"' in (
        first.content.decode()
    )


def test_the_window_defaults_to_the_last_24_hours(viewer_client, db) -> None:
    context = viewer_client.get("/cdrs/").context
    assert context["window_end"] is None
    assert (context["filter"].now - context["window_start"]).total_seconds() == 86400
    export = parse_qs(urlsplit(context["export_url"]).query)
    assert export["format"] == ["csv"] and export["start_after"] and export["start_before"]


def test_last_filters_are_restored_for_that_user_only(
    viewer_client, operator_user, client, cdrs
) -> None:
    filters = {"billing_mode": ["-2", "1"], "caller": "21*", "ordering": "caller"}
    viewer_client.get("/cdrs/", {**filters, "cursor": ""})
    response = viewer_client.get("/cdrs/")
    assert response.status_code == 302
    restored = parse_qs(urlsplit(response["Location"]).query)
    assert restored == {"billing_mode": ["-2", "1"], "caller": ["21*"], "ordering": ["caller"]}
    followed = viewer_client.get(response["Location"])
    assert followed.context["filter"].form.cleaned_data["billing_mode"] == [-2, 1]
    client.force_login(operator_user)
    assert client.get("/cdrs/").status_code == 200


def test_invalid_filters_are_not_remembered(viewer_client, db) -> None:
    viewer_client.get("/cdrs/", {"billing_mode": "-2"})
    viewer_client.get("/cdrs/", {"billing_mode": "42"})
    assert viewer_client.get("/cdrs/")["Location"] == "/cdrs/?billing_mode=-2"


def test_reset_forgets_the_filters(viewer_client, viewer_user, db) -> None:
    viewer_client.get("/cdrs/", {"phone": "1001"})
    assert LastCdrFilters.recall(viewer_user) == "phone=1001"
    response = viewer_client.get("/cdrs/", {"reset": ""})
    assert response.status_code == 302 and response["Location"] == "/cdrs/"
    assert viewer_client.get("/cdrs/").status_code == 200
    assert LastCdrFilters.recall(viewer_user) == ""
