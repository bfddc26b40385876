from django.apps import AppConfig


class CoreConfig(AppConfig):
    """System parameters, users and roles, the operation log and shared console machinery."""

    name = "vosadmin.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from . import checks  # noqa: F401 - registers the system checks
        from .first_admin import forget_password_after_login
        from .parameters import parameter_changed
        from .schedules import resync_schedules_of

        post_migrate.connect(sync_schedules_after_migrate, sender=self)
        parameter_changed.connect(resync_schedules_of, dispatch_uid="resync-schedules")
        user_logged_in.connect(forget_password_after_login, dispatch_uid="forget-admin-password")


def sync_schedules_after_migrate(using: str = "default", **kwargs: object) -> None:
    """Keep beat's PeriodicTask rows in step with the code after every migrate — once the
    tables it reads and writes exist (`migrate <app> <migration>` may not have made them)."""
    from django.db import connections
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from vosadmin.core.models import ParameterValue
    from vosadmin.core.schedules import sync_periodic_tasks

    needed = {model._meta.db_table for model in (IntervalSchedule, PeriodicTask, ParameterValue)}
    if needed <= set(connections[using].introspection.table_names()):
        sync_periodic_tasks()
