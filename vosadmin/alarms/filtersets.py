"""FilterSets of the alarm models — each serves both the console page and the API."""

from __future__ import annotations

from softswitch.filtersets import SearchFilterSet
from vosadmin.alarms.models import Alarm, AlarmRule, Webhook


class AlarmRuleFilterSet(SearchFilterSet):
    search_fields = ("name", "target", "memo")

    class Meta:
        model = AlarmRule
        fields = ["type", "level", "enabled"]


class AlarmFilterSet(SearchFilterSet):
    search_fields = ("target", "message", "rule_name")

    class Meta:
        model = Alarm
        fields = ["rule", "level"]


class WebhookFilterSet(SearchFilterSet):
    search_fields = ("name", "url", "memo")

    class Meta:
        model = Webhook
        fields = ["enabled"]
