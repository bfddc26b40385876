"""One contract test per call of SPEC §9: a request as VOS3000's clients send it, and the exact
keys of the reply."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Account, Payment, Rate
from billing.partitions import ensure_cdr_partitions
from softswitch.models import CurrentCall, MappingGateway, Phone, RoutingGateway
from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key
from tests.billing.conftest import cdr, store
from tests.external import requests
from tests.softswitch.test_online_phones import bind
from vosadmin.core.models import AuditLog
from vosadmin.external.models import WebAccessRule

CDR_KEYS = {
    "flowNo", "callerE164", "calleeE164", "callerIp", "calleeIp", "callerGatewayId",
    "calleeGatewayId", "start", "stop", "holdTime", "feeTime", "fee", "feePrefix", "account",
    "accountName", "billingMode", "endReason", "endDirection",
}  # fmt: skip
CUSTOMER_KEYS = {
    "account", "name", "money", "limitMoney", "feeRateGroup", "type", "lockType",
    "todayConsumption", "memo",
}  # fmt: skip
GATEWAY_KEYS = {
    "name", "currentCall", "capacity", "asr", "acd", "remoteIps", "registerTime", "updateTime",
}  # fmt: skip
NOV_26 = date(2025, 11, 26)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def in_progress(call_id: str = "call-1@198.51.100.20", **fields) -> CurrentCall:
    started = datetime.now(UTC) - timedelta(seconds=30)
    values = {
        "call_id": call_id,
        "node": "node1",
        "caller": "2125550100",
        "callee": "8613800000000",
        "origin_type": "mapping_gateway",
        "origin": "GW-CUSTOMER",
        "routing_gateway": "VENDOR",
        "state": "connected",
        "started_at": started,
        "connected_at": started + timedelta(seconds=5),
    }
    return CurrentCall.objects.create(**{**values, **fields})


def test_get_cdr(web_api, customer) -> None:
    ensure_cdr_partitions(NOV_26 - timedelta(days=1), NOV_26 + timedelta(days=1))
    start = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
    store(
        cdr("mine", start, account=customer, fee=Decimal("1.2"), fee_prefix="86"),
        cdr("other", start, account=None),
        cdr("day after", start + timedelta(days=1), account=customer),
    )
    reply = web_api("GetCdr", requests.GET_CDR)
    assert reply["retCode"] == 0 and set(reply) == {"retCode", "infoCdrs"}
    [entry] = reply["infoCdrs"]
    assert set(entry) == CDR_KEYS
    assert entry["start"] == ms(start) and entry["stop"] == ms(start + timedelta(seconds=62))
    assert (entry["account"], entry["accountName"], entry["fee"]) == ("C100", "Acme", 1.2)
    assert (entry["holdTime"], entry["feeTime"], entry["feePrefix"]) == (60, 60, "86")
    assert (entry["callerGatewayId"], entry["calleeGatewayId"]) == ("GW-ACME", "VENDOR-ALPHA")
    assert (entry["billingMode"], entry["endReason"], entry["endDirection"]) == (1, 200, 0)
    both_days = {**requests.GET_CDR, "accounts": "", "endTime": "20251127"}
    assert len(web_api("GetCdr", both_days)["infoCdrs"]) == 3


def test_get_cdr_caller_gateway_finds_what_caller_gateway_id_shows(web_api, rule) -> None:
    """callerGatewayId is the mapping gateway's name, or the phone's number for a phone's
    call: callerGateway selects by the same value, exactly or by a prefix ending in *."""
    ensure_cdr_partitions(NOV_26, NOV_26)
    start = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)
    store(
        cdr("gateway", start),
        cdr("phone", start, mapping_gateway="", phone="1001", billing_mode=0),
        cdr("other phone", start, mapping_gateway="", phone="1002", billing_mode=0),
    )

    def ids(caller_gateway: str) -> list[str]:
        body = {**requests.GET_CDR, "accounts": "", "callerGateway": caller_gateway}
        return sorted(entry["callerGatewayId"] for entry in web_api("GetCdr", body)["infoCdrs"])

    assert ids("1001") == ["1001"]
    assert ids("100*") == ["1001", "1002"]
    assert ids("GW-ACME") == ["GW-ACME"]
    assert ids("") == ["1001", "1002", "GW-ACME"]


def test_get_cdr_streams_a_large_range(web_api, rule) -> None:
    from tests.external.conftest import post

    ensure_cdr_partitions(NOV_26, NOV_26)
    start = datetime(2025, 11, 26, 1, 0, tzinfo=UTC)
    store(*(cdr(f"c{i}", start + timedelta(seconds=i)) for i in range(1500)))
    response = post("GetCdr", {"beginTime": "20251126", "endTime": "20251126"})
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # ~64 KB chunks, not one body built in memory
    assert len(json.loads(b"".join(chunks))["infoCdrs"]) == 1500


def test_under_asgi_get_cdr_is_streamed_asynchronously(web_api, rule) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    WebAccessRule.objects.create(allowed=["127.0.0.1"], memo="ASGI test client")
    ensure_cdr_partitions(NOV_26, NOV_26)
    store(*(cdr(f"c{i}", datetime(2025, 11, 26, 1, i, tzinfo=UTC)) for i in range(20)))
    body = {"beginTime": "20251126", "endTime": "20251126"}

    async def download() -> tuple[bool, bytes]:
        response = await AsyncClient().post(  # from 127.0.0.1
            "/external/server/GetCdr", json.dumps(body), content_type="text/html"
        )
        return response.is_async, b"".join([chunk async for chunk in response.streaming_content])

    is_async, content = async_to_sync(download)()
    assert is_async and json.loads(content) == web_api("GetCdr", body)


def test_get_current_call(web_api, db) -> None:
    in_progress()
    in_progress("call-2", caller="999", origin="OTHER")
    reply = web_api("GetCurrentCall", requests.GET_CURRENT_CALL)
    assert reply["retCode"] == 0 and len(reply["infoCurrentCalls"]) == 2
    reply = web_api("GetCurrentCall", {**requests.GET_CURRENT_CALL, "callerE164s": "2125550100"})
    [entry] = reply["infoCurrentCalls"]
    assert set(entry) == {
        "callerE164", "calleeE164", "callerGatewayId", "calleeGatewayId", "connectedTime",
        "keepTime", "callId",
    }  # fmt: skip
    assert entry["callId"] == "call-1@198.51.100.20" and 20 <= entry["keepTime"] <= 30
    reply = web_api("GetCurrentCall", {"gatewayMappingName": "OTHER"})
    assert [call["callId"] for call in reply["infoCurrentCalls"]] == ["call-2"]


@pytest.mark.django_db(transaction=True)  # NOTIFY is delivered on commit
def test_disconnect_current_call_is_logged_and_unknown_ids_refused(web_api) -> None:
    from tests.helpers import listening

    in_progress()
    with listening("vosadmin_config") as receive:
        assert web_api("DisconnectCurrentCall", requests.DISCONNECT_CURRENT_CALL) == {"retCode": 0}
        notes = receive()
    assert {"kind": "current_call", "action": "disconnect", "key": "call-1@198.51.100.20"} in notes
    entry = AuditLog.objects.get(action="disconnect")
    assert entry.username == "web API billing portal (198.51.100.7)" and entry.user is None
    reply = web_api("DisconnectCurrentCall", {"callIds": ["nope"]})
    assert reply["retCode"] == -4 and "callIds" in reply["exception"]


def test_get_phone_online_and_all(web_api, db) -> None:
    registration = bind("1001")
    Phone.objects.create(e164="1002", password="pw")
    in_progress(origin_type="phone", origin="1001")
    [entry] = web_api("GetPhoneOnline", requests.GET_PHONE_ONLINE)["infoPhoneOnlines"]
    assert set(entry) == {
        "e164", "currentCall", "remoteIp", "localIp", "registerTime", "updateTime", "protocol",
    }  # fmt: skip
    assert (entry["e164"], entry["currentCall"]) == ("1001", 1)
    assert entry["remoteIp"] == "192.0.2.7:5060"
    now = registration.registered_at
    assert entry["registerTime"] == ms(now.replace(microsecond=now.microsecond // 1000 * 1000))
    assert web_api("GetAllPhoneOnline") == {"retCode": 0, "e164s": ["1001"]}


def test_get_gateway_mapping_and_routing_online(web_api, db) -> None:
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=["198.51.100.40"], capacity=30)
    RoutingGateway.objects.create(name="GW-CUSTOMER", host="192.0.2.5", prefixes=["86", "44"])
    in_progress()
    [mapping] = web_api("GetGatewayMappingOnline", requests.GET_GATEWAY_ONLINE)[
        "infoGatewayMappingOnlines"
    ]
    assert set(mapping) == GATEWAY_KEYS
    assert (mapping["currentCall"], mapping["capacity"]) == (1, 30)
    assert mapping["remoteIps"] == "198.51.100.40"
    [routing] = web_api("GetGatewayRoutingOnline", requests.GET_GATEWAY_ONLINE)[
        "infoGatewayRoutingOnlines"
    ]
    assert set(routing) == GATEWAY_KEYS | {"prefix", "responseRatio", "connectedRatio"}
    assert routing["prefix"] == "86,44" and routing["remoteIps"] == "192.0.2.5:5060"


def test_get_customer_and_all_customers(web_api, customer) -> None:
    Account.objects.create(account="V1", type=2)
    [entry] = web_api("GetCustomer", requests.GET_CUSTOMER)["infoCustomers"]
    assert set(entry) == CUSTOMER_KEYS
    assert (entry["money"], entry["limitMoney"], entry["feeRateGroup"]) == (100.0, 20.0, "RETAIL")
    assert (entry["type"], entry["lockType"], entry["todayConsumption"]) == (0, 0, 0.0)
    reply = web_api("GetAllCustomers", requests.GET_ALL_CUSTOMERS)
    assert reply["accounts"] == ["C100"]
    assert reply["infoCustomerBriefs"] == [{"account": "C100", "money": 100.0, "limitMoney": 20.0}]
    assert web_api("GetAllCustomers")["accounts"] == ["C100", "V1"]


def test_create_customer_with_opening_balance(web_api, customer) -> None:
    assert web_api("CreateCustomer", requests.CREATE_CUSTOMER) == {"retCode": 0}
    created = Account.objects.get(account="C200")
    assert (created.balance, created.credit_limit, created.rate_group.name) == (
        Decimal(50),
        Decimal(10),
        "RETAIL",
    )
    assert Payment.objects.get(account=created).amount == Decimal(50)
    assert set(AuditLog.objects.values_list("action", flat=True)) == {"create", "payment"}
    assert set(AuditLog.objects.values_list("username", flat=True)) == {
        "web API billing portal (198.51.100.7)"
    }
    again = web_api("CreateCustomer", requests.CREATE_CUSTOMER)
    assert again["retCode"] == -5 and again["exception"].startswith("account:")


def test_modify_customer_changes_only_given_fields(web_api, customer) -> None:
    assert web_api("ModifyCustomer", requests.MODIFY_CUSTOMER) == {"retCode": 0}
    customer.refresh_from_db()
    assert (customer.credit_limit, customer.locked, customer.memo, customer.name) == (
        Decimal(30),
        True,
        "late payer",
        "Acme",
    )
    assert customer.balance == Decimal(100)
    before, after = AuditLog.objects.get().changes["credit_limit"]
    assert (Decimal(before), Decimal(after)) == (20, 30)
    reply = web_api("ModifyCustomer", {"account": "C100", "feeRateGroup": "NOPE"})
    assert reply["retCode"] == -4 and "feeRateGroup" in reply["exception"]


def test_pay_and_pay_history(web_api, customer) -> None:
    reply = web_api("Pay", requests.PAY)
    assert reply == {
        "retCode": 0,
        "infoPay": {"account": "C100", "money": 125.5, "payMoney": 25.5},
    }
    payment = Payment.objects.get()
    assert payment.username == "web API billing portal (198.51.100.7)"
    assert payment.memo == "bank transfer 4711"
    assert AuditLog.objects.get().action == "payment"
    refused = web_api("Pay", {**requests.PAY, "money": "-200"})
    assert refused["retCode"] == -5 and refused["exception"].startswith("money:")
    [entry] = web_api("GetPayHistory", requests.GET_PAY_HISTORY)["infoPayHistorys"]
    assert entry == {
        "account": "C100",
        "fee": 25.5,
        "type": 0,
        "customerMoney": 125.5,
        "payTime": ms(payment.created),
        "memo": "bank transfer 4711",
    }
    early = {**requests.GET_PAY_HISTORY, "endTime": "20250101000001"}
    assert web_api("GetPayHistory", early)["infoPayHistorys"] == []


def test_get_fee_rate(web_api, customer) -> None:
    [entry] = web_api("GetFeeRate", requests.GET_FEE_RATE)["infoFeeRates"]
    assert entry == {
        "feePrefix": "86",
        "areaName": "China",
        "fee": 0.6,
        "period": 60,
        "infoFeeRateSections": [],
    }
    assert web_api("GetFeeRate", {"feeRateGroup": ["RETAIL"], "areaCodes": ["44"]}) == {
        "retCode": 0,
        "infoFeeRates": [],
    }


def test_get_available_time(web_api, customer) -> None:
    Account.objects.filter(pk=customer.pk).update(balance=Decimal(10))
    # 10 + 20 credit available: 0.60 a minute buys 50 minutes
    assert web_api("GetAvailableTime", requests.GET_AVAILABLE_TIME) == {
        "retCode": 0,
        "timeRemain": 3000,
    }
    unrated = {**requests.GET_AVAILABLE_TIME, "calleeE164": "4420"}
    assert web_api("GetAvailableTime", unrated)["timeRemain"] == -21  # no rate
    Account.objects.filter(pk=customer.pk).update(balance=Decimal(-20))
    assert web_api("GetAvailableTime", requests.GET_AVAILABLE_TIME)["timeRemain"] == -22
    Phone.objects.create(e164="1001", password="pw", account=customer)
    by_phone = {"e164": "1001", "calleeE164": "8613800000000"}
    assert web_api("GetAvailableTime", by_phone)["timeRemain"] == -22


def test_get_available_time_of_a_first_fee_charged_rounded_down(web_api, customer) -> None:
    """0.6040 is charged 0.60 (two places): 0.60 of money buys the first minute, not less."""
    Rate.objects.filter(rate_group__name="RETAIL").update(first_fee=Decimal("0.6040"))
    Account.objects.filter(pk=customer.pk).update(balance=Decimal("0.60"), credit_limit=0)
    assert web_api("GetAvailableTime", requests.GET_AVAILABLE_TIME)["timeRemain"] == 60
    Account.objects.filter(pk=customer.pk).update(balance=Decimal("1.20"))
    assert web_api("GetAvailableTime", requests.GET_AVAILABLE_TIME)["timeRemain"] == 120


def test_get_performance(web_api, db, redis_client) -> None:
    in_progress()
    redis_client.hset(HEARTBEATS_KEY, mapping={"engine:n1": 1, "engine:n2": 1, "worker:h": 1})
    redis_client.set(cdr_backlog_key("n1"), 7, ex=10)
    redis_client.set(cdr_backlog_key("n2"), 5, ex=10)
    assert web_api("GetPerformance") == {"retCode": 0, "callSize": 1, "cdrQueueSize": 12}


@pytest.mark.parametrize("name", sorted(requests.EVERY_CALL))
def test_every_call_answers_with_the_envelope(web_api, customer, name) -> None:
    reply = web_api(name, requests.EVERY_CALL[name])
    assert reply["retCode"] == 0 or "exception" in reply


def test_unknown_call_is_retcode_minus_one(web_api) -> None:
    reply = web_api("GetEverything", {})
    assert reply == {"retCode": -1, "exception": "Unknown call: GetEverything"}


def test_get_cdr_days_are_in_the_console_time_zone(web_api, settings) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"  # UTC+8
    ensure_cdr_partitions(NOV_26 - timedelta(days=1), NOV_26 + timedelta(days=1))
    store(
        cdr("26th 01:00 in Shanghai", datetime(2025, 11, 25, 17, 0, tzinfo=UTC)),
        cdr("27th 01:00 in Shanghai", datetime(2025, 11, 26, 17, 0, tzinfo=UTC)),
    )
    reply = web_api("GetCdr", {"beginTime": "20251126", "endTime": "20251126"})
    assert [entry["start"] for entry in reply["infoCdrs"]] == [
        ms(datetime(2025, 11, 25, 17, 0, tzinfo=UTC))
    ]


def test_get_available_time_of_an_account_in_debt_with_a_free_first_period(
    web_api, customer
) -> None:
    """The engine admits the call (its first minute is charged 0.00) and cuts it after that
    minute: GetAvailableTime answers that minute, not "insufficient balance"."""
    Rate.objects.filter(rate_group__name="RETAIL").update(first_fee=Decimal("0.004"))
    Account.objects.filter(pk=customer.pk).update(balance=Decimal(-30), credit_limit=0)
    assert web_api("GetAvailableTime", requests.GET_AVAILABLE_TIME)["timeRemain"] == 60
