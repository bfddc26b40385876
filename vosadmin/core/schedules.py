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
    expires: int | None = None

    def interval_seconds(self) -> int:
        """The current interval in seconds."""
        return get_parameter(self.every) if isinstance(self.every, str) else self.every


SCHEDULES: list[Schedule] = [
    Schedule("Maintain CDR partitions", "billing.tasks.maintain_cdr_partitions_task", 3600, 3000),
]


def sync_periodic_tasks(schedules: list[Schedule] | None = None) -> None:
    """Create or update the PeriodicTask rows of the given schedules (default: all)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for schedule in SCHEDULES if schedules is None else schedules:
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.interval_seconds(), period=IntervalSchedule.SECONDS
        )
        task, created = PeriodicTask.objects.get_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "interval": interval,
                "expire_seconds": schedule.expires,
            },
        )
        if not created and (task.interval_id != interval.pk or task.task != schedule.task):
            task.task, task.interval, task.expire_seconds = (
                schedule.task,
                interval,
                schedule.expires,
            )
            task.save()


def parameter_changed(name: str) -> None:
    """Re-sync the schedules whose interval is the parameter `name`."""
    affected = [schedule for schedule in SCHEDULES if schedule.every == name]
    if affected:
        sync_periodic_tasks(affected)
