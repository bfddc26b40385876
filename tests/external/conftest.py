"""Fixtures of the Web API tests: a client that posts like a VOS3000 script, and data."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from billing.models import Account, Rate, RateGroup
from vosadmin.external.models import WebAccessRule

CLIENT_IP = "198.51.100.7"


@pytest.fixture
def rule(db: Any) -> WebAccessRule:
    """The billing portal's rule: every call from CLIENT_IP."""
    return WebAccessRule.objects.create(
        path="/external/server/", allowed=[CLIENT_IP], memo="billing portal"
    )


def post(
    name: str,
    body: Any = None,
    *,
    address: str = CLIENT_IP,
    content_type: str | None = "text/html;charset=UTF-8",
    raw: bytes | None = None,
    **headers: str,
) -> Any:
    """POST /external/server/<name> as VOS3000's client libraries do (text/html by default)."""
    data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
    extra = {"REMOTE_ADDR": address, **headers}
    if content_type is None:
        return Client().generic("POST", f"/external/server/{name}", data, **extra)
    return Client().post(f"/external/server/{name}", data, content_type=content_type, **extra)


@pytest.fixture
def web_api(rule: WebAccessRule) -> Callable[..., dict[str, Any]]:
    """Call the Web API from an allowed address; the reply's JSON (the HTTP status is 200)."""

    def call(name: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        response = post(name, body, **kwargs)
        assert response.status_code == 200, response.content
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return json.loads(content)

    return call


@pytest.fixture
def customer(db: Any) -> Account:
    """Account C100 with 100.00, credit limit 20, rate group RETAIL (86: 0.60 per 60 s)."""
    group = RateGroup.objects.create(name="RETAIL")
    Rate.objects.create(
        rate_group=group,
        prefix="86",
        area_name="China",
        first_period=60,
        first_fee=Decimal("0.6"),
        period=60,
        fee=Decimal("0.6"),
    )
    account = Account.objects.create(
        account="C100", name="Acme", credit_limit=Decimal(20), rate_group=group
    )
    Account.objects.filter(pk=account.pk).update(balance=Decimal(100))
    account.refresh_from_db()
    return account
