"""FilterSet of Web access rules (page and API)."""

from __future__ import annotations

from softswitch.filtersets import SearchFilterSet
from vosadmin.external.models import WebAccessRule


class WebAccessRuleFilterSet(SearchFilterSet):
    """Filter Web access rules by path and memo."""

    search_fields = ("path", "memo")

    class Meta:
        model = WebAccessRule
        fields = ["path"]
