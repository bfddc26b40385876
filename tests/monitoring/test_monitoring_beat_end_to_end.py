"""A real Celery worker and beat run the monitoring schedules: both processes' heartbeats reach
Redis, the alarm evaluation raises an alarm, and the overview keeps a sample."""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from softswitch.models import CurrentCall
from softswitch.redis_keys import HEARTBEATS_KEY, OVERVIEW_SAMPLES_KEY
from tests.blacklist.test_celery_beat_end_to_end import BEAT, WORKER, running, wait_for
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.models import Alarm, AlarmRule
from vosadmin.core.schedules import sync_periodic_tasks

pytestmark = pytest.mark.django_db(transaction=True)

MONITORING = ["Alarms: evaluate", "Monitoring: worker heartbeat", "Monitoring: overview sample"]


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
