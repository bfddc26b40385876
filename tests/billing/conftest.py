"""CDRs for the billing tests: built field by field, on a fixed day with its partitions."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Cdr
from billing.partitions import day_bounds, ensure_cdr_partitions

DAY = date(2025, 3, 10)
DAY_START, DAY_END = day_bounds(DAY)
FLOW_NUMBERS = itertools.count(1_000_001)


def at(hours: float, day: date = DAY) -> datetime:
    """A moment `hours` after midnight UTC of `day`."""
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hours)


def cdr(name: str, start: datetime, **fields: Any) -> Cdr:
    """An answered mapping-gateway call named `name` (its Call-ID), unless `fields` say else."""
    answered = fields.get("hold_time_ms", 60_000) > 0
    values: dict[str, Any] = {
        "flow_no": next(FLOW_NUMBERS),
        "call_id": name,
        "caller": "2125550100",
        "callee": "4420700000001",
        "caller_ip": "198.51.100.10:5060",
        "callee_ip": "192.0.2.50:5060",
        "mapping_gateway": "GW-ACME",
        "phone": "",
        "routing_gateway": "VENDOR-ALPHA",
        "start_time": start,
        "connect_time": start + timedelta(seconds=2) if answered else None,
        "stop_time": start + timedelta(seconds=62),
        "hold_time_ms": 60_000,
        "fee_time": 60,
        "fee": Decimal("0.0250"),
        "end_reason": 200,
        "end_direction": 0,
        "billing_mode": 1,
    }
    values.update(fields)
    return Cdr(**values)


def store(*cdrs: Cdr) -> list[Cdr]:
    """Insert CDRs (their days need partitions)."""
    return Cdr.objects.bulk_create(cdrs)


def day_range(day: date = DAY) -> dict[str, str]:
    """The start_after / start_before parameters of one whole UTC day."""
    start, end = day_bounds(day)
    return {"start_after": start.isoformat(), "start_before": end.isoformat()}


@pytest.fixture
def partitions(db: Any) -> None:
    """Partitions from three days before DAY to three days after (rolled back with the test)."""
    ensure_cdr_partitions(DAY - timedelta(days=3), DAY + timedelta(days=3))
