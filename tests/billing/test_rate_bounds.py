"""A rate is bounded by what a CDR can hold: the fee of the longest call the switch allows
(24 hours, the largest SS_SIP_NO_TIMER_REINVITE_INTERVAL) must fit the CDR's fee and cost
columns (numeric(14, 4)). An unbounded vendor rate (a prefix typed into the fee column) gave
a CDR PostgreSQL refused, and from then on no CDR was written and no fee charged."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError

from billing.models import Rate, RateGroup
from tests.billing.test_rates_csv import HEADER, post

# 115,740 a second for 86,400 s is 9,999,936,000: the largest whole fee per second that fits.
LARGEST = {"period": 1, "fee": "115740.0000", "first_fee": "63999.0000"}
TOO_LARGE = [
    ({"period": 1, "fee": "115741"}, "fee"),
    ({"period": 60, "fee": "6944445"}, "fee"),  # 1,440 minutes
    ({"period": 1, "fee": "115740", "first_fee": "64000.0001"}, "fee"),
    ({"period": 60, "fee": "0", "first_fee": "10000000000"}, "first_fee"),
]


@pytest.fixture
def group(db) -> RateGroup:
    return RateGroup.objects.create(name="Carrier")


def api_rate(group: RateGroup, **terms: str | int) -> dict:
    return {"rate_group": group.pk, "prefix": "86", "period": 60, "fee": "0.01", **terms}


def test_the_largest_rate_that_fits_is_taken(admin_api, group) -> None:
    response = admin_api.post("/api/v1/rates/", api_rate(group, **LARGEST), format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(("terms", "field"), TOO_LARGE)
def test_the_api_refuses_a_rate_whose_longest_call_a_cdr_cannot_hold(
    admin_api, group, terms, field
) -> None:
    response = admin_api.post("/api/v1/rates/", api_rate(group, **terms), format="json")
    assert response.status_code == 400
    assert "a CDR holds at most 9999999999" in response.json()[field][0]
    assert not Rate.objects.exists()


@pytest.mark.parametrize(("terms", "field"), TOO_LARGE[:1])
def test_the_page_refuses_it(admin_client, group, terms, field) -> None:
    form = {"rate_group": group.pk, "prefix": "86", "first_period": 0, "first_fee": "0", **terms}
    response = admin_client.post("/rates/add/", form)
    assert response.status_code == 200
    assert "a CDR holds at most 9999999999" in str(response.context["form"].errors[field])
    assert not Rate.objects.exists()


def test_an_import_refuses_it_naming_the_line(operator_api, group) -> None:
    rows = "86,China,0,0,60,0.01,,,\n8613,China mobile,0,0,1,115741,,,\n"
    response = post(operator_api, group, HEADER + rows)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["line"] == 3 and "a CDR holds at most 9999999999" in error["reason"]
    assert not Rate.objects.exists()


@pytest.mark.parametrize(("terms", "field"), TOO_LARGE)
def test_the_database_refuses_it_too(group, terms, field) -> None:
    values = {"period": 60, "fee": "0", **terms}
    with pytest.raises(IntegrityError, match="billing_rate_longest_call_fits_a_cdr"):
        Rate.objects.create(
            rate_group=group, prefix="86", **{k: Decimal(v) for k, v in values.items()}
        )


def test_a_period_of_zero_is_refused_by_its_own_constraint(group) -> None:
    """The bound divides by the period: a zero period is the period constraint's refusal, not
    a division by zero."""
    with pytest.raises(IntegrityError, match="billing_rate_period_positive"):
        Rate.objects.create(rate_group=group, prefix="86", period=0, fee=Decimal(1))


PERIOD_MAX = 2_147_483_647  # the period column's (int4) largest value


def test_the_longest_period_is_taken_everywhere(admin_api, operator_api, group) -> None:
    """The bound's ⌈86400 / period⌉ once added the period to 86,399 in int4: a period past
    2,147,397,248 s was refused with 'integer out of range' though its call costs one fee."""
    body = {"rate_group": group.pk, "prefix": "86", "period": PERIOD_MAX, "fee": "0.01"}
    assert admin_api.post("/api/v1/rates/", body, format="json").status_code == 201
    response = post(operator_api, group, HEADER + f"44,UK,0,0,{PERIOD_MAX},0.01,,,\n")
    assert response.status_code == 201, response.json()
    Rate.objects.create(rate_group=group, prefix="1", period=PERIOD_MAX, fee=Decimal("0.01"))
    assert Rate.objects.count() == 3
