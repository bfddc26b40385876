"""The gateway report's API and page: the same rows as JSON, CSV and a table; who may read;
bad parameters are a 400 naming them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.filtersets import GatewayReportFilterSet
from billing.models import GatewayHour
from billing.reports import REPORT_COLUMNS, aggregate_range
from tests.billing.conftest import DAY_END, DAY_START, at, cdr, store
from tests.conftest import api_client_for

URL = "/api/v1/reports/gateways/"
PAGE = "/reports/gateways/"
WHOLE_DAY = {"start": DAY_START.isoformat(), "end": DAY_END.isoformat()}


@pytest.fixture
def reported(partitions) -> None:
    store(
        cdr("a", at(1.2), pdd_ms=900, fee=Decimal("0.5000"), cost=Decimal("0.1250")),
        cdr("b", at(1.4), hold_time_ms=0, fee=0, end_reason=487, pdd_ms=1500),
        cdr("c", at(3.5), routing_gateway="VENDOR-BRAVO", fee=Decimal("0.2500")),
        cdr("d", at(3.6), mapping_gateway="GW-CONTOSO", hold_time_ms=0, fee=0, end_reason=503),
    )
    aggregate_range(DAY_START, DAY_END)


def test_hourly_rows_carry_every_column(viewer_api, reported) -> None:
    body = viewer_api.get(URL, WHOLE_DAY).json()
    assert (body["side"], body["granularity"]) == ("mapping", "hour")
    assert [(row["gateway"], row["period_start"]) for row in body["results"]] == [
        ("GW-ACME", "2025-03-10T01:00:00Z"),
        ("GW-ACME", "2025-03-10T03:00:00Z"),
        ("GW-CONTOSO", "2025-03-10T03:00:00Z"),
    ]
    first = body["results"][0]
    assert list(first) == list(REPORT_COLUMNS)
    assert first == {
        "gateway": "GW-ACME",
        "period_start": "2025-03-10T01:00:00Z",
        "calls": 2,
        "answered": 1,
        "asr": "50.00",
        "acd": "60.0",
        "pdd_ms": 1200,
        "minutes": "1.00",
        "fee": "0.5000",
        "cost": "0.1250",
        "margin": "0.3750",
    }
    assert body["results"][2]["pdd_ms"] is None


def test_daily_routing_rows_and_the_gateway_filter(viewer_api, reported) -> None:
    params = {**WHOLE_DAY, "side": "routing", "granularity": "day"}
    rows = viewer_api.get(URL, params).json()["results"]
    assert [(row["gateway"], row["calls"], row["answered"]) for row in rows] == [
        ("VENDOR-ALPHA", 3, 1),
        ("VENDOR-BRAVO", 1, 1),
    ]
    assert rows[0]["period_start"] == "2025-03-10T00:00:00Z"
    only = viewer_api.get(URL, {**params, "gateway": "VENDOR-B*"}).json()["results"]
    assert [row["gateway"] for row in only] == ["VENDOR-BRAVO"]


def test_csv_has_the_same_rows_as_the_json(viewer_api, reported) -> None:
    params = {**WHOLE_DAY, "granularity": "day"}
    rows = viewer_api.get(URL, params).json()["results"]
    response = viewer_api.get(URL, {**params, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.content.decode())))
    expected = [{key: "" if v is None else str(v) for key, v in row.items()} for row in rows]
    assert parsed == expected


def test_csv_keeps_a_pdd_of_zero(viewer_api, partitions) -> None:
    """A gateway that answers at once has a PDD of 0 ms, which is not "no PDD"."""
    store(cdr("a", at(1.2), pdd_ms=0), cdr("b", at(1.3), mapping_gateway="GW-X", pdd_ms=None))
    aggregate_range(DAY_START, DAY_END)
    response = viewer_api.get(URL, {**WHOLE_DAY, "format": "csv"})
    parsed = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["gateway"], row["pdd_ms"]) for row in parsed] == [("GW-ACME", "0"), ("GW-X", "")]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"side": "vendor"}, "side"),
        ({"granularity": "week"}, "granularity"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2025-03-11", "end": "2025-03-10"}, "end"),
        ({"start": "2020-01-01", "end": "2025-03-10"}, "end"),
        ({"side": ""}, "side"),
        ({"gateway": "GW*X"}, "gateway"),
        ({"gatway": "GW-ACME"}, "gatway"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(viewer_api, db, params, parameter) -> None:
    response = viewer_api.get(URL, params)
    assert response.status_code == 400
    assert parameter in response.json()
    as_csv = viewer_api.get(URL, {**params, "format": "csv"})
    assert as_csv.status_code == 400 and as_csv["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("who", "expected"),
    [("admin", 200), ("operator", 200), ("viewer", 200), ("roleless", 403), ("anonymous", 401)],
)
def test_api_reads_by_role_and_nobody_writes(users, db, who: str, expected: int) -> None:
    client = api_client_for(users[who])
    assert client.get(URL).status_code == expected
    assert client.get(URL, {"format": "csv"}).status_code == expected
    assert client.post(URL, {}, format="json").status_code in (401, 403, 405)


def test_a_report_covers_whole_periods_only(viewer_api, reported) -> None:
    """A day reported from 01:30 would be the half of one: the window starts at the next
    midnight (the next whole hour per hour), and says so."""
    mid_day = {"start": at(1.5).isoformat(), "end": at(51.5).isoformat(), "granularity": "day"}
    body = viewer_api.get(URL, mid_day).json()
    assert (body["start"], body["end"]) == ("2025-03-11T00:00:00Z", "2025-03-13T00:00:00Z")
    assert body["results"] == []  # every CDR is on the 10th
    per_hour = viewer_api.get(URL, {**mid_day, "granularity": "hour"}).json()
    assert per_hour["start"] == "2025-03-10T02:00:00Z"
    assert [row["period_start"] for row in per_hour["results"]] == [
        "2025-03-10T03:00:00Z",
        "2025-03-10T03:00:00Z",
    ]


def test_a_half_hour_time_zone_labels_its_own_hours(client, viewer_user, partitions, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    store(cdr("a", at(18 + 20 / 60)), cdr("b", at(18 + 40 / 60)))
    aggregate_range(at(17.5), at(19.5))
    client.force_login(viewer_user)
    window = {"start": "2025-03-10T23:00+05:30", "end": "2025-03-11T01:00+05:30"}
    html = client.get(PAGE, window).content.decode()
    assert "2025-03-10 23:00" in html and "2025-03-11 00:00" in html
    per_day = client.get(PAGE, {**window, "start": "2025-03-10T00:00+05:30", "granularity": "day"})
    assert [(row.period_start, row.calls) for row in per_day.context["table"].data] == [
        (at(-5.5), 1),
        (at(18.5), 1),
    ]


@pytest.mark.parametrize(
    ("who", "expected"), [("admin", 200), ("operator", 200), ("viewer", 200), ("roleless", 403)]
)
def test_page_reads_by_role(client, users, db, who: str, expected: int) -> None:
    client.force_login(users[who])
    assert client.get(PAGE).status_code == expected


def test_anonymous_users_are_sent_to_log_in(client, db) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_page_shows_the_table_the_chart_data_and_the_export(client, viewer_user, reported):
    client.force_login(viewer_user)
    response = client.get(PAGE, {**WHOLE_DAY, "granularity": "day"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Gateway report" in html and "GW-CONTOSO" in html and "2025-03-10" in html
    assert 'id="report-data" type="application/json"' in html
    assert "js/gateway_report.js" in html and "<script>" not in html  # CSP: no inline script
    chart = response.context["chart"]
    assert chart["periods"] == [int(DAY_START.timestamp())]
    assert [series["gateway"] for series in chart["series"]] == ["GW-ACME", "GW-CONTOSO"]
    assert chart["series"][0]["asr"] == [66.67]
    assert "/api/v1/reports/gateways/?" in response.context["export_url"]
    assert "Data report" in html  # the navigation


def test_the_export_link_of_a_submitted_form_gives_the_page_s_rows(client, viewer_user, reported):
    client.force_login(viewer_user)
    form = {"side": "routing", "granularity": "day", "start": "", "end": "2025-03-11"}
    response = client.get(PAGE, {**form, "gateway": ""})
    export = client.get(response.context["export_url"])
    assert export.status_code == 200
    lines = export.content.decode().splitlines()
    assert len(lines) == len(response.context["table"].rows) + 1 == 3


def test_page_shows_bad_filters_next_to_their_fields(client, viewer_user, db) -> None:
    client.force_login(viewer_user)
    response = client.get(PAGE, {"start": "2025-03-11", "end": "2025-03-10"})
    assert response.status_code == 400
    assert "end must be later than start" in response.content.decode()


def test_days_are_days_of_the_console_time_zone(viewer_api, partitions, settings) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8: 20:00 UTC is 04:00 the next day
    store(cdr("morning", at(1)), cdr("evening", at(20)))
    aggregate_range(DAY_START, DAY_END)
    params = {"granularity": "day", "start": "2025-03-10", "end": "2025-03-12"}
    rows = viewer_api.get(URL, params).json()["results"]
    assert [(row["period_start"], row["calls"]) for row in rows] == [
        ("2025-03-10T00:00:00+08:00", 1),
        ("2025-03-11T00:00:00+08:00", 1),
    ]


@pytest.mark.parametrize(
    ("zone", "now"),
    [
        ("America/New_York", datetime(2025, 11, 20, 17, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2025, 11, 20, 11, tzinfo=UTC)),
    ],
)
def test_the_default_day_window_is_30_days_across_a_clock_change(db, settings, zone, now) -> None:
    """Its 30 days hold a 25-hour day (the autumn's clock change): still 30 whole days."""
    settings.TIME_ZONE = zone
    filterset = GatewayReportFilterSet(
        {"granularity": "day"}, queryset=GatewayHour.objects.all(), now=now
    )
    assert filterset.is_valid(), filterset.errors
    start, end = (timezone.localtime(bound) for bound in filterset.window)
    assert (start.time(), end.time()) == (time(0), time(0))
    assert (end.date() - start.date()).days == 30
