from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Call detail records."""

    name = "billing"
    verbose_name = "Billing"
