"""Tell the SIP engine when billing configuration changes (docs/adr/0002, 0006).

Accounts notify `account` with their id; rate groups `rate_group` with their id, and a rate
notifies its group (the engine reloads a group's rate table as a whole).
"""

from typing import Any

from django.db.models.signals import post_delete, post_save

from billing.models import Account, Rate, RateGroup
from vosadmin.core.notify import notify_config_change, watch_config_model

watch_config_model(Account, "account")
watch_config_model(RateGroup, "rate_group")


def rate_changed(sender: type, instance: Rate, **kwargs: Any) -> None:
    """A rate was saved or deleted: its group's table changed."""
    notify_config_change("rate_group", "update", instance.rate_group_id)


post_save.connect(rate_changed, sender=Rate, dispatch_uid="vosadmin-notify-rate")
post_delete.connect(rate_changed, sender=Rate, dispatch_uid="vosadmin-notify-rate")
