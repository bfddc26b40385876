"""Serializers of the alarms API."""

from __future__ import annotations

from rest_framework import serializers

from vosadmin.alarms.models import Alarm, AlarmRule
from vosadmin.core.api.serializers import ModelCleanSerializer, StrictCharField


class AlarmRuleSerializer(ModelCleanSerializer):
    class Meta:
        model = AlarmRule
        fields = ["id", *AlarmRule.EDITABLE_FIELDS]


class AlarmSerializer(serializers.ModelSerializer):
    """A raised alarm (read only; current ones can be acknowledged)."""

    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", read_only=True, default=None
    )

    class Meta:
        model = Alarm
        fields = [
            "id",
            "rule",
            "rule_name",
            "type",
            "target",
            "level",
            "value",
            "message",
            "raised_at",
            "acknowledged_by",
            "acknowledged_at",
            "ack_memo",
            "cleared_at",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    memo = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
