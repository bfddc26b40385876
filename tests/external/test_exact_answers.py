"""The Web API answers what the ledger and the rate table hold, exactly: money as the exact
decimal number (never through a float), the one rate version in force, and the retCode the
README gives for an unknown account or a refused payment."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import Account, Payment, Rate
from billing.payments import make_payment
from tests.external.conftest import post

LARGE = Decimal("1234567890123.4567")  # 17 digits: a float keeps about 16


def exact(response) -> dict:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return json.loads(content, parse_float=Decimal)


def test_get_customer_answers_a_large_balance_exactly(web_api, customer) -> None:
    make_payment(customer.pk, LARGE - customer.balance, "top-up", None)
    reply = exact(post("GetCustomer", {"accounts": ["C100"]}))
    assert reply["infoCustomers"][0]["money"] == LARGE


def test_pay_and_its_history_answer_exactly(web_api, customer) -> None:
    make_payment(customer.pk, LARGE - customer.balance - 23, "top-up", None)
    reply = exact(post("Pay", {"ownerName": "C100", "money": "23", "memo": "x"}))
    assert reply["retCode"] == 0, reply
    assert Payment.objects.latest("id").balance_after == LARGE
    assert reply["infoPay"] == {"account": "C100", "money": LARGE, "payMoney": Decimal(23)}
    history = exact(post("GetPayHistory", {"account": "C100"}))["infoPayHistorys"]
    assert history[-1]["customerMoney"] == LARGE


def test_a_json_number_with_more_than_four_places_is_refused_like_its_text(
    web_api, customer
) -> None:
    """1.00000000000000001 read as a float is 1.0, which was paid; as text it is refused."""
    for raw in (b'{"ownerName":"C100","money":1.00000000000000001}',
                b'{"ownerName":"C100","money":"1.00000000000000001"}'):  # fmt: skip
        reply = web_api("Pay", raw=raw)
        assert reply["retCode"] == -3 and reply["exception"].startswith("money:"), reply
    customer.refresh_from_db()
    assert customer.balance == Decimal(100)


def test_get_fee_rate_lists_only_the_version_in_force(web_api, customer) -> None:
    """Prefix 86 was 0.60 until yesterday, when a version at 0.50 took over: the switch charges
    0.50, and GetFeeRate must not show 0.60 beside it."""
    now = timezone.now()
    Rate.objects.filter(rate_group=customer.rate_group).update(
        effective_from=now - timedelta(days=30)
    )
    Rate.objects.create(
        rate_group=customer.rate_group,
        prefix="86",
        area_name="China",
        first_period=60,
        first_fee=Decimal("0.5"),
        period=60,
        fee=Decimal("0.5"),
        effective_from=now - timedelta(days=1),
    )
    Rate.objects.create(
        rate_group=customer.rate_group,
        prefix="86",
        period=60,
        fee=Decimal("0.4"),
        effective_from=now + timedelta(days=7),  # next week's price: not in force yet
    )
    reply = web_api("GetFeeRate", {"feeRateGroup": "RETAIL", "areaCodes": ["86"]})
    assert reply["retCode"] == 0, reply
    assert [(rate["feePrefix"], rate["fee"]) for rate in reply["infoFeeRates"]] == [("86", 0.5)]


def test_get_available_time_of_an_unknown_account_is_not_found(web_api, customer) -> None:
    reply = web_api("GetAvailableTime", {"account": "NOPE", "calleeE164": "8613800000000"})
    assert reply["retCode"] == -4 and reply["exception"].startswith("account:"), reply


def test_create_customer_with_a_refused_opening_deduction_is_refused(web_api, customer) -> None:
    assert web_api("Pay", {"ownerName": "C100", "money": "-121"})["retCode"] == -5
    reply = web_api("CreateCustomer", {"account": "C9", "money": "-10"})
    assert reply["retCode"] == -5, reply
    assert not Account.objects.filter(account="C9").exists()


def test_get_pay_history_names_the_end_time_it_cannot_use(web_api, customer, settings) -> None:
    """West of UTC, endTime 99991231235958 (+1 s, exclusive) is past year 9999 in UTC: no end,
    as 99991231235959 already is (the answer blamed beginTime, which was not sent)."""
    settings.TIME_ZONE = "America/New_York"
    reply = web_api("GetPayHistory", {"account": "C100", "endTime": "99991231235958"})
    assert reply["retCode"] == 0, reply
