"""The rating columns of CDRs (SPEC §8.5): account, fee prefix, cost, cost prefix and margin
on the page, the API and the CSV; the account filter; total fee, cost and margin."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Account
from tests.billing.conftest import at, cdr, day_range, store


@pytest.fixture
def rated(partitions) -> Account:
    alice = Account.objects.create(account="alice")
    bob = Account.objects.create(account="bob")
    store(
        cdr("a1", at(1), account=alice, fee=Decimal("1.20"), cost=Decimal("0.50"), fee_prefix="44"),
        cdr("a2", at(2), account=alice, fee=Decimal("0.30"), cost=Decimal("0.10")),
        cdr("b1", at(3), account=bob, fee=Decimal("2"), cost=Decimal("2.50"), cost_prefix="0044"),
        cdr("unbilled", at(4), fee=Decimal(0)),
    )
    return alice


def test_api_and_csv_show_the_rating_columns(viewer_api, rated) -> None:
    body = viewer_api.get("/api/v1/cdrs/", {**day_range(), "ordering": "start_time"}).json()
    first, *_, last = body["results"]
    assert (first["account_id"], first["fee_prefix"], first["cost"]) == (rated.pk, "44", "0.5000")
    assert (first["cost_prefix"], first["margin"]) == ("", "0.7000")
    assert (last["account_id"], last["margin"]) == (None, "0.0000")
    response = viewer_api.get("/api/v1/cdrs/", {**day_range(), "format": "csv"})
    header = b"".join(response.streaming_content).decode().splitlines()[0].split(",")
    assert header[-6:] == ["account_id", "fee_prefix", "cost", "cost_prefix", "pdd_ms", "margin"]


def test_filter_by_account_code(viewer_api, rated) -> None:
    body = viewer_api.get("/api/v1/cdrs/", {**day_range(), "account": "alice"}).json()
    assert sorted(row["call_id"] for row in body["results"]) == ["a1", "a2"]
    nobody = viewer_api.get("/api/v1/cdrs/", {**day_range(), "account": "nobody"}).json()
    assert nobody["results"] == []


def test_page_shows_account_margin_and_the_totals(client, viewer_user, rated) -> None:
    client.force_login(viewer_user)
    page = client.get("/cdrs/", day_range())
    summary = page.context["summary"]
    assert (summary.fee, summary.cost) == (Decimal("3.5"), Decimal("3.1"))
    assert summary.margin == Decimal("0.4")
    html = page.content.decode()
    assert "Total fee" in html and "Margin" in html and "unbilled" in html
    assert "alice" in html and "bob" in html
