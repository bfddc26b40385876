"""Bulk CDR insertion through COPY (the only way CDRs are written in bulk).

Rows are `CdrRow`s, as CSV in one format (COPY_OPTIONS): `rows_to_csv`
renders the SIP engine's journal lines, `CsvStream` renders rows while COPY reads them.
`copy_cdrs` streams rows straight into the table; `copy_csv_idempotent` (journal batches) and
`copy_cdrs_idempotent` go through a temporary table and skip flow numbers already stored, so a
replayed batch is harmless (docs/adr/0004); the fees of the rows they insert are taken from
their accounts' balances in the same transaction (docs/adr/0006).

Columns added later go last, so a row written before them is a prefix of a row: rows of a
length in `ROW_LENGTHS` (old journals) load with `LATER_DEFAULTS` for what they lack — before
rating: no account, no prefixes, cost 0; before PDD: no pdd_ms.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from billing.hours import HOUR_OF_START, hour_shift
from vosadmin.core.notify import CONFIG_CHANNEL


class CdrRow(NamedTuple):
    """One CDR as COPY loads it: the fields are the columns of billing_cdr, in COPY order.

    The engine's rules build it (`softswitch.rules.cdr.cdr_row`), the journal and COPY write
    it, the export reads it back (`billing.export`): nobody counts positions.
    """

    flow_no: int
    call_id: str
    caller: str
    callee: str
    caller_ip: str
    callee_ip: str
    mapping_gateway: str
    phone: str
    routing_gateway: str
    start_time: datetime
    connect_time: datetime | None
    stop_time: datetime
    hold_time_ms: int
    fee_time: int
    fee: Decimal
    end_reason: int
    end_direction: int
    billing_mode: int
    # Rating (SPEC §8.2), last so that rows without them are a prefix of a row.
    account_id: int | None = None
    fee_prefix: str = ""
    cost: Decimal = Decimal(0)
    cost_prefix: str = ""
    # Post-dial delay (SPEC §10): INVITE received → first 18x or 200 from the routing side.
    pdd_ms: int | None = None


CDR_COLUMNS = CdrRow._fields
# What a row written before a column existed gets for it (the defaults of the last fields).
LATER_DEFAULTS = tuple(CdrRow._field_defaults.values())
# The lengths of rows the journal may hold: before rating, before PDD, now.
ROW_LENGTHS = (len(CDR_COLUMNS) - 5, len(CDR_COLUMNS) - 1, len(CDR_COLUMNS))
COLUMN_LIST = ", ".join(f'"{column}"' for column in CDR_COLUMNS)
NULL = r"\N"
# Every value but a number is quoted and NULL is \N. A quoted "\N" is text, so a caller ID that
# reads \N stays text; the nullable columns (connect_time, account_id, pdd_ms) read a quoted \N
# as NULL too (FORCE_NULL). Unquoted \N, as journals written before quoting have
# it, is NULL anywhere.
COPY_OPTIONS = "FORMAT csv, NULL '\\N', FORCE_NULL (connect_time, account_id, pdd_ms)"
# A mark for each hour of the CDRs just inserted (CTE `inserted`), for billing.reports to
# recompute. Always a new row, even where the hour is marked already: a recompute deletes only
# the marks it can see, so this one outlives any recompute that cannot see these CDRs.
MARK_PENDING_HOURS = (
    f"INSERT INTO billing_pendingreporthour (hour) SELECT DISTINCT {HOUR_OF_START} FROM inserted"
)
RENDER_ROWS = 200  # ~50 KB of CSV
READ_SIZE = 64 * 1024


def csv_row(row: Sequence[Any]) -> list[Any]:
    """A row as the csv module writes it: None as NULL, everything else as it is (PostgreSQL
    reads `str()` of datetimes and decimals); an older, shorter row is completed."""
    return [NULL if value is None else value for value in completed(row)]


def completed(row: Sequence[Any]) -> Sequence[Any]:
    """A CDR row of an older length with `LATER_DEFAULTS` for the columns it was written
    without; any other row (a full CDR, or not a CDR at all: registrations) as it is."""
    if len(row) not in ROW_LENGTHS[:-1]:
        return row
    return (*row, *LATER_DEFAULTS[len(row) - len(CDR_COLUMNS) :])


def csv_writer(buffer: io.StringIO) -> Any:
    """A csv writer of the COPY_OPTIONS format."""
    return csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")


def rows_to_csv(rows: Iterable[Sequence[Any]]) -> io.StringIO:
    """Render rows as COPY-ready CSV."""
    buffer = io.StringIO()
    csv_writer(buffer).writerows(map(csv_row, rows))
    buffer.seek(0)
    return buffer


class CsvStream(io.TextIOBase):
    """COPY-ready CSV of `rows`, rendered as the database reads it.

    psycopg2 pulls READ_SIZE at a time and PostgreSQL inserts while the next rows are produced,
    so generating and inserting overlap and memory stays flat.
    """

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        super().__init__()
        self.rows = iter(rows)
        self.rows_read = 0
        self._pending = ""
        self._buffer = io.StringIO()
        self._writer = csv_writer(self._buffer)

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
        self._writer.writerows(map(csv_row, batch))
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
    return copy_csv_idempotent(cursor, CsvStream(rows))


def copy_csv_idempotent(cursor: Any, csv_file: Any) -> int:
    """COPY CSV lines (`rows_to_csv` format) idempotently; returns the rows actually inserted
    (`copy_csv_charging` says how)."""
    return copy_csv_charging(cursor, csv_file).rows


class Inserted(NamedTuple):
    """What an idempotent COPY did: the rows it inserted, and the balance each account it
    charged was left with (account id → balance)."""

    rows: int
    balances: dict[int, Decimal]


def copy_csv_charging(cursor: Any, csv_file: Any, origin: str = "") -> Inserted:
    """COPY CSV lines (`rows_to_csv` format) idempotently, and charge what they cost.

    Lines go to a temporary table first, then into billing_cdr with ON CONFLICT DO NOTHING, so
    a batch replayed after a crash or an outage inserts only what is missing — and charges only
    the fees of what it inserted (`charge_accounts`, whose NOTIFY names `origin`), in the
    caller's transaction. The hours of the CDRs inserted are marked for the gateway reports to
    recompute (billing.reports).
    """
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS cdr_incoming "
        "(LIKE billing_cdr INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    cursor.copy_expert(
        f"COPY cdr_incoming ({COLUMN_LIST}) FROM STDIN WITH ({COPY_OPTIONS})", csv_file, READ_SIZE
    )
    cursor.execute(
        f"WITH inserted AS (INSERT INTO billing_cdr ({COLUMN_LIST}) "
        f"SELECT DISTINCT ON (flow_no) {COLUMN_LIST} FROM cdr_incoming "
        "ON CONFLICT (flow_no, start_time) DO NOTHING RETURNING account_id, fee, start_time), "
        f"pending AS ({MARK_PENDING_HOURS}) "
        "SELECT account_id, sum(fee), count(*) FROM inserted GROUP BY account_id",
        {"shift": hour_shift()},
    )
    totals = cursor.fetchall()
    fees = {account: fee for account, fee, _ in totals if account and fee}
    balances = charge_accounts(cursor, fees, origin)
    return Inserted(sum(count for _, _, count in totals), balances)


def charge_accounts(cursor: Any, fees: dict[int, Decimal], origin: str = "") -> dict[int, Decimal]:
    """Take `fees` from their accounts' balances and tell the engines (NOTIFY `account`, with
    `origin` when an engine node charged them: it applies the balances returned itself);
    returns the balances after the charge (a deleted account is skipped: its CDRs keep their
    fee).

    Rows are locked in id order first, so concurrent writers (and payments, which lock one
    row) cannot deadlock (docs/adr/0006).
    """
    if not fees:
        return {}
    ids = sorted(fees)
    cursor.execute(
        "SELECT id FROM billing_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]
    )
    cursor.execute(
        "UPDATE billing_account AS account SET balance = account.balance - charge.fee "
        "FROM unnest(%s::bigint[], %s::numeric[]) AS charge(id, fee) "
        "WHERE account.id = charge.id RETURNING account.id, account.balance",
        [ids, [fees[account] for account in ids]],
    )
    balances = dict(cursor.fetchall())
    charged = sorted(balances)
    for start in range(0, len(charged), NOTIFY_IDS):  # a payload holds at most 8000 bytes
        message = {
            "kind": "account",
            "action": "update",
            "key": charged[start : start + NOTIFY_IDS],
        }
        if origin:
            message["origin"] = origin
        cursor.execute("SELECT pg_notify(%s, %s)", [CONFIG_CHANNEL, json.dumps(message)])
    return balances


NOTIFY_IDS = 400
