"""Beat runs each family's check every CHECK_INTERVAL; a changed interval reaches beat's
database scheduler without a restart, and queued runs older than one interval are dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from blacklist.families import FAMILIES
from vosadmin.celery import app as celery_app
from vosadmin.core.schedules import SCHEDULES, sync_periodic_tasks

CHECK_TASKS = {
    "malicious_caller": "blacklist.tasks.check_malicious_caller_task",
    "malicious_callee": "blacklist.tasks.check_malicious_callee_task",
    "no_answer": "blacklist.tasks.check_no_answer_task",
    "concurrent": "blacklist.tasks.check_concurrent_calls_task",
}


def schedule_of(task: str):
    return next(schedule for schedule in SCHEDULES if schedule.task == task)


def test_every_family_check_follows_its_interval_parameter() -> None:
    for family in FAMILIES:
        schedule = schedule_of(CHECK_TASKS[family.type])
        assert schedule.every == schedule.expires == family.interval_parameter


def test_every_scheduled_task_exists() -> None:
    celery_app.loader.import_default_modules()  # what the worker does: autodiscover tasks.py
    for schedule in SCHEDULES:
        assert schedule.task in celery_app.tasks, schedule.task


@pytest.mark.django_db
def test_the_periodic_tasks_carry_the_parameter_values() -> None:
    sync_periodic_tasks()
    caller = PeriodicTask.objects.get(task=CHECK_TASKS["malicious_caller"])
    assert (caller.interval.every, caller.interval.period) == (600, "seconds")
    assert caller.expire_seconds == 600
    concurrent = PeriodicTask.objects.get(task=CHECK_TASKS["concurrent"])
    assert (concurrent.interval.every, concurrent.expire_seconds) == (60, 60)
    expiry = PeriodicTask.objects.get(task="blacklist.tasks.expire_dynamic_blacklist_task")
    assert (expiry.interval.every, expiry.expire_seconds) == (10, 10)


@pytest.mark.django_db(transaction=True)
def test_an_interval_changed_through_the_api_changes_beats_schedule(admin_api) -> None:
    sync_periodic_tasks()
    scheduler = DatabaseScheduler(app=celery_app, lazy=False)
    name = schedule_of(CHECK_TASKS["no_answer"]).name
    assert scheduler.schedule[name].schedule.run_every == timedelta(seconds=600)

    response = admin_api.patch(
        "/api/v1/parameters/SS_BLACK_LIST_NO_ANSWER_CHECK_INTERVAL/", {"value": 30}, format="json"
    )
    assert response.status_code == 200, response.json()

    task = PeriodicTask.objects.get(name=name)
    assert (task.interval.every, task.expire_seconds) == (30, 30)
    assert scheduler.schedule[name].schedule.run_every == timedelta(seconds=30)
    assert scheduler.schedule[name].options["expires"] == 30


@pytest.mark.django_db
def test_a_rejected_interval_leaves_the_schedule_alone(admin_api) -> None:
    sync_periodic_tasks()
    response = admin_api.patch(
        "/api/v1/parameters/SS_BLACK_LIST_NO_ANSWER_CHECK_INTERVAL/", {"value": 5}, format="json"
    )
    assert response.status_code == 400
    task = PeriodicTask.objects.get(task=CHECK_TASKS["no_answer"])
    assert task.interval.every == 600
