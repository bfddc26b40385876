"""Dynamic-blacklist work run by Celery beat: one check per family, and expiry.

The schedules are in `vosadmin.core.schedules`: each check runs every CHECK_INTERVAL of its
family (a changed interval reaches beat without a restart), expiry every 10 seconds.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from blacklist.checks import run_check
from blacklist.choices import DynamicBlacklistTypeChoices as Type
from blacklist.entries import expire_entries


@shared_task
def check_malicious_caller_task() -> dict[str, Any]:
    """List calling numbers whose attempts in the window just ended reached the LIMIT."""
    return run_check(Type.MALICIOUS_CALLER).summary()


@shared_task
def check_malicious_callee_task() -> dict[str, Any]:
    """List called numbers whose calls in the window just ended reached the LIMIT."""
    return run_check(Type.MALICIOUS_CALLEE).summary()


@shared_task
def check_no_answer_task() -> dict[str, Any]:
    """List called numbers with LIMIT or more unanswered calls in a row."""
    return run_check(Type.NO_ANSWER).summary()


@shared_task
def check_concurrent_calls_task() -> dict[str, Any]:
    """List calling numbers whose simultaneous calls exceeded the LIMIT since the last check."""
    return run_check(Type.CONCURRENT).summary()


@shared_task
def expire_dynamic_blacklist_task() -> dict[str, Any]:
    """Mark the entries whose expiration time has come inactive (they stay as history)."""
    return {"expired": expire_entries(timezone.now())}
