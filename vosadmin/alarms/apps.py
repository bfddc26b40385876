from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """Alarm monitoring (SPEC §10): rules evaluated by beat, current alarms, history, webhooks."""

    name = "vosadmin.alarms"
    label = "alarms"
    verbose_name = "Alarm monitoring"

    def ready(self) -> None:
        # Celery signals (beat's heartbeat, the watch) and a deleted rule's open alarms
        from . import heartbeats, signals, watch  # noqa: F401
