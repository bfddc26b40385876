"""Every CDR filter, alone and combined (one FilterSet serves the page and the API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.partitions import ensure_cdr_partitions
from tests.billing.conftest import DAY, at, cdr, day_range, store

ILLEGAL = {
    "billing_mode": -2,
    "end_reason": -1,
    "end_direction": 2,
    "hold_time_ms": 0,
    "mapping_gateway": "",
    "routing_gateway": "",
    "callee_ip": "",
}
GATEWAY_CALLS = {"gw-busy", "gw-long", "gw-other"}


@pytest.fixture
def cdrs(partitions) -> None:
    """A day of varied calls, plus one the day before and one the day after."""
    store(
        cdr(
            "phone-answered",
            at(1),
            billing_mode=0,
            phone="1001",
            caller="1001",
            callee="8613800001111",
            caller_ip="10.1.2.3:5060",
            mapping_gateway="",
            hold_time_ms=95_000,
            end_direction=0,
        ),
        cdr(
            "gw-busy",
            at(2),
            caller="2125550100",
            callee="8613800002222",
            routing_gateway="VENDOR-BRAVO",
            hold_time_ms=0,
            end_reason=486,
            end_direction=1,
        ),
        cdr(
            "gw-long",
            at(3),
            caller="2125550199",
            caller_ip="198.51.100.10:5070",
            hold_time_ms=3_600_000,
            end_direction=1,
        ),
        cdr(
            "gw-other",
            at(4),
            caller="86138",
            callee="861380000",
            caller_ip="203.0.113.30:5060",
            callee_ip="192.0.2.70:5060",
            mapping_gateway="GW-NORTHWIND",
            routing_gateway="VENDOR-CHARLIE",
            hold_time_ms=0,
            end_reason=503,
            end_direction=1,
        ),
        cdr("illegal-scan", at(5), caller="sipvicious", caller_ip="45.77.1.2:5060", **ILLEGAL),
        cdr("illegal-100", at(6), caller="100", caller_ip="45.77.9.9:5062", **ILLEGAL),
        cdr(
            "no-route",
            at(7),
            billing_mode=-1,
            caller="8613812345678",
            caller_ip="10.1.2.4:5060",
            phone="1002",
            mapping_gateway="",
            routing_gateway="",
            hold_time_ms=0,
            end_reason=-12,
            end_direction=2,
        ),
        cdr(
            "ipv6-phone",
            at(8),
            billing_mode=0,
            phone="1003",
            caller="1003",
            caller_ip="[2001:db8::1]:5060",
            mapping_gateway="",
            hold_time_ms=30_500,
        ),
        cdr("day-before", at(-1)),
        cdr("day-after", at(25)),
    )


def names(api, **params) -> set[str]:
    """Call-IDs of the CDRs the API lists for `params` over DAY."""
    response = api.get("/api/v1/cdrs/", {**day_range(), "limit": 1000, **params})
    assert response.status_code == 200, response.json()
    return {row["call_id"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {},
            GATEWAY_CALLS
            | {"phone-answered", "illegal-scan", "illegal-100", "no-route"}
            | {"ipv6-phone"},
        ),
        ({"billing_mode": -2}, {"illegal-scan", "illegal-100"}),
        ({"billing_mode": [-2, 1]}, {"illegal-scan", "illegal-100"} | GATEWAY_CALLS),
        ({"billing_mode": [0, -1]}, {"phone-answered", "ipv6-phone", "no-route"}),
        ({"billing_mode": 3}, set()),
        ({"caller": "1001"}, {"phone-answered"}),
        ({"caller": "2125550*"}, {"gw-busy", "gw-long"}),
        ({"caller": "86138"}, {"gw-other"}),
        ({"caller": "86138*"}, {"gw-other", "no-route"}),
        (
            {"caller": "*"},
            GATEWAY_CALLS
            | {"phone-answered", "illegal-scan", "illegal-100"}
            | {"no-route", "ipv6-phone"},
        ),
        ({"callee": "8613800002222"}, {"gw-busy"}),
        ({"callee": "86138*"}, {"phone-answered", "gw-busy", "gw-other"}),
        ({"callee": "8613"}, set()),
        ({"caller_ip": "198.51.100.10"}, {"gw-busy", "gw-long"}),
        ({"caller_ip": "198.51.100.10:5070"}, {"gw-long"}),
        ({"caller_ip": "45.77.*"}, {"illegal-scan", "illegal-100"}),
        ({"caller_ip": "2001:db8::1"}, {"ipv6-phone"}),
        ({"caller_ip": "[2001:db8::1]:5060"}, {"ipv6-phone"}),
        ({"callee_ip": "192.0.2.70"}, {"gw-other"}),
        ({"mapping_gateway": "GW-ACME"}, {"gw-busy", "gw-long"}),
        ({"mapping_gateway": "GW-N*"}, {"gw-other"}),
        ({"phone": "1001"}, {"phone-answered"}),
        ({"phone": "100*"}, {"phone-answered", "no-route", "ipv6-phone"}),
        ({"routing_gateway": "VENDOR-BRAVO"}, {"gw-busy"}),
        ({"end_reason": 486}, {"gw-busy"}),
        ({"end_reason": [-1, 503]}, {"illegal-scan", "illegal-100", "gw-other"}),
        ({"end_reason": 499}, set()),
        ({"end_direction": 2}, {"illegal-scan", "illegal-100", "no-route"}),
        ({"end_direction": [0, 1]}, GATEWAY_CALLS | {"phone-answered", "ipv6-phone"}),
        ({"hold_time_min": 60}, {"phone-answered", "gw-long"}),
        ({"hold_time_min": 95, "hold_time_max": 95}, {"phone-answered"}),
        ({"hold_time_min": "94.9995", "hold_time_max": "95.0005"}, {"phone-answered"}),
        ({"hold_time_min": "30.5", "hold_time_max": 90}, {"ipv6-phone"}),
        (
            {"hold_time_max": 0},
            {"gw-busy", "gw-other", "illegal-scan", "illegal-100"} | {"no-route"},
        ),
    ],
)
def test_each_filter(viewer_api, cdrs, params, expected) -> None:
    assert names(viewer_api, **params) == expected


def test_filters_combine_with_and(viewer_api, cdrs) -> None:
    assert names(viewer_api, billing_mode=[1, -2], caller_ip="198.51.100.10", end_reason=200) == {
        "gw-long"
    }
    assert names(viewer_api, billing_mode=-2, caller="1*", end_direction=2) == {"illegal-100"}
    assert names(viewer_api, callee="86138*", end_reason=[486, 503], hold_time_max=0) == {
        "gw-busy",
        "gw-other",
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"start_after": at(3).isoformat(), "start_before": at(5).isoformat()},
            {"gw-long", "gw-other"},
        ),
        (
            {"start_after": "2025-03-10T03:00:00Z", "start_before": "2025-03-10T03:00:00.000001Z"},
            {"gw-long"},
        ),
        ({"start_after": "2025-03-10 08:00", "start_before": "2025-03-11"}, {"ipv6-phone"}),
        (
            {
                "start_after": "2025-03-10T08:00:00+02:00",
                "start_before": "2025-03-10T10:00:00+02:00",
            },
            {"illegal-100", "no-route"},
        ),
        # `+02:00` sent unencoded in a URL arrives as a space.
        (
            {
                "start_after": "2025-03-10T08:00:00 02:00",
                "start_before": "2025-03-10T10:00:00 02:00",
            },
            {"illegal-100", "no-route"},
        ),
        (
            {"start_after": "2025-03-09T00:00:00Z", "start_before": "2025-03-12T00:00:00Z"},
            GATEWAY_CALLS
            | {"phone-answered", "illegal-scan", "illegal-100", "no-route"}
            | {"ipv6-phone", "day-before", "day-after"},
        ),
    ],
)
def test_start_range_is_inclusive_after_and_exclusive_before(viewer_api, cdrs, params, expected):
    response = viewer_api.get("/api/v1/cdrs/", params)
    assert {row["call_id"] for row in response.json()["results"]} == expected


def test_without_a_start_range_the_last_24_hours_are_listed(viewer_api, db) -> None:
    now = timezone.now()
    ensure_cdr_partitions((now - timedelta(days=3)).date(), now.date())
    store(
        cdr("an-hour-ago", now - timedelta(hours=1)),
        cdr("23-hours-ago", now - timedelta(hours=23)),
        cdr("25-hours-ago", now - timedelta(hours=25)),
        cdr("49-hours-ago", now - timedelta(hours=49)),
    )
    listed = viewer_api.get("/api/v1/cdrs/").json()["results"]
    assert [row["call_id"] for row in listed] == ["an-hour-ago", "23-hours-ago"]
    before = (now - timedelta(hours=24)).isoformat()
    listed = viewer_api.get("/api/v1/cdrs/", {"start_before": before}).json()["results"]
    assert [row["call_id"] for row in listed] == ["25-hours-ago"]


def test_the_page_filters_with_the_same_filterset(client, viewer_user, cdrs) -> None:
    client.force_login(viewer_user)
    response = client.get(
        "/cdrs/", {**day_range(), "billing_mode": [-2, 0], "caller": "1*", "end_direction": 2}
    )
    assert response.status_code == 200
    assert [row.call_id for row in response.context["table"].data] == ["illegal-100"]


def test_codes_come_with_their_names(viewer_api, cdrs) -> None:
    rows = viewer_api.get("/api/v1/cdrs/", {**day_range(), "billing_mode": -2}).json()["results"]
    assert {(row["billing_mode"], row["billing_mode_name"]) for row in rows} == {
        (-2, "Illegal call")
    }
    assert {(row["end_reason"], row["end_reason_name"]) for row in rows} == {
        (-1, "Illegal call: unknown source")
    }
    assert {(row["end_direction"], row["end_direction_name"]) for row in rows} == {(2, "Server")}


def test_detail_by_flow_number_ignores_the_filters(viewer_api, cdrs) -> None:
    old = viewer_api.get("/api/v1/cdrs/", {**day_range(DAY - timedelta(days=1))}).json()
    flow_no = old["results"][0]["flow_no"]
    response = viewer_api.get(f"/api/v1/cdrs/{flow_no}/")
    assert response.status_code == 200 and response.json()["call_id"] == "day-before"
    assert viewer_api.get("/api/v1/cdrs/1/").status_code == 404
    assert viewer_api.get(f"/api/v1/cdrs/{'9' * 30}/").status_code == 404
