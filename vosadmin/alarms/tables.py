"""Tables of the alarm pages."""

from __future__ import annotations

import django_tables2 as tables

from vosadmin.alarms.models import Alarm, AlarmRule, Webhook, WebhookDelivery, masked_url
from vosadmin.core.tables import ActionsColumn, BooleanColumn, ConsoleTable


class AlarmRuleTable(ConsoleTable):
    name = tables.Column(linkify=("alarms:alarmrule_edit", {"pk": tables.A("pk")}))
    enabled = BooleanColumn()
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = AlarmRule
        fields = ("name", "type", "target", "threshold", "period_minutes", "level", "enabled")


class CurrentAlarmTable(ConsoleTable):
    """Open alarms; an operator acknowledges them in place."""

    acknowledge = tables.TemplateColumn(
        template_name="alarms/acknowledge_column.html", verbose_name="Acknowledged", orderable=False
    )

    class Meta(ConsoleTable.Meta):
        model = Alarm
        fields = ("level", "rule_name", "target", "message", "raised_at", "acknowledge")
        row_attrs = {"data-id": lambda record: record.pk, "data-level": lambda record: record.level}


class AlarmHistoryTable(ConsoleTable):
    class Meta(ConsoleTable.Meta):
        model = Alarm
        fields = (
            "level",
            "rule_name",
            "target",
            "message",
            "raised_at",
            "cleared_at",
            "acknowledged_by",
            "acknowledged_at",
            "ack_memo",
        )


class WebhookTable(ConsoleTable):
    name = tables.Column(linkify=("alarms:webhook_edit", {"pk": tables.A("pk")}))
    url = tables.Column(verbose_name="URL")  # masked, and no link (it would carry the token)
    enabled = BooleanColumn()
    secret = tables.Column(verbose_name="Signed", orderable=False, empty_values=())
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = Webhook
        fields = ("name", "url", "secret", "enabled", "memo")

    def render_secret(self, value: str) -> str:
        return "Yes" if value else "No"

    def render_url(self, value: str) -> str:
        return masked_url(value)


class WebhookDeliveryTable(ConsoleTable):
    """Recent deliveries: a failed one shows its last error."""

    class Meta(ConsoleTable.Meta):
        model = WebhookDelivery
        fields = ("created_at", "webhook", "alarm", "event", "status", "attempts", "last_error")
        row_attrs = {"data-status": lambda record: record.status}
