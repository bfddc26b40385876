"""Table machinery shared by the console pages (django-tables2)."""

from __future__ import annotations

import django_tables2 as tables


class ActionsColumn(tables.TemplateColumn):
    """Edit and delete links, shown to users who may change the row."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            template_name="generic/actions_column.html",
            verbose_name="",
            orderable=False,
            attrs={"td": {"class": "actions"}},
            **kwargs,
        )


class ConsoleTable(tables.Table):
    """Base table: compact styling; `can_write` is set by the list view."""

    can_write = False

    class Meta:
        attrs = {"class": "table"}
        template_name = "generic/table.html"


class BooleanColumn(tables.BooleanColumn):
    """Yes/No in words, easier to scan than ticks in dense tables."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(yesno="Yes,No", **kwargs)


class ListColumn(tables.Column):
    """A list field shown comma-separated."""

    def render(self, value: list) -> str:
        return ", ".join(str(item) for item in value)


class UserTable(ConsoleTable):
    """Console users and their roles."""

    username = tables.Column(linkify=("core:user_edit", {"pk": tables.A("pk")}))
    role = tables.Column(empty_values=(), orderable=False)
    is_active = BooleanColumn(verbose_name="Active")
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        from django.contrib.auth import get_user_model

        model = get_user_model()
        fields = ("username", "first_name", "last_name", "email", "role", "is_active", "last_login")

    def render_role(self, record: object) -> str:
        from vosadmin.core.roles import role_of

        role = role_of(record)
        return role.label if role else "(none)"


class AuditLogTable(ConsoleTable):
    """The operation log."""

    changes = tables.TemplateColumn(template_name="core/audit_changes.html", orderable=False)

    class Meta(ConsoleTable.Meta):
        from vosadmin.core.models import AuditLog

        model = AuditLog
        fields = ("time", "username", "action", "object_type", "object_repr", "changes")
