"""Tables of the billing pages: CDRs (*Data query → CDR*), account management and the
gateway report (*Data report → Gateway report*)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django_tables2.utils import OrderByTuple

from billing.models import RATE_TERMS, Account, Cdr, Payment, Rate, RateGroup
from billing.reports import REPORT_COLUMNS
from vosadmin.core.tables import ActionsColumn, BooleanColumn, ConsoleTable


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
    account = tables.Column(orderable=False, empty_values=(None,), default="unbilled")
    margin = tables.Column(orderable=False)

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
            "account",
            "fee_prefix",
            "cost",
            "cost_prefix",
            "margin",
            "end_reason",
            "end_direction",
            "pdd_ms",
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


class RateGroupTable(ConsoleTable):
    """Rate groups with how many rates each holds."""

    name = tables.Column(linkify=("billing:rategroup_edit", {"pk": tables.A("pk")}))
    rate_count = tables.Column(verbose_name="Rates")
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = RateGroup
        fields = ("name", "rate_count", "memo", "last_updated")

    def render_rate_count(self, record: RateGroup, value: int) -> str:
        url = f"{reverse('billing:rate_list')}?{urlencode({'rate_group': record.pk})}"
        return format_html('<a href="{}">{} — list, test, import, export</a>', url, value)


class RateTable(ConsoleTable):
    """Rates of the rate groups."""

    prefix = tables.Column(linkify=("billing:rate_edit", {"pk": tables.A("pk")}), empty_values=())
    effective_from = TimeColumn()
    effective_to = TimeColumn()
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = Rate
        fields = (*RATE_TERMS, "rate_group", "memo")

    def render_prefix(self, value: str) -> str:
        return value or "(every number)"


class AccountTable(ConsoleTable):
    """Accounts with their balance; administrators get a Pay link."""

    account = tables.Column(linkify=("billing:account_edit", {"pk": tables.A("pk")}))
    locked = BooleanColumn()
    payments = tables.Column(empty_values=(), orderable=False, verbose_name="Payments")
    pay = tables.TemplateColumn(
        template_name="billing/pay_column.html", verbose_name="", orderable=False
    )
    actions = ActionsColumn()

    class Meta(ConsoleTable.Meta):
        model = Account
        fields = (
            "account",
            "name",
            "type",
            "balance",
            "credit_limit",
            "rate_group",
            "locked",
            "memo",
        )

    def render_payments(self, record: Account) -> str:
        url = f"{reverse('billing:payment_list')}?{urlencode({'account': record.pk})}"
        return format_html('<a href="{}">History</a>', url)


class PaymentTable(ConsoleTable):
    """The payment ledger, newest first."""

    created = TimeColumn(verbose_name="When")

    class Meta(ConsoleTable.Meta):
        model = Payment
        fields = ("created", "account", "amount", "balance_after", "username", "memo")


class GatewayReportTable(ConsoleTable):
    """The gateway report's rows (billing.reports.ReportRow), by period then gateway."""

    gateway = tables.Column()
    period_start = tables.Column(verbose_name="Period")
    calls = tables.Column()
    answered = tables.Column()
    asr = tables.Column(verbose_name="ASR (%)")
    acd = tables.Column(verbose_name="ACD (s)")
    pdd_ms = tables.Column(verbose_name="PDD (ms)", default="–")
    minutes = tables.Column()
    fee = tables.Column()
    cost = tables.Column()
    margin = tables.Column()

    class Meta(ConsoleTable.Meta):
        sequence = REPORT_COLUMNS
        orderable = False

    def __init__(self, *args: Any, granularity: str = "hour", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period_format = "%Y-%m-%d %H:%M" if granularity == "hour" else "%Y-%m-%d"

    def render_period_start(self, value: datetime) -> str:
        return timezone.localtime(value).strftime(self.period_format)
