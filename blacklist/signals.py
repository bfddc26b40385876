"""Receivers that tell the SIP engine about list changes (docs/adr/0002)."""

from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from vosadmin.core.notify import watch_config_model

watch_config_model(BlacklistGroup, "blacklist_group")
watch_config_model(BlacklistNumber, "blacklist_number")
watch_config_model(SystemWhitelistEntry, "whitelist")
watch_config_model(DynamicBlacklistEntry, "dynamic_blacklist")
