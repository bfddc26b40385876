"""`manage.py generate_cdrs --count N --days D`: realistic CDRs for demos and benchmarks."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.generation import generate_cdrs


class Command(BaseCommand):
    help = "Fill the CDR table with realistic generated CDRs (through COPY)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, required=True, help="How many CDRs.")
        parser.add_argument("--days", type=int, default=1, help="Spread over the last D days.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed (repeatable data).")

    def handle(self, *args: Any, count: int, days: int, seed: int | None, **options: Any) -> None:
        if count < 1 or days < 1:
            raise CommandError("--count and --days must be at least 1.")
        started = time.monotonic()
        written = generate_cdrs(count, days=days, seed=seed)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{written} CDRs over {days} day(s) in {elapsed:.1f} s "
            f"({written / max(elapsed, 1e-9):,.0f} CDRs/s)."
        )
