"""Table of the Web access control page."""

from __future__ import annotations

import django_tables2 as tables

from vosadmin.core.tables import ActionsColumn, ConsoleTable
from vosadmin.external.models import WebAccessRule


class WebAccessRuleTable(ConsoleTable):
    path = tables.Column(linkify=("external:webaccessrule_edit", {"pk": tables.A("pk")}))
    allowed = tables.Column(verbose_name="Allowed addresses")
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = WebAccessRule
        fields = ("path", "allowed", "memo", "last_updated")

    def render_allowed(self, value: list[str]) -> str:
        return ", ".join(value)
