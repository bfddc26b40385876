"""The billing FilterSets, each used by its page and its API: CDRs (below), then rate groups,
rates, accounts and payments, and at the end the gateway report's.

CDR query parameters (the page's form submits the same ones):

- `billing_mode`, `end_reason`, `end_direction` — codes; repeat a parameter for several
  (`billing_mode=-2&billing_mode=1`).
- `start_after` (inclusive), `start_before` (exclusive) — ISO 8601 (`2025-11-26T08:00:00Z`,
  `2025-11-26 08:00` in the console's time zone, or a date). Every query is bounded: without
  `start_after` it covers the 24 hours before `start_before` (default: now).
- `caller`, `callee`, `phone`, `mapping_gateway`, `routing_gateway` — exact, or a prefix with a
  trailing `*` (`8613*`).
- `caller_ip`, `callee_ip` — `198.51.100.10` (any port), `198.51.100.10:5060`, or a prefix
  with a trailing `*` (`45.77.*`).
- `hold_time_min`, `hold_time_max` — hold time in seconds, inclusive (the table keeps ms).
- `account` — the code of the account charged; repeat it for several (`account=C1&account=C2`).

A value that does not parse is a form error naming the filter: the API answers 400 with it,
the page shows it next to the field.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from billing.choices import (
    CdrBillingModeChoices,
    CdrEndDirectionChoices,
    GatewaySideChoices,
    end_reason_choices,
)
from billing.hours import ceil_day, ceil_hour, floor_day
from billing.models import Account, Cdr, GatewayHour, Payment, Rate, RateGroup
from billing.reports import ReportRow, report_rows
from softswitch.addresses import parse_source_address
from softswitch.filtersets import SearchFilterSet, TextsFilter
from vosadmin.core.filtersets import UtcIsoDateTimeField, UtcIsoDateTimeFilter

DEFAULT_WINDOW = timedelta(days=1)
# End reasons are SIP statuses (100–699) or internal codes (negative); anything else is a typo.
END_REASON_RANGE = (-999, 999)
# Hold times are capped by SS_SIP_NO_TIMER_REINVITE_INTERVAL (≤ 1 day); the cap here only keeps
# absurd input from overflowing the bigint column.
MAX_HOLD_TIME_SECONDS = 10**9
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9999, 1, 1, tzinfo=UTC)
# `+02:00` sent unencoded in a URL arrives as ` 02:00`; restore the sign rather than refuse it.
UNENCODED_PLUS_OFFSET = re.compile(r"(T?\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")
TRAILING_STAR_ONLY = RegexValidator(
    r"^[^*]*\*?$", "Only a trailing * is allowed: 8613* finds every value starting with 8613."
)


class StartTimeField(UtcIsoDateTimeField):
    """An ISO 8601 date-time (or date); naive values are in the console's time zone."""

    default_validators = [MinValueValidator(EARLIEST_START), MaxValueValidator(LATEST_START)]

    def to_python(self, value: Any) -> datetime | None:
        if isinstance(value, str):
            value = UNENCODED_PLUS_OFFSET.sub(r"\1+\2", value.strip())
        return super().to_python(value)


class StartTimeFilter(UtcIsoDateTimeFilter):
    """A bound of the start-time window."""

    field_class = StartTimeField


