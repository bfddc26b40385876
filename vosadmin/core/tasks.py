"""Core work run by Celery: the live overview's sample (beat, every 5 s)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from vosadmin.core.overview import take_sample


@shared_task
def sample_overview_task() -> dict[str, Any]:
    """Measure the switch and push the sample to the open home pages."""
    return take_sample()
