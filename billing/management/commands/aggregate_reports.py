"""`manage.py aggregate_reports --start … --end …`: (re)build the gateway reports of a range."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from billing.reports import rebuild


def moment(text: str) -> datetime:
    """An ISO 8601 date-time or date; naive values are in the console's time zone."""
    try:
        parsed = parse_datetime(text)
        if parsed is None and (day := parse_date(text)) is not None:
            parsed = datetime.combine(day, datetime.min.time())
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{text!r} is not a date or date-time (2026-11-30 or 2026-11-30T08:00).")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = (
        "Recompute the gateway report rows of every hour in [start, end) from the CDRs "
        "(after an import of old CDRs, say). Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--start", required=True, help="First hour (inclusive), ISO 8601.")
        parser.add_argument("--end", required=True, help="End (exclusive), ISO 8601.")

    def handle(self, *args: Any, start: str, end: str, **options: Any) -> None:
        first, last = moment(start), moment(end)
        if first >= last:
            raise CommandError("--start must be before --end.")
        started, total = time.monotonic(), 0
        for day, rows in rebuild(first, last):
            if rows is None:
                self.stdout.write(f"{day:%Y-%m-%d} UTC: no CDRs kept for this day, reports kept")
                continue
            total += rows
            self.stdout.write(f"{day:%Y-%m-%d %H:%M} UTC: {rows} report rows")
        self.stdout.write(f"{total} report rows in {time.monotonic() - started:.1f} s.")
