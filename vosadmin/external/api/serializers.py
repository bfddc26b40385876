"""Serializer of the Web access rules API."""

from __future__ import annotations

from vosadmin.core.api.serializers import ModelCleanSerializer
from vosadmin.external.models import WebAccessRule


class WebAccessRuleSerializer(ModelCleanSerializer):
    """A Web access rule: `path` prefix, `allowed` addresses/CIDRs, `memo`."""

    class Meta:
        model = WebAccessRule
        fields = ["id", "path", "allowed", "memo", "created", "last_updated"]
