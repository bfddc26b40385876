from django.apps import AppConfig


class BlacklistConfig(AppConfig):
    """Static and dynamic black lists and the system white list."""

    name = "blacklist"
    verbose_name = "Blacklists"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - wires the config-change receivers
