"""CSV export and all-or-nothing CSV import of a rate group's rates.

The format is the export's: UTF-8, the header row
`prefix,area_name,first_period,first_fee,period,fee,effective_from,effective_to,memo`, one rate
per row. On import the header is required (vendors' decks put columns in any order; unknown
columns are an error), `prefix`, `period` and `fee` are required, `first_period` and `first_fee`
default to 0, `effective_from` to the moment of the import, and `effective_to` to none. Times
are ISO 8601 (a date alone is midnight; without an offset, the console's time zone). Money has
at most 4 decimal places.

A file with any bad row imports nothing, and every bad row is reported with its line number
(the blacklist imports' machinery: `blacklist.csv_lists.RowError` / `CsvImportError`). Rows are
checked in Python first and then inserted with one COPY, so a 50,000-row deck takes seconds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from billing.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    RATE_TERMS,
    Rate,
    RateGroup,
    longest_call_problem,
)
from blacklist.csv_lists import CsvImportError, RowError, decode_csv, export_lines, nul_error
from vosadmin.core.audit import record_change
from vosadmin.core.notify import notify_config_change
from vosadmin.core.validators import is_storable_moment

CSV_COLUMNS = (*RATE_TERMS, "memo")
REQUIRED_COLUMNS = ("prefix", "period", "fee")
MAX_ROWS = 200_000
MAX_PERIOD = 2_147_483_647
MONEY_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)
LENGTHS = {name: Rate._meta.get_field(name).max_length for name in ("prefix", "area_name", "memo")}


@dataclass(frozen=True)
class RateRow:
    """A valid row of an imported file."""

    line: int
    values: dict[str, Any]


def import_rates(group: RateGroup, content: bytes | str, user: Any) -> int:
    """Add every rate of a CSV file to a rate group, or none; returns how many."""
    rows, errors = parse_rates(content, timezone.now())
    try:
        with transaction.atomic():
            existing = set(
                Rate.objects.filter(rate_group=group).values_list("prefix", "effective_from")
            )
            errors += duplicate_errors(rows, existing)
            if errors:
                raise CsvImportError(errors)
            created = copy_rates(group, rows)
            notify_config_change("rate_group", "update", group.pk)  # COPY fires no signal
            changes = {"imported rates": [None, created]}
            record_change(user, "import", "Rate group", group.pk, f"{group}: CSV import", changes)
    except IntegrityError:
        reason = "rates were added to this group meanwhile; nothing was imported, try again"
        raise CsvImportError([RowError(0, reason)]) from None
    return created


def copy_rates(group: RateGroup, rows: list[RateRow]) -> int:
    """Insert the rows with one COPY (the ORM's bulk_create spends seconds preparing 50,000
    rows); every value was checked in `read_row`, and the constraints check again."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        values = row.values
        writer.writerow([group.pk, *(_copy_value(values[name]) for name in CSV_COLUMNS)])
    buffer.seek(0)
    columns = ", ".join(("rate_group_id", *CSV_COLUMNS))
    # Quoted CSV values are never NULL, except in FORCE_NULL columns where "" is NULL.
    options = "FORMAT csv, FORCE_NULL (effective_to)"
    sql = f"COPY {Rate._meta.db_table} ({columns}) FROM STDIN WITH ({options})"
    # copy_expert is not among the cursor methods whose errors Django wraps: without this a
    # rate added meanwhile (UniqueViolation) would not be the IntegrityError `import_rates`
    # reports, but a 500.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.copy_expert(sql, buffer)
    return len(rows)


def _copy_value(value: Any) -> Any:
    """A value as COPY reads it; times in UTC (PostgreSQL refuses offsets past ±15:59)."""
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def parse_rates(content: bytes | str, now: datetime) -> tuple[list[RateRow], list[RowError]]:
    """Every row of a file checked on its own (duplicates are found when storing)."""
    reader = csv.reader(io.StringIO(decode_csv(content), newline=""), strict=True)
    rows: list[RateRow] = []
    errors: list[RowError] = []
    columns: list[str] | None = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = [cell.strip().lower() for cell in cells]
                header_error = _header_error(reader.line_num, columns)
                if header_error:
                    return [], [header_error]
                continue
            row = read_row(reader.line_num, cells, columns, now)
            (errors if isinstance(row, RowError) else rows).append(row)
            if len(rows) + len(errors) > MAX_ROWS:
                raise CsvImportError([RowError(0, f"more than {MAX_ROWS} rows: split the file")])
    except csv.Error as error:
        errors.append(RowError(reader.line_num, f"not valid CSV ({error})"))
    if not rows and not errors:
        errors.append(RowError(0, "the file holds no rates"))
    return rows, errors


