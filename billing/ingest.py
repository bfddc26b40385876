"""Bulk CDR insertion through COPY (the only way CDRs are written in bulk).

Rows are tuples in `CDR_COLUMNS` order. `copy_cdrs` streams them straight into the table;
`copy_cdrs_idempotent` goes through a temporary table and skips flow numbers already stored,
which is what the SIP engine's writer and its spool replay use (docs/adr/0004).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

CDR_COLUMNS = (
    "flow_no",
    "call_id",
    "caller",
    "callee",
    "caller_ip",
    "callee_ip",
    "mapping_gateway",
    "phone",
    "routing_gateway",
    "start_time",
    "connect_time",
    "stop_time",
    "hold_time_ms",
    "fee_time",
    "fee",
    "end_reason",
    "end_direction",
    "billing_mode",
)
COLUMN_LIST = ", ".join(f'"{column}"' for column in CDR_COLUMNS)
# Text is always quoted and NULL is an unquoted empty field, so an empty string stays an empty
# string; connect_time, the one nullable column, is written as "" when None, which FORCE_NULL
# reads back as NULL. The csv module then renders rows in C, with no per-value Python work.
COPY_OPTIONS = "FORMAT csv, FORCE_NULL (connect_time)"
RENDER_ROWS = 200  # ~50 KB of CSV
READ_SIZE = 64 * 1024


class CsvStream(io.TextIOBase):
    """COPY-ready CSV of `rows`, rendered as the database reads it.

    psycopg2 pulls a few kilobytes at a time and PostgreSQL inserts them while the next rows
    are produced, so generating and inserting overlap and memory stays flat.
    """

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        super().__init__()
        self.rows = iter(rows)
        self.rows_read = 0
        self._pending = ""
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            data, self._pending = self._pending + "".join(iter(self._render, "")), ""
            return data
        while len(self._pending) < size and (more := self._render()):
            self._pending += more
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _render(self) -> str:
        """The next RENDER_ROWS rows as CSV ("" when there are none left)."""
        batch = list(itertools.islice(self.rows, RENDER_ROWS))
        self._writer.writerows(batch)
        self.rows_read += len(batch)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def copy_cdrs(cursor: Any, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into billing_cdr (psycopg2 cursor; duplicates raise); returns the count."""
    stream = CsvStream(rows)
    cursor.copy_expert(
        f"COPY billing_cdr ({COLUMN_LIST}) FROM STDIN WITH ({COPY_OPTIONS})", stream, READ_SIZE
    )
    return stream.rows_read


def copy_cdrs_idempotent(cursor: Any, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows via a temporary table, skipping flow numbers already stored; returns inserted."""
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS cdr_incoming "
        "(LIKE billing_cdr INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.copy_expert(
        f"COPY cdr_incoming ({COLUMN_LIST}) FROM STDIN WITH ({COPY_OPTIONS})",
        CsvStream(rows),
        READ_SIZE,
    )
    cursor.execute(
        f"INSERT INTO billing_cdr ({COLUMN_LIST}) "
        f"SELECT DISTINCT ON (flow_no) {COLUMN_LIST} FROM cdr_incoming "
        "ON CONFLICT (flow_no, start_time) DO NOTHING"
    )
    return cursor.rowcount
