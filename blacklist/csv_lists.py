"""CSV export and all-or-nothing CSV import of black list numbers and the system white list.

The format is the one the export writes: UTF-8, a header row `number,match,memo`, one number
per row. On import the header is optional (without one, the columns are number, match, memo in
that order), `match` is `exact` (the default when empty) or `prefix`, and blank lines are
skipped. A file with any bad row — not a number, an unknown match type, a memo too long, a
number twice in the file or already on the list — imports nothing, and the bad rows are
reported with their line numbers and reasons: how many, and the first MAX_REPORTED_ERRORS.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse

from blacklist.choices import NumberMatchChoices
from blacklist.models import BlacklistGroup, BlacklistNumber, SystemWhitelistEntry
from vosadmin.core.audit import record_change
from vosadmin.core.notify import notify_config_change
from vosadmin.core.validators import is_number

CSV_COLUMNS = ("number", "match", "memo")
MAX_ROWS = 100_000
# A rejected file of 100,000 bad rows must not come back as a 100,000-row answer.
MAX_REPORTED_ERRORS = 100
MATCH_TYPES = tuple(NumberMatchChoices.values)
MEMO_LENGTH = BlacklistNumber._meta.get_field("memo").max_length


@dataclass(frozen=True)
class RowError:
    """Why one line of an imported file was rejected (line 0: the file as a whole)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