class ExactOrPrefixFilter(django_filters.CharFilter):
    """`1001` matches exactly; `8613*` matches every value starting with `8613`. With `also`,
    a row matches when any of the fields does (`field_name` or those named in `also`)."""

    def __init__(self, *, also: tuple[str, ...] = (), **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("validators", [TRAILING_STAR_ONLY])
        super().__init__(**kwargs)
        self.also = also

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value or value == "*":
            return qs
        prefix = value.endswith("*")
        lookup, value = ("__startswith", value[:-1]) if prefix else ("", value)
        matches = Q()
        for field in (self.field_name, *self.also):
            matches |= Q(**{f"{field}{lookup}": value})
        return qs.filter(matches)


def validate_address_or_prefix(value: str) -> None:
    """An IP address, IP:port, or a prefix ending in `*`."""
    if value.endswith("*"):
        return
    try:
        parse_source_address(value)
    except ValueError as error:
        raise forms.ValidationError(
            f"{error}. Give an IP address, IP:port, or a prefix ending in * (45.77.*)."
        ) from None


class AddressFilter(ExactOrPrefixFilter):
    """An address as CDRs record it (`IP:port`, IPv6 in brackets).

    `198.51.100.10` matches that address on any port, `198.51.100.10:5060` exactly, and a
    trailing `*` is a plain prefix.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validators=[TRAILING_STAR_ONLY, validate_address_or_prefix], **kwargs)

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value or value.endswith("*"):
            return super().filter(qs, value)
        ip, port = parse_source_address(value)
        host = f"[{ip}]" if ":" in ip else ip
        if port is not None:
            return qs.filter(**{self.field_name: f"{host}:{port}"})
        return qs.filter(
            Q(**{self.field_name: host}) | Q(**{f"{self.field_name}__startswith": f"{host}:"})
        )


class CodeField(forms.TypedMultipleChoiceField):
    """Several integer codes, offered by name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, **kwargs)


class EndReasonField(CodeField):
    """End reasons: the named ones are offered; any SIP status or internal code is accepted."""

    default_error_messages = {
        "invalid_choice": "%(value)s is not an end reason: give a SIP status (e.g. 486) or a "
        "negative internal code (e.g. -12)."
    }

    def valid_value(self, value: Any) -> bool:
        try:
            return END_REASON_RANGE[0] <= int(value) <= END_REASON_RANGE[1]
        except (TypeError, ValueError):
            return False


class CodeFilter(django_filters.MultipleChoiceFilter):
    """Matches any of several codes (`billing_mode=-2&billing_mode=1`) with one `IN`."""

    field_class = CodeField

    def filter(self, qs: QuerySet, value: list[int]) -> QuerySet:
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


@extend_schema_field(
    {
        "type": "integer",
        "description": "End reason codes, repeated for several: SIP statuses (486) or "
        "internal codes (-12); see billing/choices.py.",
    }
)
class EndReasonFilter(CodeFilter):
    field_class = EndReasonField


@extend_schema_field(
    {
        "type": "number",
        "minimum": 0,
        "description": "Hold time in seconds (fractions allowed), inclusive.",
    }
)
class HoldTimeFilter(django_filters.NumberFilter):
    """Hold time in seconds (fractions allowed), compared with the table's milliseconds."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            field_name="hold_time_ms", min_value=0, max_value=MAX_HOLD_TIME_SECONDS, **kwargs
        )

    def filter(self, qs: QuerySet, value: Decimal | None) -> QuerySet:
        if value is None:
            return qs
        round_inward = math.ceil if self.lookup_expr == "gte" else math.floor
        return super().filter(qs, round_inward(value * 1000))


class CdrFilterForm(forms.Form):
    """The filters' form: checks that the ranges are the right way round."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        after, before = data.get("start_after"), data.get("start_before")
        if after and before and before <= after:
            self.add_error("start_before", "start_before must be later than start_after.")
        shortest, longest = data.get("hold_time_min"), data.get("hold_time_max")
        if shortest is not None and longest is not None and longest < shortest:
            self.add_error("hold_time_max", "hold_time_max must not be less than hold_time_min.")
        return data


