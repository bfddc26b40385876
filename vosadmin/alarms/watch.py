"""The Celery worker and beat watch each other: the "process down" alarm of either one.

The scheduled evaluation (`Alarms: evaluate`) needs both of them: beat sends it and the worker
runs it. So it can never see either of them stop. Instead, each of them runs a thread that
every WATCH_SECONDS
- in the worker, sends the worker's heartbeat task (to itself): the heartbeat still proves
  that the worker runs tasks, and no longer needs beat to schedule it;
- evaluates the `process_down` rules, with webhooks of what it raises or clears tried from
  the thread itself (the worker that would send them may be what is down; their retries go
  to the worker).

Beat's own heartbeat stays the tasks it sends (heartbeats.py). An engine node's silence is
seen by the scheduled evaluation as before.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery.signals import beat_init, worker_ready
from django.db import connections

from vosadmin.alarms import webhooks
from vosadmin.alarms.choices import AlarmTypeChoices as Type
from vosadmin.alarms.evaluation import evaluate_rules

WATCH_SECONDS = 10
logger = logging.getLogger(__name__)


def watch_once(send_heartbeat: bool) -> dict[str, Any]:
    """One round of the watch (`send_heartbeat`: in the worker)."""
    from vosadmin.alarms.tasks import heartbeat_task

    if send_heartbeat:
        heartbeat_task.delay()
    with webhooks.delivered_here():
        return evaluate_rules(types=[Type.PROCESS_DOWN])


def _watch(send_heartbeat: bool) -> None:
    while True:
        try:
            watch_once(send_heartbeat)
        except Exception:  # the database or Redis away: the next round tries again
            logger.exception("process watch: round failed")
        finally:
            connections.close_all()  # this thread's own connections, never left stale
        time.sleep(WATCH_SECONDS)


def start(send_heartbeat: bool) -> None:
    threading.Thread(
        target=_watch, args=(send_heartbeat,), name="alarm-process-watch", daemon=True
    ).start()


@worker_ready.connect
def watch_from_worker(**kwargs: Any) -> None:
    start(send_heartbeat=True)


@beat_init.connect
def watch_from_beat(**kwargs: Any) -> None:
    start(send_heartbeat=False)
