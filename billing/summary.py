"""The summary line of a filtered CDR set: calls, answered, ASR, ACD, total hold time, total
fee, total cost and margin."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, QuerySet, Sum
from django.db.models.functions import Coalesce

MONEY = DecimalField(max_digits=18, decimal_places=4)


@dataclass(frozen=True)
class CdrSummary:
    """Totals of a CDR set. A call is answered when it has a connect time."""

    calls: int
    answered: int
    hold_time_ms: int
    fee: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def margin(self) -> Decimal:
        """Total fee minus total cost."""
        return self.fee - self.cost

    @property
    def asr(self) -> float | None:
        """Answer-seizure ratio, percent of calls answered (None without calls)."""
        return 100 * self.answered / self.calls if self.calls else None

    @property
    def acd_seconds(self) -> float | None:
        """Average call duration of the answered calls, seconds (None without answers)."""
        return self.hold_time_ms / self.answered / 1000 if self.answered else None

    @property
    def hold_time_seconds(self) -> float:
        """Total hold time, seconds."""
        return self.hold_time_ms / 1000


def summarize_cdrs(queryset: QuerySet) -> CdrSummary:
    """The totals of a filtered CDR set, in one aggregate query."""
    totals = queryset.order_by().aggregate(
        calls=Count("*"),
        answered=Count("connect_time"),
        hold_time_ms=Coalesce(Sum("hold_time_ms"), 0),
        fee=Coalesce(Sum("fee"), Decimal(0), output_field=MONEY),
        cost=Coalesce(Sum("cost"), Decimal(0), output_field=MONEY),
    )
    return CdrSummary(**totals)
