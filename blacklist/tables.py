"""Tables of the blacklist pages."""

from __future__ import annotations

from urllib.parse import urlencode

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from vosadmin.core.tables import ActionsColumn, BooleanColumn, ConsoleTable


def time_left(seconds: float) -> str:
    """A countdown as operators read it: "1 h 02 min", "4 min 05 s", "expired"."""
    if seconds <= 0:
        return "expired"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


class BlacklistGroupTable(ConsoleTable):
    """Black/white list groups with how many numbers each holds."""

    name = tables.Column(linkify=("blacklist:blacklistgroup_edit", {"pk": tables.A("pk")}))
    applies_to_all = BooleanColumn(verbose_name="Applies to all traffic")
    number_count = tables.Column(verbose_name="Numbers")
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = BlacklistGroup
        fields = ("name", "applies_to_all", "number_count", "memo", "last_updated")

    def render_number_count(self, record: BlacklistGroup, value: int) -> str:
        url = f"{reverse('blacklist:blacklistnumber_list')}?{urlencode({'group': record.pk})}"
        return format_html('<a href="{}">{} — list, import, export</a>', url, value)


class BlacklistNumberTable(ConsoleTable):
    """Numbers of the static black list groups."""

    number = tables.Column(linkify=("blacklist:blacklistnumber_edit", {"pk": tables.A("pk")}))
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = BlacklistNumber
        fields = ("number", "match", "group", "memo", "created")


class SystemWhitelistEntryTable(ConsoleTable):
    """The system white list."""

    number = tables.Column(linkify=("blacklist:systemwhitelistentry_edit", {"pk": tables.A("pk")}))
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = SystemWhitelistEntry
        fields = ("number", "match", "memo", "created")


class DynamicBlacklistEntryTable(ConsoleTable):
    """Active dynamic-blacklist entries: what blocks whom, until when and why."""

    time_left = tables.Column(empty_values=(), orderable=False, verbose_name="Time left")
    evidence = tables.Column(accessor="evidence", orderable=False, verbose_name="Why")
    release = tables.TemplateColumn(
        template_name="blacklist/release_column.html", verbose_name="", orderable=False
    )

    class Meta(ConsoleTable.Meta):
        model = DynamicBlacklistEntry
        fields = ("number", "type", "effective_at", "expires_at", "time_left", "evidence")
        row_attrs = {"data-id": lambda record: record.pk}

    def render_time_left(self, record: DynamicBlacklistEntry) -> str:
        seconds = (record.expires_at - timezone.now()).total_seconds()
        return format_html(
            '<span class="time-left" data-expires="{}">{}</span>',
            int(record.expires_at.timestamp() * 1000),
            time_left(seconds),
        )


class DynamicBlacklistHistoryTable(ConsoleTable):
    """Expired and released dynamic-blacklist entries."""

    ending = tables.Column(accessor="ending", orderable=False, verbose_name="Ended")
    evidence = tables.Column(accessor="evidence", orderable=False, verbose_name="Why")

    class Meta(ConsoleTable.Meta):
        model = DynamicBlacklistEntry
        fields = ("number", "type", "effective_at", "expires_at", "released_at", "ending")
        sequence = (*fields, "evidence")
        row_attrs = {"data-id": lambda record: record.pk}
