"""A real Celery worker and beat (database scheduler) list a caller whose attempts, counted in
Redis the way the SIP engine counts them, reached the LIMIT in a 10-second window — and the
listing reaches the Dynamic black list pages over the channel layer from the worker process."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from blacklist.live import GROUP
from blacklist.models import DynamicBlacklistEntry
from tests.blacklist.conftest import configure
from tests.blacklist.engine_counters import count_attempts
from tests.helpers import database_url_of_tests
from vosadmin.core.schedules import sync_periodic_tasks
from vosadmin.stack import stop_process

pytestmark = pytest.mark.django_db(transaction=True)

INTERVAL = 10  # the smallest CHECK_INTERVAL the parameter accepts
CELERY = [sys.executable, "-m", "celery", "-A", "vosadmin"]
WORKER = [*CELERY, "worker", "--pool", "solo", "--without-mingle", "--without-gossip"]
BEAT = [
    *CELERY,
    "beat",
    "--scheduler",
    "django_celery_beat.schedulers:DatabaseScheduler",
    "--max-interval",
    "1",
]


@contextmanager
def running(commands: dict[str, list[str]], logs: Path) -> Iterator[None]:
    """Run the commands against the test database and Redis; stop them afterwards."""
    env = {**os.environ, "DATABASE_URL": database_url_of_tests(), "REDIS_URL": settings.REDIS_URL}
    with ExitStack() as stack:
        for name, command in commands.items():
            log = stack.enter_context((logs / f"{name}.log").open("w"))
            process = subprocess.Popen(
                [*command, "--loglevel", "INFO"],
                env={**env, "VOSADMIN_PROCESS": name},
                cwd=Path(__file__).resolve().parents[2],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(stop_process, process)
        yield


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


def test_beat_lists_the_caller_after_the_window_ends(redis, tmp_path) -> None:
    sync_periodic_tasks()
    configure("malicious_caller", limit=3, interval=INTERVAL)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(GROUP, channel)

    with running({"worker": WORKER, "beat": BEAT}, tmp_path):
        counted_at = time.time()
        count_attempts(redis, "caller", "8613900000001", 4, INTERVAL, counted_at)
        count_attempts(redis, "caller", "8613900000002", 2, INTERVAL, counted_at)
        window_end = (math.floor(counted_at / INTERVAL) + 1) * INTERVAL

        listed = wait_for(DynamicBlacklistEntry.objects.exists, timeout=60)
        logs = {path.name: path.read_text()[-3000:] for path in tmp_path.glob("*.log")}
        assert listed, logs

    entry = DynamicBlacklistEntry.objects.get()
    assert (entry.number, entry.type, entry.active) == ("8613900000001", "malicious_caller", True)
    assert (entry.observed, entry.limit, entry.window_seconds) == (4, 3, INTERVAL)
    assert entry.effective_at.timestamp() >= window_end, "listed only once the window ended"
    assert (entry.expires_at - entry.effective_at).total_seconds() == 3600

    message = async_to_sync(layer.receive)(channel)
    async_to_sync(layer.group_discard)(GROUP, channel)
    assert message["type"] == "entries.added"
    assert [item["number"] for item in message["entries"]] == ["8613900000001"]
