from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Call detail records."""

    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - wires the config-change receivers
