"""The Web API's list fields go through the console's FilterSets: the same query asked of the
Web API and of the REST API (its parameter repeated) gives the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Account, Rate, RateGroup
from billing.partitions import ensure_cdr_partitions
from softswitch.models import MappingGateway, RoutingGateway
from tests.billing.conftest import cdr, store
from tests.external.test_contract import NOV_26, in_progress
from tests.softswitch.test_online_phones import bind

pytestmark = pytest.mark.django_db


def rest(api, url: str, **params) -> list[dict]:
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_get_cdr_accounts_are_the_cdr_filter_s_accounts(web_api, viewer_api) -> None:
    ensure_cdr_partitions(NOV_26, NOV_26 + timedelta(days=1))
    start = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
    accounts = [Account.objects.create(account=code) for code in ("C1", "C2", "C3")]
    store(*(cdr(f"call-{a.account}", start, account=a) for a in accounts), cdr("none", start))
    body = {"accounts": ["C1", "C3"], "beginTime": "20251126", "endTime": "20251126"}
    web = {row["flowNo"] for row in web_api("GetCdr", body)["infoCdrs"]}
    window = {"start_after": "2025-11-26", "start_before": "2025-11-27"}
    rows = rest(viewer_api, "/api/v1/cdrs/", account=["C1", "C3"], **window)
    assert web == {row["flow_no"] for row in rows} and len(web) == 2
    one = rest(viewer_api, "/api/v1/cdrs/", account="C2", **window)  # one value as before
    assert [row["call_id"] for row in one] == ["call-C2"]


def test_get_current_call_numbers_are_the_current_calls_filter_s(web_api, viewer_api) -> None:
    in_progress("a", caller="1001", callee="8610")
    in_progress("b", caller="1002", callee="8620")
    in_progress("c", caller="10010", callee="8610")
    reply = web_api("GetCurrentCall", {"callerE164s": ["1001", "1002"], "calleeE164s": "8610"})
    web = {call["callId"] for call in reply["infoCurrentCalls"]}
    rows = rest(viewer_api, "/api/v1/calls/", caller_exact=["1001", "1002"], callee_exact="8610")
    assert web == {row["call_id"] for row in rows} == {"a"}
    by_prefix = rest(viewer_api, "/api/v1/calls/", caller="1001")  # starts with, as before
    assert {row["call_id"] for row in by_prefix} == {"a", "c"}


def test_get_phone_online_numbers_are_the_online_phones_filter_s(web_api, viewer_api) -> None:
    for e164 in ("1001", "1002", "10010"):
        bind(e164)
    reply = web_api("GetPhoneOnline", {"e164s": ["1001", "10010"]})
    web = [entry["e164"] for entry in reply["infoPhoneOnlines"]]
    rows = rest(viewer_api, "/api/v1/registrations/", e164_exact=["1001", "10010"])
    assert web == sorted(row["e164"] for row in rows) == ["1001", "10010"]


def test_online_gateway_names_are_the_gateway_filter_s(web_api, viewer_api) -> None:
    for name in ("GW-A", "GW-B", "GW-C"):
        MappingGateway.objects.create(name=name, ips=[f"198.51.100.{len(name) + ord(name[-1])}"])
        RoutingGateway.objects.create(name=name, host="192.0.2.5", prefixes=["86"])
    for call, url in (
        ("GetGatewayMappingOnline", "/api/v1/gateways/mapping/"),
        ("GetGatewayRoutingOnline", "/api/v1/gateways/routing/"),
    ):
        [entries] = [
            v for k, v in web_api(call, {"names": ["GW-A", "GW-C"]}).items() if k != "retCode"
        ]
        rows = rest(viewer_api, url, name=["GW-A", "GW-C"])
        assert [e["name"] for e in entries] == sorted(r["name"] for r in rows) == ["GW-A", "GW-C"]


def test_get_fee_rate_area_codes_are_the_rate_filter_s(web_api, viewer_api) -> None:
    group = RateGroup.objects.create(name="RETAIL")
    for prefix in ("86", "8610", "44"):
        Rate.objects.create(rate_group=group, prefix=prefix, period=60, fee=Decimal("0.5"))
    reply = web_api("GetFeeRate", {"feeRateGroup": "RETAIL", "areaCodes": ["86", "44"]})
    web = sorted(rate["feePrefix"] for rate in reply["infoFeeRates"])
    rows = rest(viewer_api, "/api/v1/rates/", rate_group=group.pk, prefix_exact=["86", "44"])
    assert web == sorted(row["prefix"] for row in rows) == ["44", "86"]


def test_a_value_the_filter_refuses_names_the_web_api_field(web_api) -> None:
    reply = web_api("GetCurrentCall", {"callerE164s": ["1" * 65]})
    assert reply["retCode"] == -3 and reply["exception"].startswith("callerE164s:")
    reply = web_api("GetCdr", {"accounts": ["C" * 33]})
    assert reply["retCode"] == -3 and reply["exception"].startswith("accounts:")


def test_the_console_page_takes_the_repeated_parameter(client, viewer_user) -> None:
    in_progress("a", caller="1001")
    in_progress("b", caller="1002")
    in_progress("c", caller="1003")
    client.force_login(viewer_user)
    page = client.get("/current-calls/", {"caller_exact": ["1001", "1003"]})
    html = page.content.decode()
    assert page.status_code == 200 and "1002" not in html and "1001" in html and "1003" in html
    assert html.count('type="text" name="caller_exact"') == 2  # a box per value, kept


def test_get_customer_accounts_are_the_account_filter_s(web_api, viewer_api) -> None:
    for code in ("C1", "C2", "C10"):
        Account.objects.create(account=code)
    web = [
        entry["account"]
        for entry in web_api("GetCustomer", {"accounts": ["C1", "C10"]})["infoCustomers"]
    ]
    rows = rest(viewer_api, "/api/v1/accounts/", account=["C1", "C10"])
    assert web == sorted(row["account"] for row in rows) == ["C1", "C10"]
