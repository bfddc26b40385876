"""Every periodic task, in one place (Saleor's CELERY_BEAT_SCHEDULE is the model).

Schedules are stored in django-celery-beat's tables so beat picks up a change without a
restart. An interval given as a parameter name follows that system parameter: changing the
parameter re-syncs the PeriodicTask in the same transaction, and beat's database scheduler
notices within its sync interval. `expires` drops runs that waited too long in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from vosadmin.core.parameters import get_parameter


@dataclass(frozen=True)
class Schedule:
    """One periodic task: what runs, how often (seconds or a parameter name), when it goes stale."""

    name: str
    task: str
    every: int | str
    expires: int | str | None = None

    def interval_seconds(self) -> int:
        """The current interval in seconds."""
        return _seconds(self.every)

    def expire_seconds(self) -> int | None:
        """How long a queued run stays worth running, in seconds (None: forever)."""
        return None if self.expires is None else _seconds(self.expires)


def _seconds(value: int | str) -> int:
    return get_parameter(value) if isinstance(value, str) else value


def dynamic_blacklist_check(task_object: str, parameter_prefix: str) -> Schedule:
    """A dynamic-blacklist check: runs every CHECK_INTERVAL; a run queued longer is dropped."""
    interval = f"{parameter_prefix}_CHECK_INTERVAL"
    name = f"Dynamic blacklist: {task_object.replace('_', ' ')} check"
    return Schedule(name, f"blacklist.tasks.check_{task_object}_task", interval, interval)


SCHEDULES: list[Schedule] = [
    Schedule("Maintain CDR partitions", "billing.tasks.maintain_cdr_partitions_task", 3600, 3000),
    Schedule("Gateway reports", "billing.tasks.aggregate_gateway_reports_task", 300, 300),
    dynamic_blacklist_check("malicious_caller", "SS_BLACK_LIST_CALLER_MALICIOUS_CALL"),
    dynamic_blacklist_check("malicious_callee", "SS_BLACK_LIST_MALICIOUS_CALL"),
    dynamic_blacklist_check("no_answer", "SS_BLACK_LIST_NO_ANSWER"),
    dynamic_blacklist_check("concurrent_calls", "SS_BLACK_LIST_CALLER_CONCURRENT_CALL"),
    Schedule("Dynamic blacklist: expiry", "blacklist.tasks.expire_dynamic_blacklist_task", 10, 10),
    Schedule("Alarms: evaluate", "vosadmin.alarms.tasks.evaluate_alarms_task", 30, 30),
    Schedule("Monitoring: overview sample", "vosadmin.core.tasks.sample_overview_task", 5, 5),
]


def sync_periodic_tasks(schedules: list[Schedule] | None = None) -> None:
    """Create or update the PeriodicTask rows of the given schedules (default: all)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for schedule in SCHEDULES if schedules is None else schedules:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.interval_seconds(), period=IntervalSchedule.SECONDS
        )
        wanted = {
            "task": schedule.task,
            "interval": interval,
            "expire_seconds": schedule.expire_seconds(),
        }
        task, created = PeriodicTask.objects.get_or_create(name=schedule.name, defaults=wanted)
        if not created and any(getattr(task, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(task, key, value)
            task.save()


def resync_schedules_of(sender: object, name: str, **kwargs: object) -> None:
    """Receiver of `parameter_changed`: re-sync the schedules whose interval is `name`."""
    affected = [schedule for schedule in SCHEDULES if schedule.every == name]
    if affected:
        sync_periodic_tasks(affected)
