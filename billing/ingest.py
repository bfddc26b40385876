"""Bulk CDR insertion through COPY (the only way CDRs are written in bulk).

Rows are tuples in `CDR_COLUMNS` order. `copy_cdrs` streams them straight into the table;
`copy_cdrs_idempotent` goes through a temporary table and skips flow numbers already stored,
which is what the SIP engine's writer and its spool replay use (docs/adr/0004).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
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


def _csv_value(value: Any) -> Any:
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return str(value)
    return value


def rows_to_csv(rows: Iterable[Sequence[Any]]) -> io.StringIO:
    """Render rows as COPY-ready CSV (NULL as \\N)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    buffer.seek(0)
    return buffer


def copy_cdrs(cursor: Any, rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into billing_cdr (psycopg2 cursor; duplicates raise)."""
    cursor.copy_expert(
        f"COPY billing_cdr ({COLUMN_LIST}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
        rows_to_csv(rows),
    )


def copy_cdrs_idempotent(cursor: Any, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows via a temporary table, skipping flow numbers already stored; returns inserted."""
    return copy_csv_idempotent(cursor, rows_to_csv(rows))


def copy_csv_idempotent(cursor: Any, csv_file: Any) -> int:
    """COPY CSV lines (`rows_to_csv` format) idempotently; returns the rows actually inserted.

    Lines go to a temporary table first, then into billing_cdr with ON CONFLICT DO NOTHING, so
    a batch replayed after a crash or an outage inserts only what is missing.
    """
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS cdr_incoming "
        "(LIKE billing_cdr INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.copy_expert(
        f"COPY cdr_incoming ({COLUMN_LIST}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", csv_file
    )
    cursor.execute(
        f"INSERT INTO billing_cdr ({COLUMN_LIST}) "
        f"SELECT DISTINCT ON (flow_no) {COLUMN_LIST} FROM cdr_incoming "
        "ON CONFLICT (flow_no, start_time) DO NOTHING"
    )
    return cursor.rowcount
