"""Daily CDR partitions: created ahead, dropped past retention, pruned by the start window."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone

from billing import partitions
from billing.filtersets import CdrFilterSet
from billing.keyset import CdrOrdering
from billing.models import Cdr
from billing.partitions import (
    ensure_cdr_partitions,
    existing_partition_days,
    partition_name,
)
from billing.tasks import DAYS_AHEAD, maintain_cdr_partitions, maintain_cdr_partitions_task
from tests.billing.conftest import DAY, at, cdr, day_range, store
from tests.helpers import connect_to_test_database
from vosadmin.core.parameters import update_parameter


def partitions_between(first: date, last: date) -> list[date]:
    return [day for day in existing_partition_days() if first <= day <= last]


def test_housekeeping_creates_the_coming_week_once(db) -> None:
    today = date(2031, 6, 15)
    result = maintain_cdr_partitions(today)
    expected = [today + timedelta(days=offset) for offset in range(-1, DAYS_AHEAD + 1)]
    assert result["created"] == [str(day) for day in expected]
    assert partitions_between(today - timedelta(days=30), today + timedelta(days=30)) == expected
    assert maintain_cdr_partitions(today)["created"] == []
    tomorrow = maintain_cdr_partitions(today + timedelta(days=1))
    assert tomorrow["created"] == [str(today + timedelta(days=DAYS_AHEAD + 1))]


def test_a_new_partition_has_the_query_indexes(db) -> None:
    ensure_cdr_partitions(date(2031, 1, 1), date(2031, 1, 1))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s",
            [partition_name(date(2031, 1, 1))],
        )
        definitions = " ".join(row[0] for row in cursor.fetchall())
    for columns in (
        "(flow_no, start_time)",
        "(start_time, flow_no)",
        "(billing_mode, start_time, flow_no)",
        "(caller varchar_pattern_ops)",
        "(callee varchar_pattern_ops)",
    ):
        assert columns in definitions


def test_retention_drops_whole_days_past_the_parameter(db) -> None:
    today = timezone.now().date()
    old_days = [today - timedelta(days=age) for age in (200, 181, 180, 179)]
    for day in old_days:
        ensure_cdr_partitions(day, day)
        store(cdr(f"age-{(today - day).days}", at(12, day)))
    result = maintain_cdr_partitions(today)
    assert result["dropped"] == [str(old_days[0]), str(old_days[1])]
    assert set(Cdr.objects.values_list("call_id", flat=True)) == {"age-180", "age-179"}
    assert partitions_between(old_days[0], old_days[-1]) == old_days[2:]

    update_parameter("SERVER_BILLING_RECORD_RETENTION_DAYS", 179)
    assert maintain_cdr_partitions(today)["dropped"] == [str(old_days[2])]
    assert list(Cdr.objects.values_list("call_id", flat=True)) == ["age-179"]


def test_the_beat_task_runs_for_today(db) -> None:
    result = maintain_cdr_partitions_task.apply().get()
    today = timezone.now().date()
    assert set(result) == {"created", "dropped"}
    assert partitions_between(today - timedelta(days=1), today + timedelta(days=DAYS_AHEAD)) == [
        today + timedelta(days=offset) for offset in range(-1, DAYS_AHEAD + 1)
    ]


def test_partition_ddl_gives_up_instead_of_queueing_behind_a_reader(db, monkeypatch) -> None:
    """A long export holds the table; creating a partition must not stall every writer."""
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    reader = connect_to_test_database()
    try:
        with reader.cursor() as cursor:
            cursor.execute("BEGIN; SELECT count(*) FROM billing_cdr")
            with pytest.raises(OperationalError, match="lock timeout"):
                ensure_cdr_partitions(date(2032, 2, 2), date(2032, 2, 2))
            cursor.execute("ROLLBACK")
    finally:
        reader.close()


def test_a_day_without_a_partition_fails_loudly(db) -> None:
    with pytest.raises(IntegrityError, match="no partition"):
        store(cdr("lost", at(12, date(2040, 1, 1))))


def plan_partitions(queryset) -> set[str]:
    """The partitions PostgreSQL's plan for `queryset` reads."""
    return set(re.findall(r"billing_cdr_p\d{8}", queryset.explain()))


@pytest.mark.parametrize(
    "filters",
    [
        {"billing_mode": [-2]},
        {"billing_mode": [1, -2], "caller": "8613*"},
        {"caller_ip": "45.77.1.2", "end_reason": [-1]},
    ],
)
def test_a_one_day_query_reads_only_that_days_partition(partitions, filters) -> None:
    store(*(cdr(f"call-{hours}", at(hours)) for hours in range(-30, 60, 6)))
    filterset = CdrFilterSet({**day_range(), **filters}, queryset=Cdr.objects.all())
    assert filterset.is_valid()
    first_page = filterset.qs.order_by(*CdrOrdering.parse(None).order_by())[:51]
    assert plan_partitions(first_page) == {partition_name(DAY)}
    assert plan_partitions(filterset.qs) == {partition_name(DAY)}


def test_without_a_start_range_no_older_day_is_read(db) -> None:
    today = timezone.now().date()
    ensure_cdr_partitions(today - timedelta(days=5), today)
    filterset = CdrFilterSet({"billing_mode": [-2]}, queryset=Cdr.objects.all())
    assert filterset.is_valid()
    days_read = {name.removeprefix("billing_cdr_p") for name in plan_partitions(filterset.qs)}
    assert min(days_read) == f"{today - timedelta(days=1):%Y%m%d}"
