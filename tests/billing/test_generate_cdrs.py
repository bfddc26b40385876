"""`manage.py generate_cdrs`: realistic CDRs, exactly as many as asked, through COPY."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min

from billing.models import Cdr


@pytest.fixture
def generated(db) -> str:
    out = io.StringIO()
    call_command("generate_cdrs", "--count", "4000", "--days", "2", "--seed", "7", stdout=out)
    return out.getvalue()


def test_exactly_the_count_over_the_days(generated) -> None:
    assert generated.startswith("4000 CDRs over 2 day(s)") and "CDRs/s" in generated
    span = Cdr.objects.aggregate(first=Min("start_time"), last=Max("start_time"))
    assert Cdr.objects.count() == 4000
    assert 1.9 < (span["last"] - span["first"]).total_seconds() / 86400 <= 2
    assert Cdr.objects.values("flow_no").distinct().count() == 4000


def test_a_realistic_mix(generated) -> None:
    modes = Counter(dict(Cdr.objects.values_list("billing_mode").annotate(Count("flow_no"))))
    assert set(modes) == {0, 1, -2}
    assert 0.3 < modes[0] / 4000 < 0.45 and 0.06 < modes[-2] / 4000 < 0.1
    answered = Cdr.objects.filter(connect_time__isnull=False)
    assert 0.35 < answered.count() / 4000 < 0.55
    assert not answered.filter(hold_time_ms=0).exists()
    assert not Cdr.objects.filter(connect_time__isnull=True, hold_time_ms__gt=0).exists()
    reasons = set(Cdr.objects.values_list("end_reason", flat=True))
    assert {200, 486, 487, -1} <= reasons
    illegal = Cdr.objects.filter(billing_mode=-2)
    assert set(illegal.values_list("end_reason", "end_direction").distinct()) == {(-1, 2)}
    assert illegal.values("caller_ip").distinct().count() < illegal.count() / 100  # bursts


def test_repeatable_with_a_seed(db) -> None:
    from datetime import UTC, datetime

    from billing.generation import generate_rows

    end = datetime(2025, 3, 11, tzinfo=UTC)
    assert list(generate_rows(500, 1, end, seed=3)) == list(generate_rows(500, 1, end, seed=3))


@pytest.mark.parametrize("arguments", [["--count", "0"], ["--count", "10", "--days", "0"]])
def test_bad_arguments(db, arguments) -> None:
    with pytest.raises(CommandError):
        call_command("generate_cdrs", *arguments)
