"""Serializers of the blacklist API."""

from __future__ import annotations

from rest_framework import serializers

from blacklist.csv_lists import MAX_REPORTED_ERRORS
from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from vosadmin.core.api.serializers import ModelCleanSerializer


class BlacklistGroupSerializer(ModelCleanSerializer):
    """A black/white list group; `number_count` is how many numbers it holds."""

    number_count = serializers.SerializerMethodField()

    class Meta:
        model = BlacklistGroup
        fields = ["id", "name", "applies_to_all", "memo", "number_count", "created", "last_updated"]

    def get_number_count(self, group: BlacklistGroup) -> int:
        """Annotated on lists (one query); counted for a group just created or changed."""
        count = getattr(group, "number_count", None)
        return group.numbers.count() if count is None else count


class BlacklistNumberSerializer(ModelCleanSerializer):
    """A number (or prefix) in a black list group."""

    class Meta:
        model = BlacklistNumber
        fields = ["id", "group", "number", "match", "memo", "created"]


class SystemWhitelistEntrySerializer(ModelCleanSerializer):
    """A number (or prefix) on the system white list."""

    class Meta:
        model = SystemWhitelistEntry
        fields = ["id", "number", "match", "memo", "created"]


class DynamicBlacklistEntrySerializer(serializers.ModelSerializer):
    """A dynamic-blacklist entry with its evidence (read only; DELETE releases it)."""

    type_label = serializers.CharField(source="get_type_display", read_only=True)
    evidence = serializers.CharField(read_only=True)

    class Meta:
        model = DynamicBlacklistEntry
        fields = [
            "id",
            "number",
            "type",
            "type_label",
            "effective_at",
            "expires_at",
            "observed",
            "limit",
            "window_seconds",
            "evidence",
            "active",
            "released_at",
            "released_by",
        ]
        read_only_fields = fields


class WhitelistImportSerializer(serializers.Serializer):
    """A CSV file to import (multipart/form-data)."""

    file = serializers.FileField(help_text="UTF-8 CSV: number,match,memo (header optional).")


class BlacklistNumberImportSerializer(WhitelistImportSerializer):
    """A CSV file to import into one group (multipart/form-data)."""

    group = serializers.PrimaryKeyRelatedField(queryset=BlacklistGroup.objects.all())


class ImportResultSerializer(serializers.Serializer):
    """How many numbers an import added."""

    imported = serializers.IntegerField()


class RowErrorSerializer(serializers.Serializer):
    """One rejected line of an import (line 0: the file as a whole)."""

    line = serializers.IntegerField()
    reason = serializers.CharField()


class ImportRejectedSerializer(serializers.Serializer):
    """A rejected import: nothing was stored. A bad file gives `detail`, `error_count` and
    `errors`; a bad upload itself (no file, an unknown group) names the field instead."""

    detail = serializers.CharField(required=False)
    error_count = serializers.IntegerField(required=False, help_text="How many rows were bad.")
    errors = RowErrorSerializer(
        many=True, required=False, help_text=f"The first {MAX_REPORTED_ERRORS} bad rows, by line."
    )
