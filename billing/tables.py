"""The CDR table of *Data query → CDR*."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_tables2 as tables
from django.utils import timezone
from django_tables2.utils import OrderByTuple

from billing.models import Cdr
from vosadmin.core.tables import ConsoleTable


class CodeColumn(tables.Column):
    """A code with its name: `-2 Illegal call`."""

    def __init__(self, name_of: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name_of = name_of

    def render(self, record: Cdr, bound_column: tables.columns.BoundColumn) -> str:
        code = bound_column.accessor.resolve(record)  # `value` would be the choice's label
        return f"{code} {getattr(record, self.name_of)}"


class TimeColumn(tables.Column):
    """A date-time in the console's time zone, to the second.

    Plain formatting: django-tables2's DateTimeColumn renders a template for every cell,
    which is most of the cost of a 50-row page.
    """

    def render(self, value: datetime) -> str:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S}"


class SecondsColumn(tables.Column):
    """Milliseconds shown as seconds."""

    def render(self, value: int) -> str:
        return f"{value / 1000:.1f}"


class CdrTable(ConsoleTable):
    """One page of CDRs, sorted by the database (keyset pagination), with links to its
    neighbours (None at either end)."""

    start_time = TimeColumn()
    billing_mode = CodeColumn("billing_mode_name")
    connect_time = TimeColumn(orderable=False)  # nullable: no keyset order
    stop_time = TimeColumn()
    hold_time_ms = SecondsColumn(verbose_name="Hold time (s)")
    end_reason = CodeColumn("end_reason_name")
    end_direction = CodeColumn("end_direction_name")

    class Meta(ConsoleTable.Meta):
        model = Cdr
        attrs = {"class": "table cdrs"}
        template_name = "billing/cdr_table.html"
        order_by_field = "ordering"
        fields = (
            "flow_no",
            "start_time",
            "caller",
            "callee",
            "billing_mode",
            "mapping_gateway",
            "phone",
            "routing_gateway",
            "caller_ip",
            "callee_ip",
            "connect_time",
            "stop_time",
            "hold_time_ms",
            "fee_time",
            "fee",
            "end_reason",
            "end_direction",
        )

    def __init__(
        self,
        *args: Any,
        next_url: str | None = None,
        previous_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.next_url = next_url
        self.previous_url = previous_url

    @property
    def order_by(self) -> OrderByTuple:
        return self._order_by

    @order_by.setter
    def order_by(self, value: str | None) -> None:
        # Only marks the sorted header: re-sorting a page in Python could disagree with the
        # database's collation, and the database already sorted the whole set.
        self._order_by = OrderByTuple([value] if value else [])
