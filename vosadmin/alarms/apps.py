from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """Alarm monitoring (SPEC §10): rules evaluated by beat, current alarms, history, webhooks."""

    name = "vosadmin.alarms"
    label = "alarms"
    verbose_name = "Alarm monitoring"

    def ready(self) -> None:
        from . import heartbeats, watch  # noqa: F401 - Celery signals: beat's heartbeat, the watch
