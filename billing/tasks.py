"""Billing housekeeping run by Celery beat: CDR partitions, gateway report aggregation."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from billing.partitions import drop_cdr_partitions_before, ensure_cdr_partitions

DAYS_AHEAD = 7


@shared_task
def maintain_cdr_partitions_task() -> dict[str, list[str]]:
    """Create the CDR partitions of the coming week and drop those past the retention period."""
    return maintain_cdr_partitions(timezone.now().date())


def maintain_cdr_partitions(today: date) -> dict[str, list[str]]:
    """Partitions from yesterday to DAYS_AHEAD after `today` (UTC); none older than retention.

    Idempotent, and safe to run late, twice or concurrently (billing.partitions serialises the
    DDL). Retention is SERVER_BILLING_RECORD_RETENTION_DAYS: the partitions of days before
    `today - retention` are dropped whole.
    """
    from vosadmin.core.parameters import get_parameter

    created = ensure_cdr_partitions(today - timedelta(days=1), today + timedelta(days=DAYS_AHEAD))
    retention = get_parameter("SERVER_BILLING_RECORD_RETENTION_DAYS")
    dropped = drop_cdr_partitions_before(today - timedelta(days=retention))
    return {"created": [str(day) for day in created], "dropped": [str(day) for day in dropped]}


@shared_task
def aggregate_gateway_reports_task() -> list[str]:
    """Recompute the gateway reports of the closed hours that received CDRs (billing.reports);
    returns those hours. Idempotent: a run late, twice or concurrently writes the same rows."""
    from billing.reports import aggregate_pending

    return [f"{hour:%Y-%m-%dT%H:00Z}" for hour in aggregate_pending(timezone.now())]
