"""CSV export: the whole filtered set, equal to the API's result, streamed in chunks."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from billing.export import EXPORT_COLUMNS, spreadsheet_safe
from tests.billing.conftest import at, cdr, day_range, store


@pytest.fixture
def cdrs(partitions) -> None:
    """130 CDRs of all kinds: more than two API pages of 50."""
    store(
        *(
            cdr(
                f"call-{index}",
                at(index / 6),
                billing_mode=[1, 0, -2][index % 3],
                caller=f"86138{index:04d}" if index % 2 else f"2125{index:04d}",
                hold_time_ms=0 if index % 5 == 0 else 1000 * index + 7,
                end_reason=[200, 486, -1, 503, -12][index % 5],
                end_direction=index % 3,
                fee=Decimal("0.1234") * index,
                start_time=at(index / 6).replace(microsecond=0 if index % 7 else 123456),
            )
            for index in range(130)
        )
    )


def csv_rows(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a streamed CSV response."""
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def api_rows(api, params: dict[str, Any]) -> list[dict[str, str]]:
    """Every row the API lists for `params`, following next links, as CSV would write them."""
    rows, url, query = [], "/api/v1/cdrs/", params
    while url:
        body = api.get(url, query).json()
        rows += [
            {key: "" if value is None else str(value) for key, value in row.items()}
            for row in body["results"]
        ]
        url, query = body["next"], {}
    return rows


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"billing_mode": [1, -2]},
        {"caller": "86138*", "hold_time_min": 10},
        {"end_reason": [200, 503], "ordering": "-hold_time_ms"},
        {"ordering": "caller"},
    ],
)
def test_csv_equals_the_api_result_and_holds_the_whole_set(viewer_api, cdrs, filters) -> None:
    params = {**day_range(), **filters}
    expected = api_rows(viewer_api, params)
    response = viewer_api.get("/api/v1/cdrs/", {**params, "format": "csv"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="cdrs-20250310T000000Z-20250311T000000Z.csv"'
    )
    header, rows = csv_rows(response)
    assert header == list(EXPORT_COLUMNS) == list(expected[0])
    assert rows == expected
    if not filters:
        assert len(rows) == 130  # more than two API pages


def test_the_whole_day_is_exported_not_a_page(viewer_api, cdrs) -> None:
    response = viewer_api.get("/api/v1/cdrs/", {**day_range(), "format": "csv", "limit": 5})
    assert len(csv_rows(response)[1]) == 130


def test_accept_header_asks_for_csv_too(viewer_api, cdrs) -> None:
    response = viewer_api.get("/api/v1/cdrs/", day_range(), HTTP_ACCEPT="text/csv")
    assert response["Content-Type"].startswith("text/csv")
    assert len(csv_rows(response)[1]) == 130


def test_a_big_export_leaves_in_several_chunks(viewer_api, partitions) -> None:
    store(*(cdr(f"call-{index}", at(index / 100)) for index in range(1500)))
    response = viewer_api.get("/api/v1/cdrs/", {**day_range(), "format": "csv"})
    chunks = list(response.streaming_content)
    assert len(chunks) > 3 and all(len(chunk) < 100_000 for chunk in chunks)
    assert b"".join(chunks).count(b"\n") == 1501


def test_under_asgi_the_csv_is_streamed_asynchronously(viewer_user, viewer_api, cdrs) -> None:
    token = Token.objects.get_or_create(user=viewer_user)[0].key
    params = {**day_range(), "format": "csv"}

    async def download() -> tuple[bool, bytes]:
        headers = {"Authorization": f"Token {token}"}
        response = await AsyncClient().get("/api/v1/cdrs/", params, headers=headers)
        return response.is_async, b"".join([chunk async for chunk in response.streaming_content])

    is_async, body = async_to_sync(download)()
    wsgi = viewer_api.get("/api/v1/cdrs/", {**day_range(), "format": "csv"})
    assert is_async and body == b"".join(wsgi.streaming_content)


def test_the_page_export_button_downloads_what_the_page_shows(client, viewer_user, cdrs) -> None:
    client.force_login(viewer_user)
    page = client.get("/cdrs/", {**day_range(), "billing_mode": -2, "ordering": "caller"})
    export = client.get(page.context["export_url"])
    assert export.status_code == 200
    _, rows = csv_rows(export)
    assert len(rows) == page.context["summary"].calls == 43
    assert [row["flow_no"] for row in rows[:50]] == [
        str(row.flow_no) for row in page.context["table"].data
    ]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(1)", "'@SUM(1)"),
        ("-1+2", "'-1+2"),
        ("+8613800000000", "+8613800000000"),
        ("-12", "-12"),
        ("sipvicious", "sipvicious"),
        ("", ""),
    ],
)
def test_caller_controlled_text_cannot_become_a_spreadsheet_formula(text, safe) -> None:
    assert spreadsheet_safe(text) == safe


def test_a_formula_in_a_caller_id_is_exported_as_text(viewer_api, partitions) -> None:
    store(cdr("=cmd|' /C calc'!A0", at(1), caller="=1+1", callee="+4420700000001"))
    _, rows = csv_rows(viewer_api.get("/api/v1/cdrs/", {**day_range(), "format": "csv"}))
    assert (rows[0]["call_id"], rows[0]["caller"], rows[0]["callee"]) == (
        "'=cmd|' /C calc'!A0",
        "'=1+1",
        "+4420700000001",
    )


def test_in_a_console_time_zone_other_than_utc_too(viewer_api, cdrs, settings) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    params = {**day_range(), "billing_mode": -2}
    expected = api_rows(viewer_api, params)
    assert expected[0]["start_time"].endswith("+08:00")
    assert csv_rows(viewer_api.get("/api/v1/cdrs/", {**params, "format": "csv"}))[1] == expected