class CdrFilterSet(django_filters.FilterSet):
    """Filter CDRs; every query is bounded by a start-time window (see the module docstring)."""

    billing_mode = CodeFilter(
        choices=CdrBillingModeChoices.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Billing mode",
    )
    start_after = StartTimeFilter(
        field_name="start_time",
        lookup_expr="gte",
        label="Start time from",
        help_text="ISO 8601, inclusive. Default: 24 hours before start_before (or now).",
        widget=forms.TextInput(attrs={"placeholder": "24 h before the end"}),
    )
    start_before = StartTimeFilter(
        field_name="start_time",
        lookup_expr="lt",
        label="Start time before",
        help_text="ISO 8601, exclusive. Default: now.",
        widget=forms.TextInput(attrs={"placeholder": "now"}),
    )
    caller = ExactOrPrefixFilter(label="Caller", help_text="Exact, or a prefix ending in *.")
    callee = ExactOrPrefixFilter(label="Callee", help_text="Exact, or a prefix ending in *.")
    caller_ip = AddressFilter(label="Caller IP", help_text="IP, IP:port, or a prefix ending in *.")
    callee_ip = AddressFilter(label="Callee IP", help_text="IP, IP:port, or a prefix ending in *.")
    mapping_gateway = ExactOrPrefixFilter(label="Mapping gateway")
    phone = ExactOrPrefixFilter(label="Phone")
    routing_gateway = ExactOrPrefixFilter(label="Routing gateway")
    end_reason = EndReasonFilter(
        choices=end_reason_choices,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        label="End reason",
    )
    end_direction = CodeFilter(
        choices=CdrEndDirectionChoices.choices,
        widget=forms.CheckboxSelectMultiple,
        label="End direction",
    )
    hold_time_min = HoldTimeFilter(lookup_expr="gte", label="Hold time from (s)")
    hold_time_max = HoldTimeFilter(lookup_expr="lte", label="Hold time to (s)")
    account = TextsFilter(
        method="filter_account",
        label="Account",
        help_text="The code of the account charged; repeat for several.",
        max_length=32,
    )

    class Meta:
        model = Cdr
        fields: list[str] = []
        form = CdrFilterForm

    def __init__(self, *args: Any, now: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    @property
    def start_window(self) -> tuple[datetime, datetime | None]:
        """The [after, before) start times this query covers; before None means up to now."""
        data = self.form.cleaned_data
        before = data.get("start_before")
        after = data.get("start_after") or (before or self.now) - DEFAULT_WINDOW
        return after, before

    @property
    def has_full_start_range(self) -> bool:
        """Whether both ends of the start-time window were given."""
        data = self.form.cleaned_data
        return data.get("start_after") is not None and data.get("start_before") is not None

    def filter_account(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        """CDRs charged to the accounts with these codes (a subquery: no join, no round trip)."""
        accounts = Account.objects.filter(account__in=value).values("pk")
        return queryset.filter(account_id__in=accounts)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("start_after") is None:
            queryset = queryset.filter(start_time__gte=self.start_window[0])
        return queryset


class RateGroupFilterSet(SearchFilterSet):
    """Filter rate groups by name/memo."""

    search_fields = ("name", "memo")

    class Meta:
        model = RateGroup
        fields = ["name"]


class RateFilterSet(SearchFilterSet):
    """Filter rates by group, prefix (starts with), area and whether in force at a moment."""

    search_fields = ("prefix", "area_name", "memo")
    prefix = django_filters.CharFilter(lookup_expr="startswith", label="Prefix starts with")
    prefix_exact = TextsFilter(
        field_name="prefix", label="Prefix (exact)", help_text="Exact; repeat for several."
    )
    area_name = django_filters.CharFilter(lookup_expr="icontains", label="Area name")
    in_force_at = UtcIsoDateTimeFilter(method="filter_in_force_at", label="In force at (ISO 8601)")

    class Meta:
        model = Rate
        fields = ["rate_group", "prefix", "area_name"]

    def filter_in_force_at(self, queryset: QuerySet, name: str, value: datetime) -> QuerySet:
        """The version of each prefix the switch charges by at `value`: of those that have
        started and not ended, the latest-starting (as `billing.rating.RateTable`)."""
        ended = Q(effective_to__isnull=False) & Q(effective_to__lte=value)
        running = Rate.objects.filter(effective_from__lte=value).exclude(ended)
        in_force = running.order_by("rate_group_id", "prefix", "-effective_from").distinct(
            "rate_group_id", "prefix"
        )
        return queryset.filter(pk__in=in_force.values("pk"))


class AccountFilterSet(SearchFilterSet):
    """Filter accounts by code/name/memo, type, rate group and lock state."""

    search_fields = ("account", "name", "memo")
    account = TextsFilter(
        label="Account", help_text="The code, exact; repeat for several.", max_length=32
    )

    class Meta:
        model = Account
        fields = ["type", "rate_group", "locked"]


class PaymentFilterSet(django_filters.FilterSet):
    """Filter the payment ledger by account, who paid, and when (ISO 8601)."""

    username = django_filters.CharFilter(lookup_expr="iexact", label="By (user)")
    after = UtcIsoDateTimeFilter(field_name="created", lookup_expr="gte")
    before = UtcIsoDateTimeFilter(field_name="created", lookup_expr="lt")

    class Meta:
        model = Payment
        fields = ["account", "username"]


GRANULARITIES = (("hour", "Hour"), ("day", "Day"))
REPORT_WINDOWS = {"hour": timedelta(days=1), "day": timedelta(days=30)}  # when no start is given
MAX_REPORT_RANGE = timedelta(days=400)
HALF_DAY = timedelta(hours=12)


class GatewayReportForm(forms.Form):
    """The report's form: the range the right way round and at most MAX_REPORT_RANGE long."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end") or timezone.now()
        if start and end <= start:
            self.add_error("end", "end must be later than start.")
        elif start and end - start > MAX_REPORT_RANGE:
            self.add_error("end", f"A report covers at most {MAX_REPORT_RANGE.days} days.")
        return data


class GatewayReportFilterSet(django_filters.FilterSet):
    """The gateway report's parameters (page and `/api/v1/reports/gateways/`).

    `side` (mapping | routing, default mapping) and `granularity` (hour | day, default hour)
    choose the rows; `start` (inclusive, default: a day before `end` per hour, 30 days per
    day) and `end` (exclusive, default now) bound the periods' starts, ISO 8601 as for CDRs;
    `gateway` is a name, exact or a prefix ending in *.
    """

    side = django_filters.ChoiceFilter(
        choices=GatewaySideChoices.choices, empty_label=None, label="Side"
    )
    granularity = django_filters.ChoiceFilter(
        choices=GRANULARITIES, empty_label=None, method="group_by", label="Per"
    )
    start = StartTimeFilter(
        method="bound",
        label="From",
        help_text="ISO 8601, inclusive. Default: a day (per hour) or 30 days (per day) before end.",
        widget=forms.TextInput(attrs={"placeholder": "a day / 30 days before the end"}),
    )
    end = StartTimeFilter(
        method="bound",
        label="Before",
        help_text="ISO 8601, exclusive. Default: now.",
        widget=forms.TextInput(attrs={"placeholder": "now"}),
    )
    gateway = ExactOrPrefixFilter(label="Gateway", help_text="Exact, or a prefix ending in *.")

    DEFAULTS = {"side": GatewaySideChoices.MAPPING, "granularity": "hour"}

    class Meta:
        model = GatewayHour
        fields: list[str] = []
        form = GatewayReportForm

    def __init__(self, data: Any = None, *args: Any, now: datetime | None = None, **kwargs: Any):
        if data is not None:
            data = data.copy()
            for name, value in self.DEFAULTS.items():
                data[name] = data.get(name) or value
        super().__init__(data, *args, **kwargs)
        self.now = now or timezone.now()

    def group_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The granularity groups the rows (`report`); it filters nothing."""
        return queryset

    def bound(self, queryset: QuerySet, name: str, value: datetime) -> QuerySet:
        """Start and end filter through the `window` they give, rounded to whole periods."""
        return queryset

    @property
    def granularity_value(self) -> str:
        return self.form.cleaned_data["granularity"]

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The [start, end) of the periods reported: those that start within it, whole.

        Bounds are moved up to the start of a period (an hour, or a day of the console's time
        zone), so that a day reported from 13:00 is the next whole day, never the half of one;
        without a start, the window before the end (a day per hour, 30 days per day)."""
        data = self.form.cleaned_data
        per_day = self.granularity_value == "day"
        ceil = ceil_day if per_day else ceil_hour
        end = ceil(data.get("end") or self.now)
        if data.get("start"):
            return ceil(data["start"]), end
        start = end - REPORT_WINDOWS[self.granularity_value]
        # 30 days of the console's: a day of a daylight saving change is 23 or 25 hours long
        return (floor_day(start + HALF_DAY) if per_day else start), end

    def report(self) -> list[ReportRow]:
        """The report's rows: the filtered hours summed per gateway and period."""
        return report_rows(self.qs, self.granularity_value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        start, end = self.window
        return queryset.filter(period_start__gte=start, period_start__lt=end)
