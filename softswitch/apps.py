from django.apps import AppConfig


class SoftswitchConfig(AppConfig):
    """Gateways, phones, registrations, current calls and the SIP engine."""

    name = "softswitch"
    verbose_name = "Softswitch"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - wires the config-change receivers
