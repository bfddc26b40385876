"""Keyset ("seek") pagination of CDRs, shared by the CDR page and the API.

A page is the next `size` rows after a position in a total order, never an OFFSET: the cost of
page 1000 is the cost of page 1. The order is the sorted column, then (start_time, flow_no),
which is unique, all in one direction, so the position is one row value and "after it" is one
row comparison that PostgreSQL answers from an index:

    WHERE (start_time, flow_no) < ('2025-11-26 10:00:00+00', 4711)
    ORDER BY start_time DESC, flow_no DESC LIMIT 51

A cursor is that position, the ordering it belongs to and the direction (next or previous),
as opaque URL-safe text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func, Value
from django.db.models.lookups import GreaterThan, LessThan

from billing.models import Cdr

TIE_BREAK = ("start_time", "flow_no")
ORDERABLE_FIELDS = (
    "flow_no",
    "start_time",
    "stop_time",
    "caller",
    "callee",
    "caller_ip",
    "callee_ip",
    "mapping_gateway",
    "phone",
    "routing_gateway",
    "hold_time_ms",
    "fee_time",
    "fee",
    "cost",
    "end_reason",
    "end_direction",
    "billing_mode",
)
DEFAULT_ORDERING = "-start_time"


class InvalidPagination(ValueError):
    """A bad `ordering` or `cursor`; `parameter` names which."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class Row(Func):
    """A row constructor, `(a, b, c)`: compared lexicographically by PostgreSQL."""

    template = "(%(expressions)s)"
    output_field = models.Field()


@dataclass(frozen=True)
class CdrOrdering:
    """A sort column and direction, completed by the (start_time, flow_no) tie-break."""

    field: str
    descending: bool

    @classmethod
    def parse(cls, text: str | None) -> CdrOrdering:
        """`-hold_time_ms`, `caller`, … (default newest first); InvalidPagination otherwise."""
        text = text or DEFAULT_ORDERING
        field = text.removeprefix("-")
        if field not in ORDERABLE_FIELDS:
            choices = ", ".join(ORDERABLE_FIELDS)
            raise InvalidPagination("ordering", f"Sort by one of {choices}, with - to reverse.")
        return cls(field, text.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field

    @property
    def key(self) -> tuple[str, ...]:
        """The columns of the total order."""
        return tuple(dict.fromkeys((self.field, *TIE_BREAK)))

    def order_by(self, backwards: bool = False) -> list[str]:
        """ORDER BY terms, reversed when reading backwards (previous page)."""
        sign = "-" if self.descending != backwards else ""
        return [f"{sign}{column}" for column in self.key]

    def position_of(self, cdr: Cdr) -> tuple[Any, ...]:
        """A row's position in this order."""
        return tuple(getattr(cdr, column) for column in self.key)


@dataclass(frozen=True)
class Cursor:
    """A position in an ordering and the direction to read from it."""

    ordering: CdrOrdering
    position: tuple[Any, ...]
    backwards: bool = False

    def encode(self) -> str:
        """Opaque URL-safe text."""
        values = [_json_value(value) for value in self.position]
        payload = json.dumps([str(self.ordering), self.backwards, values], separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, ordering: CdrOrdering) -> Cursor:
        """The cursor for `ordering`, or InvalidPagination if it is not one of ours."""
        try:
            padded = text + "=" * (-len(text) % 4)
            name, backwards, values = json.loads(base64.urlsafe_b64decode(padded))
            if name != str(ordering) or not isinstance(backwards, bool):
                raise ValueError
            position = _parse_position(ordering.key, values)
        except (ValueError, TypeError, RecursionError, ValidationError):
            # RecursionError: json.loads of a cursor crafted as deeply nested arrays
            raise InvalidPagination(
                "cursor", "This cursor is not valid for this ordering; start again without it."
            ) from None
        return cls(ordering, position, backwards)

    def condition(self) -> GreaterThan | LessThan:
        """Rows strictly beyond the position, in the reading direction."""
        columns = self.ordering.key
        fields = [Cdr._meta.get_field(column) for column in columns]
        values = [Value(v, output_field=f) for v, f in zip(self.position, fields, strict=True)]
        before = self.ordering.descending != self.backwards
        comparison = LessThan if before else GreaterThan
        return comparison(Row(*columns), Row(*values))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, Decimal) else value


def _parse_position(columns: Sequence[str], values: Any) -> tuple[Any, ...]:
    if not isinstance(values, list) or len(values) != len(columns):
        raise ValueError
    position = tuple(
        Cdr._meta.get_field(column).to_python(value)
        for column, value in zip(columns, values, strict=True)
    )
    if any(value is None or "\x00" in str(value) for value in position):
        raise ValueError
    return position


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows and the cursors of its neighbours (None at either end)."""

    rows: list[Cdr]
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(
    queryset: models.QuerySet, ordering: CdrOrdering, cursor: Cursor | None, size: int
) -> KeysetPage:
    """The page of `size` rows after (or, reading backwards, before) the cursor."""
    backwards = cursor is not None and cursor.backwards
    queryset = queryset.order_by(*ordering.order_by(backwards))
    if cursor is not None:
        queryset = queryset.filter(cursor.condition())
    rows = list(queryset[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if backwards:
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, cursor is not None
    return KeysetPage(
        rows,
        _cursor_at(ordering, rows[-1:], backwards=False) if has_next else None,
        _cursor_at(ordering, rows[:1], backwards=True) if has_previous else None,
    )


def _cursor_at(ordering: CdrOrdering, rows: list[Cdr], backwards: bool) -> str | None:
    if not rows:
        return None
    return Cursor(ordering, ordering.position_of(rows[0]), backwards).encode()


def parse_cursor(text: str | None, ordering: CdrOrdering) -> Cursor | None:
    """The request's cursor, or None for the first page."""
    return Cursor.decode(text, ordering) if text else None
