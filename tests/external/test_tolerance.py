"""Tolerant input as VOS3000's clients send it (issue 12 item 2), and clear errors otherwise."""

from __future__ import annotations

import json

import pytest

from tests.external.conftest import post


@pytest.mark.parametrize("content_type", ["text/html;charset=UTF-8", "application/json", None])
def test_any_content_type(web_api, customer, content_type) -> None:
    reply = web_api("GetCustomer", {"accounts": ["C100"]}, content_type=content_type)
    assert [entry["account"] for entry in reply["infoCustomers"]] == ["C100"]


@pytest.mark.parametrize("raw", [b"", b"{}", b"null", b"  \n", b"\xef\xbb\xbf{}"])
def test_empty_bodies(web_api, customer, raw) -> None:
    assert web_api("GetCustomer", raw=raw)["retCode"] == 0


@pytest.mark.parametrize("absent", ["", None, []])
def test_empty_or_null_list_means_absent(web_api, customer, absent) -> None:
    reply = web_api("GetCustomer", {"accounts": absent})
    assert [entry["account"] for entry in reply["infoCustomers"]] == ["C100"]


def test_single_string_where_a_list_is_expected(web_api, customer) -> None:
    assert web_api("GetCustomer", {"accounts": "C100"})["infoCustomers"][0]["account"] == "C100"
    assert web_api("GetFeeRate", {"feeRateGroup": "RETAIL"})["infoFeeRates"][0]["fee"] == 0.6
    assert web_api("GetFeeRate", {"feeRateGroup": ["RETAIL"]})["infoFeeRates"]


def test_numbers_as_strings_and_strings_as_numbers(web_api, customer) -> None:
    assert web_api("Pay", {"ownerName": "C100", "ownerType": "2", "money": "1.5"})["retCode"] == 0
    assert web_api("Pay", {"ownerName": "C100", "ownerType": 2, "money": 1.5})["retCode"] == 0
    assert web_api("GetAllCustomers", {"type": "2"}) == {
        "retCode": 0,
        "accounts": [],
        "infoCustomerBriefs": [],
    }


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("Pay", {"ownerName": "C100"}, "money"),
        ("Pay", {"money": "5"}, "ownerName"),
        ("Pay", {"ownerName": "C100", "money": "abc"}, "money"),
        ("Pay", {"ownerName": "C100", "money": "1.23456"}, "money"),
        ("Pay", {"ownerName": "C100", "money": "5", "ownerType": 1}, "ownerType"),
        ("GetCdr", {"beginTime": "2025-11-26"}, "beginTime"),
        ("GetCdr", {"beginTime": "20251127", "endTime": "20251126"}, "endTime"),
        ("GetCdr", {"callerE164": "1*2"}, "callerE164"),
        ("GetPayHistory", {"account": "C100", "beginTime": "20251301000000"}, "beginTime"),
        ("GetAllCustomers", {"type": 7}, "type"),
        ("GetAllCustomers", {"type": "x"}, "type"),
        ("CreateCustomer", {"name": "no code"}, "account"),
        ("CreateCustomer", {"account": "C9", "limitMoney": "-1"}, "limitMoney"),
        ("CreateCustomer", {"account": "C9", "lockType": 3}, "lockType"),
        ("ModifyCustomer", {"account": "NOPE"}, "account"),
        ("GetAvailableTime", {"account": "C100"}, "calleeE164"),
        ("GetCustomer", {"accounts": [{"nested": 1}]}, "accounts"),
        ("DisconnectCurrentCall", {}, "callIds"),
    ],
)
def test_a_bad_field_is_named(web_api, customer, name, body, field) -> None:
    reply = web_api(name, body)
    assert reply["retCode"] not in (0, -9), reply
    assert reply["exception"].startswith(f"{field}:"), reply


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"NaN", b"{'a': 1}"])
def test_malformed_bodies(web_api, raw) -> None:
    reply = web_api("GetPerformance", raw=raw)
    assert reply["retCode"] == -2 and reply["exception"].startswith("body:")


def test_nothing_half_written_on_a_bad_create(web_api, customer) -> None:
    from billing.models import Account, Payment

    reply = web_api("CreateCustomer", {"account": "C9", "money": "1.23456"})
    assert reply["exception"].startswith("money:")
    assert not Account.objects.filter(account="C9").exists() and not Payment.objects.exists()


def test_replies_are_json_with_status_200(rule) -> None:
    response = post("NoSuchCall", {})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["retCode"] == -1


def test_a_body_over_the_upload_limit_is_a_bad_body(web_api, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    reply = web_api("GetCustomer", {"accounts": ["C" * 200]})
    assert reply == {"retCode": -2, "exception": "body: too large"}
