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
    """Keep beat's PeriodicTask rows in step with the code after every migrate — once beat's
    and core's schemas are current: `migrate <app> <migration>` may have left their tables
    missing (a fresh database) or older than the models (a rollback)."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from vosadmin.core.schedules import sync_periodic_tasks

    executor = MigrationExecutor(connections[using])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not any(migration.app_label in SCHEDULE_APPS for migration, _ in pending):
        sync_periodic_tasks()


SCHEDULE_APPS = ("django_celery_beat", "core")  # the tables sync_periodic_tasks reads and writes
