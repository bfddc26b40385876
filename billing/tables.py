"""The CDR table of *Data query → CDR*."""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django_tables2.utils import OrderByTuple

from billing.models import Cdr
from vosadmin.core.tables import ConsoleTable

TIME_FORMAT = "Y-m-d H:i:s"


class CodeColumn(tables.Column):
    """A code with its name: `-2 Illegal call`."""

    def __init__(self, name_of: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name_of = name_of

    def render(self, record: Cdr, bound_column: tables.columns.BoundColumn) -> str:
        code = bound_column.accessor.resolve(record)  # `value` would be the choice's label
        name = getattr(record, self.name_of)
        return f"{code} {name() if callable(name) else name}"


class SecondsColumn(tables.Column):
    """Milliseconds shown as seconds."""

    def render(self, value: int) -> str:
        return f"{value / 1000:.1f}"


class CdrTable(ConsoleTable):
    """One page of CDRs; the rows arrive sorted by the database (keyset pagination)."""

    start_time = tables.DateTimeColumn(format=TIME_FORMAT)
    billing_mode = CodeColumn("get_billing_mode_display")
    connect_time = tables.DateTimeColumn(format=TIME_FORMAT, orderable=False)  # nullable
    stop_time = tables.DateTimeColumn(format=TIME_FORMAT)
    hold_time_ms = SecondsColumn(verbose_name="Hold time (s)")
    end_reason = CodeColumn("end_reason_name")
    end_direction = CodeColumn("get_end_direction_display")

    class Meta(ConsoleTable.Meta):
        model = Cdr
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

    @property
    def order_by(self) -> OrderByTuple:
        return self._order_by

    @order_by.setter
    def order_by(self, value: str | None) -> None:
        # Only marks the sorted header: re-sorting a page in Python could disagree with the
        # database's collation, and the database already sorted the whole set.
        self._order_by = OrderByTuple([value] if value else [])