class CsvImportError(Exception):
    """A rejected import: nothing was stored; `count` bad rows, the first of them in `errors`
    (at most MAX_REPORTED_ERRORS, by line)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"Nothing was imported: {len(errors)} bad row(s).")
        self.count = len(errors)
        self.errors = sorted(errors, key=lambda error: error.line)[:MAX_REPORTED_ERRORS]

    @property
    def not_shown(self) -> int:
        """How many bad rows `errors` leaves out."""
        return self.count - len(self.errors)


@dataclass(frozen=True)
class CsvRow:
    """A valid row of an imported file."""

    line: int
    number: str
    match: str
    memo: str


def import_blacklist_numbers(group: BlacklistGroup, content: bytes | str, user: Any) -> int:
    """Add every number of a CSV file to a black list group, or none; returns how many."""
    return _store(
        parse_csv(content),
        existing=BlacklistNumber.objects.filter(group=group),
        where=f"in group “{group.name}”",
        make=lambda row: BlacklistNumber(
            group=group, number=row.number, match=row.match, memo=row.memo
        ),
        notify=("blacklist_group", group.pk),
        audit=(user, "Black list number", group.pk, f"{group.name}: CSV import"),
    )


def import_whitelist(content: bytes | str, user: Any) -> int:
    """Add every number of a CSV file to the system white list, or none; returns how many."""
    return _store(
        parse_csv(content),
        existing=SystemWhitelistEntry.objects.all(),
        where="on the system white list",
        make=lambda row: SystemWhitelistEntry(number=row.number, match=row.match, memo=row.memo),
        notify=("whitelist", None),
        audit=(user, "System white list entry", "", "System white list: CSV import"),
    )


@dataclass(frozen=True)
class ParsedCsv:
    """A file read row by row: the valid rows and the errors of the others."""

    rows: list[CsvRow]
    errors: list[RowError]


def parse_csv(content: bytes | str) -> ParsedCsv:
    """Every row of a file, checked on its own (duplicates are found when storing).

    Raises CsvImportError only when the file as a whole is unusable (not UTF-8, too long).
    """
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(decode_csv(content), newline=""), strict=True)
    columns: list[str] | None = None
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(cells)
                if columns:
                    errors += _header_errors(reader.line_num, columns)
                    continue
                columns = list(CSV_COLUMNS)
            row = _read_row(reader.line_num, cells, columns)
            (errors if isinstance(row, RowError) else rows).append(row)
            if len(rows) + len(errors) > MAX_ROWS:
                raise CsvImportError([RowError(0, f"more than {MAX_ROWS} rows: split the file")])
    except csv.Error as error:
        errors.append(RowError(reader.line_num, f"not valid CSV ({error})"))
    if not rows and not errors:
        errors.append(RowError(0, "the file holds no numbers"))
    return ParsedCsv(rows, errors)


def export_response(queryset: QuerySet, filename: str) -> StreamingHttpResponse:
    """The numbers of `queryset` as a streamed CSV download in the import format."""
    rows = queryset.values_list(*CSV_COLUMNS).iterator(chunk_size=2000)
    response = StreamingHttpResponse(export_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_lines(
    rows: Iterable[Sequence[Any]], columns: Sequence[str] = CSV_COLUMNS
) -> Iterator[str]:
    """CSV lines, header first (also the rates export's, with its own columns)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow(row)


def _store(
    parsed: ParsedCsv,
    existing: QuerySet,
    where: str,
    make: Callable[[CsvRow], Model],
    notify: tuple[str, Any],
    audit: tuple[Any, str, Any, str],
) -> int:
    """Check for duplicates, then insert every row in one transaction (bulk), NOTIFY the
    engine and write the operation log; or raise CsvImportError with every bad row.

    bulk_create bypasses the model signals, so the import notifies explicitly — once for the
    whole import, not once per row: the engine reloads a list as a whole (docs/adr/0002).
    """
    user, object_type, object_id, object_repr = audit
    rows = parsed.rows
    try:
        with transaction.atomic():
            present = existing.filter(number__in=[row.number for row in rows])
            numbers = set(present.values_list("number", flat=True))
            errors = parsed.errors + duplicate_errors(rows, numbers, where)
            if errors:
                raise CsvImportError(errors)
            created = existing.model.objects.bulk_create(
                [make(row) for row in rows], batch_size=2000
            )
            notify_config_change(notify[0], "update", notify[1])
            changes = {"imported": [None, len(created)]}
            record_change(user, "import", object_type, object_id, object_repr, changes)
    except IntegrityError:
        raise CsvImportError(
            [RowError(0, f"numbers were added {where} meanwhile; nothing was imported, try again")]
        ) from None
    return len(created)


def duplicate_errors(rows: list[CsvRow], existing: set[str], where: str) -> list[RowError]:
    """Rows whose number appeared earlier in the file or is already on the list."""
    first_line: dict[str, int] = {}
    errors = []
    for row in rows:
        if row.number in first_line:
            reason = f"{row.number} is a duplicate of line {first_line[row.number]}"
            errors.append(RowError(row.line, reason))
        elif row.number in existing:
            errors.append(RowError(row.line, f"{row.number} is already {where}"))
        else:
            first_line[row.number] = row.line
    return errors


def decode_csv(content: bytes | str) -> str:
    """An uploaded file as text (UTF-8, with or without BOM), or CsvImportError."""
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvImportError([RowError(0, "the file is not UTF-8 text")]) from None


def nul_error(line: int, cells: list[str]) -> RowError | None:
    """A row holding a NUL character, which PostgreSQL cannot store in text, is a bad row."""
    if any("\x00" in cell for cell in cells):
        return RowError(line, "contains a NUL character")
    return None


def _header(cells: list[str]) -> list[str] | None:
    """The column names, if this first row is a header (it names a `number` column)."""
    names = [cell.strip().lower() for cell in cells]
    return names if "number" in names else None


def _header_errors(line: int, columns: list[str]) -> list[RowError]:
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    repeated = len(set(columns)) != len(columns)
    if unknown or repeated:
        reason = f"the header must name the columns {', '.join(CSV_COLUMNS)} (each once)"
        return [RowError(line, reason)]
    return []


def _read_row(line: int, cells: list[str], columns: list[str]) -> CsvRow | RowError:
    if nul := nul_error(line, cells):
        return nul
    if len(cells) > len(columns):
        expected = ", ".join(columns)
        return RowError(line, f"{len(cells)} columns, expected at most {len(columns)}: {expected}")
    values = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
    number, memo = values.get("number", ""), values.get("memo", "")
    match = values.get("match", "").lower() or NumberMatchChoices.EXACT
    reasons = []
    if not is_number(number):
        reasons.append(f"not a number: “{number}”" if number else "the number is missing")
    if match not in MATCH_TYPES:
        reasons.append(f"unknown match type “{match}” (use exact or prefix)")
    if len(memo) > MEMO_LENGTH:
        reasons.append(f"the memo is longer than {MEMO_LENGTH} characters")
    if reasons:
        return RowError(line, "; ".join(reasons))
    return CsvRow(line, number, match, memo)


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value