def read_row(line: int, cells: list[str], columns: list[str], now: datetime) -> RateRow | RowError:
    """One data row as Rate field values, or the reasons it is bad."""
    if nul := nul_error(line, cells):
        return nul
    if len(cells) > len(columns):
        return RowError(line, f"{len(cells)} columns, the header names {len(columns)}")
    text = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
    reasons: list[str] = []
    values: dict[str, Any] = {}
    for name, length in LENGTHS.items():
        values[name] = text.get(name, "")
        if len(values[name]) > length:
            reasons.append(f"{name} is longer than {length} characters")
    prefix = values["prefix"]
    if prefix and not (prefix.isascii() and prefix.isdigit()):
        reasons.append(f"prefix “{values['prefix']}” is not digits")
    values["first_period"] = _integer(text, "first_period", 0, 0, reasons)
    values["period"] = _integer(text, "period", None, 1, reasons)
    values["first_fee"] = _money(text, "first_fee", Decimal(0), reasons)
    values["fee"] = _money(text, "fee", None, reasons)
    values["effective_from"] = _moment(text, "effective_from", now, reasons)
    values["effective_to"] = _moment(text, "effective_to", None, reasons)
    if problem := longest_call_problem(values["first_fee"], values["period"], values["fee"]):
        reasons.append(f"{problem[0]}: {problem[1]}")
    start, end = values["effective_from"], values["effective_to"]
    if start is not None and end is not None and end <= start:
        reasons.append("effective_to must be later than effective_from")
    if reasons:
        return RowError(line, "; ".join(reasons))
    return RateRow(line, values)


def duplicate_errors(rows: list[RateRow], existing: set[tuple[str, datetime]]) -> list[RowError]:
    """Rows whose prefix and start appeared earlier in the file or are already in the group."""
    first_line: dict[tuple[str, datetime], int] = {}
    errors = []
    for row in rows:
        key = (row.values["prefix"], row.values["effective_from"])
        shown = f"prefix “{key[0]}” from {key[1].isoformat()}"
        if key in first_line:
            errors.append(RowError(row.line, f"{shown} is a duplicate of line {first_line[key]}"))
        elif key in existing:
            errors.append(RowError(row.line, f"{shown} is already in the group"))
        else:
            first_line[key] = row.line
    return errors


def export_response(queryset: QuerySet, filename: str) -> StreamingHttpResponse:
    """The rates of `queryset` as a streamed CSV download in the import format."""
    rows = queryset.values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    lines = export_lines((_export_row(row) for row in rows), CSV_COLUMNS)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_row(row: tuple[Any, ...]) -> list[Any]:
    return [value.isoformat() if isinstance(value, datetime) else value for value in row]


def _header_error(line: int, columns: list[str]) -> RowError | None:
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        reason = (
            f"the first row must be a header naming {', '.join(REQUIRED_COLUMNS)} and any of "
            f"{', '.join(c for c in CSV_COLUMNS if c not in REQUIRED_COLUMNS)}, each once"
        )
        found = f" (unknown: {', '.join(unknown)})" if unknown else ""
        return RowError(line, reason + found)
    return None


def _integer(
    text: dict[str, str], name: str, default: int | None, minimum: int, reasons: list[str]
) -> int | None:
    value = text.get(name, "")
    if value == "" and default is not None:
        return default
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= MAX_PERIOD:
        reasons.append(f"{name} must be a whole number of seconds, at least {minimum}")
        return None
    return int(value)


def _money(
    text: dict[str, str], name: str, default: Decimal | None, reasons: list[str]
) -> Decimal | None:
    value = text.get(name, "")
    if value == "" and default is not None:
        return default
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount >= MONEY_LIMIT:
        reasons.append(f"{name} must be an amount of money, 0 or more (“{value}”)")
        return None
    if amount.as_tuple().exponent < -MONEY_PLACES:
        reasons.append(f"{name} has more than {MONEY_PLACES} decimal places (“{value}”)")
        return None
    return amount


def _moment(
    text: dict[str, str], name: str, default: datetime | None, reasons: list[str]
) -> datetime | None:
    value = text.get(name, "")
    if value == "":
        return default
    moment = _parse_moment(value)
    if moment is None:
        reasons.append(f"{name} is not an ISO 8601 date or time (“{value}”)")
    elif not is_storable_moment(moment):
        reasons.append(f"{name} is outside the years 1 to 9999 in UTC (“{value}”)")
        return None
    return moment


@lru_cache(maxsize=1024)
def _parse_moment(value: str) -> datetime | None:
    """An ISO 8601 time or date, aware (cached: a deck repeats a few dates on every row)."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        return None
    if moment is None:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
