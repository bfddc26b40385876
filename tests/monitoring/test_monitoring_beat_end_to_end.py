"""A real Celery worker and beat run the monitoring schedules: both processes' heartbeats reach
Redis, the alarm evaluation raises an alarm, and the overview keeps a sample. Either of them
alone raises the other's "process down" alarm (watch.py)."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from softswitch.models import CurrentCall
from softswitch.redis_keys import HEARTBEATS_KEY, OVERVIEW_SAMPLES_KEY
from tests.blacklist.test_celery_beat_end_to_end import BEAT, WORKER, running, wait_for
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.models import Alarm, AlarmRule, Webhook
from vosadmin.core.schedules import sync_periodic_tasks

pytestmark = pytest.mark.django_db(transaction=True)

MONITORING = ["Alarms: evaluate", "Monitoring: overview sample"]


def test_worker_and_beat_heartbeat_evaluate_and_sample(redis_client, tmp_path) -> None:
    sync_periodic_tasks()
    # Due at once: beat would otherwise wait one interval (30 s for the evaluation) first.
    PeriodicTask.objects.filter(name__in=MONITORING).update(
        last_run_at=timezone.now() - timedelta(hours=1)
    )
    AlarmRule.objects.create(name="busy", type=Type.CONCURRENCY, threshold=Decimal(0))
    CurrentCall.objects.create(
        node="node1",
        call_id="c",
        caller="1",
        callee="2",
        origin="GW",
        state="ringing",
        started_at=timezone.now(),
    )
    host = socket.gethostname()
    with running({"worker": WORKER, "beat": BEAT}, tmp_path):
        beats = lambda: redis_client.hgetall(HEARTBEATS_KEY)  # noqa: E731
        assert wait_for(lambda: {f"worker:{host}", f"beat:{host}"} <= beats().keys(), 30), (
            beats(),
            (tmp_path / "worker.log").read_text()[-2000:],
        )
        assert wait_for(lambda: Alarm.objects.filter(target="all").exists(), 20)
        assert wait_for(lambda: redis_client.llen(OVERVIEW_SAMPLES_KEY) > 0, 20)


def stale_heartbeat(redis_client, process: str) -> None:
    """`process` was last heard of two minutes ago (it stopped)."""
    redis_client.hset(HEARTBEATS_KEY, process, f"{time.time() - 120:.3f}")


def test_beat_alone_raises_worker_down_and_posts_it_itself(
    redis_client, receiver, tmp_path
) -> None:
    """The worker is what would run the evaluation and send the webhook: beat does both."""
    worker = f"worker:{socket.gethostname()}"
    stale_heartbeat(redis_client, worker)
    AlarmRule.objects.create(name="down", type=Type.PROCESS_DOWN, threshold=Decimal(30))
    Webhook.objects.create(name="pager", url=receiver.url)
    with running({"beat": BEAT}, tmp_path):
        assert wait_for(lambda: Alarm.objects.filter(target=worker).exists(), 20), (
            tmp_path / "beat.log"
        ).read_text()[-2000:]
        assert wait_for(lambda: receiver.requests, 10)
    body = json.loads(receiver.requests[0][1])
    assert (body["event"], body["alarm"]["target"]) == ("raised", worker)
    assert not Alarm.objects.exclude(target=worker).exists()  # beat itself is alive


def test_worker_alone_raises_beat_down_and_keeps_its_own_heartbeat(redis_client, tmp_path) -> None:
    """Nothing schedules the worker's heartbeat or the evaluation: the worker does both."""
    host = socket.gethostname()
    stale_heartbeat(redis_client, f"beat:{host}")
    stale_heartbeat(redis_client, f"worker:{host}")
    AlarmRule.objects.create(name="down", type=Type.PROCESS_DOWN, threshold=Decimal(30))
    with running({"worker": WORKER}, tmp_path):
        assert wait_for(lambda: Alarm.objects.filter(target=f"beat:{host}").exists(), 20), (
            tmp_path / "worker.log"
        ).read_text()[-2000:]
        heard = float(redis_client.hget(HEARTBEATS_KEY, f"worker:{host}"))
        assert time.time() - heard < 15
        # raised at the worker's start, while its own heartbeat was still the stale one:
        # the next round clears it
        assert wait_for(
            lambda: not Alarm.objects.filter(target=f"worker:{host}", cleared_at=None).exists(),
            15,
        )
