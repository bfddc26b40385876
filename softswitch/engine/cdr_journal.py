"""The CDR journal: every CDR is appended to a local file first and COPYed to PostgreSQL from it.

One code path for the normal case and the outage: the call path only appends a CSV line (no
database round trip); the writer task periodically fsyncs the journal, COPYs everything after
the committed offset (idempotently: `billing.ingest.copy_csv_idempotent`), then advances the
offset. While PostgreSQL is unreachable the journal simply grows; when it is back the writer
catches up. A crash between the COPY's commit and the offset write replays lines that are
already stored, and the database skips them (flow numbers are unique) — see docs/adr/0004.

One CDR is one line (a line break inside a value is written as %0A). A line that is not a CDR
row — the fragment a power loss or a full disk left at the end, garbage in the middle, a value
its column cannot hold (a fee of 10^10) — would make every COPY fail; it is moved to the
quarantine file instead (logged at ERROR), and the journal carries on with the next whole line
(docs/adr/0004).

Answered calls in progress are kept in `calls-<node>.open` (`open_calls.py`) until their CDR is
journaled, so that the next start bills the calls a killed engine was carrying.

Files, under SIP_SPOOL_DIR (default `var/spool/`): `cdr-<node>.csv`, `cdr-<node>.offset`,
`calls-<node>.open` and, when something was set aside, `cdr-<node>.quarantine` (the lines as
they were, one a line).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import BinaryIO

from billing.ingest import CDR_COLUMNS, LATER_DEFAULTS, NULL, ROW_LENGTHS, CdrRow, rows_to_csv
from softswitch.engine.open_calls import OpenCallLog, write_all
from softswitch.rules.cdr import CallRecord

logger = logging.getLogger(__name__)

MAX_BATCH_BYTES = 8 * 1024 * 1024
SCAN_BYTES = 64 * 1024
LINE_BREAKS = str.maketrans({"\n": "%0A", "\r": "%0D"})


class CdrJournal:
    """Append-only CSV journal of CDRs with a committed offset. Not thread-safe: appends,
    offset commits and compaction happen on the event loop's thread; `read_pending` may run in
    an executor because it only reads bytes that were already fsynced."""

    def __init__(self, directory: Path, node: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"cdr-{node}.csv"
        self.offset_path = directory / f"cdr-{node}.offset"
        self.quarantine_path = directory / f"cdr-{node}.quarantine"
        self._quarantine_torn_tail()
        # Unbuffered: every CDR is in the OS's hands when append() returns, so a killed process
        # loses none (the writer's fsync covers power loss).
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept for the process's life
        self.committed = self._read_offset()
        self.screened = self.committed  # lines before this offset were checked (bad ones set aside)
        self.appended = 0
        self.open_calls = OpenCallLog(directory, node)

    def _read_offset(self) -> int:
        try:
            offset = int(self.offset_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            offset = 0
        size = self.path.stat().st_size
        return offset if 0 <= offset <= size else 0

    def _quarantine_torn_tail(self) -> None:
        """Set aside a last line without its newline: the next append would glue a CDR to it."""
        with contextlib.suppress(FileNotFoundError), open(self.path, "r+b") as journal:
            size = journal.seek(0, os.SEEK_END)
            end = _after_last_newline(journal, size)
            if end == size:
                return
            journal.seek(end)
            self.quarantine(journal.read(), end, "torn last line (no newline)")
            journal.truncate(end)
            os.fsync(journal.fileno())

    def quarantine(self, data: bytes, offset: int, reason: str) -> None:
        """Keep lines that are not CDR rows in the quarantine file, durably, and say so loudly."""
        with open(self.quarantine_path, "ab") as kept:
            kept.write(data if data.endswith(b"\n") else data + b"\n")
            os.fsync(kept.fileno())
        logger.error(
            "CDR journal %s: %d bytes at offset %d are not a CDR (%s); moved to %s for the "
            "operator to inspect, carrying on with the next line",
            self.path,
            len(data),
            offset,
            reason,
            self.quarantine_path,
        )

    def append(self, row: CdrRow) -> None:
        """Append one CDR as one line."""
        line = rows_to_csv([row]).getvalue()
        if line.count("\n") != 1 or "\r" in line:
            line = rows_to_csv([_without_line_breaks(row)]).getvalue()
        write_all(self._file, line.encode())
        self.appended += 1

    def flush_buffer(self) -> int:
        """The journal's size (everything appended is already in the OS's hands); the calls
        closed so far are staged for `synced()`. Event loop thread."""
        self.open_calls.stage()
        return self._file.tell()

    def fsync(self) -> None:
        """Force the journal and the open-call log to disk (blocking: run it in an executor)."""
        os.fsync(self._file.fileno())
        self.open_calls.fsync()

    def synced(self) -> None:
        """After `fsync()` (event loop thread): the staged calls' CDRs are durable, close them."""
        self.open_calls.close_staged()

    def heartbeat(self) -> None:
        """The engine is alive now (every second): the stop time of calls it might die with."""
        self.open_calls.heartbeat()

    def calls_left_open(self) -> list[CallRecord]:
        """At start: answered calls of the previous process without a CDR — never closed in the
        open-call log and not among the CDRs still to be written from this journal."""
        pending = self.pending_flow_numbers()
        return [record for record in self.open_calls.left_open() if record.flow_no not in pending]

    def forget_calls_left_open(self) -> None:
        """Once their CDRs are appended: make them durable, then empty the open-call log."""
        self.sync()
        self.open_calls.reset()

    def pending_flow_numbers(self) -> set[int]:
        """The flow numbers of the CDRs not yet committed to the database (a start-up scan)."""
        with open(self.path, "rb") as reader:
            reader.seek(self.committed)
            heads = (line.split(b",", 1)[0] for line in reader)
            return {int(head) for head in heads if head.isdigit()}

    def sync(self) -> int:
        """Flush and fsync what was appended; return the journal size now safely on disk."""
        size = self.flush_buffer()
        self.fsync()
        return size

    def has_pending(self) -> bool:
        """Whether there are CDRs not yet committed to the database (or calls to close)."""
        return self.committed < self._file.tell() or self.open_calls.needs_sync()

    def read_pending(self, end: int) -> tuple[bytes, int]:
        """Bytes of whole lines from the committed offset to at most `end` (capped per batch),
        and the offset after them."""
        with open(self.path, "rb") as reader:
            reader.seek(self.committed)
            data = reader.read(min(end - self.committed, MAX_BATCH_BYTES))
        if not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
        return self._screen(data, self.committed), self.committed + len(data)

    def _screen(self, data: bytes, start: int) -> bytes:
        """The CDR lines of `data` (read at offset `start`); the others are quarantined once."""
        lines = [line + b"\n" for line in data.split(b"\n")[:-1]]  # data ends with a newline
        good, offset, changed = [], start, False
        for line in lines:
            problem, columns = _line_check(line)
            if problem is None:
                good.append(line if columns == len(CDR_COLUMNS) else _completed(line, columns))
                changed = changed or columns != len(CDR_COLUMNS)
            elif offset >= self.screened:
                self.quarantine(line, offset, problem)
            offset += len(line)
        self.screened = max(self.screened, offset)
        return data if len(good) == len(lines) and not changed else b"".join(good)

    def commit(self, offset: int) -> None:
        """Record that everything before `offset` is in the database; compact when all is."""
        self.committed = offset
        if offset == self._file.tell():
            self._file.truncate(0)
            self._file.seek(0)
            self.committed = self.screened = 0
        temporary = self.offset_path.with_suffix(".tmp")
        temporary.write_text(str(self.committed))
        os.replace(temporary, self.offset_path)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        """Flush and close the journal file."""
        self.sync()
        self._file.close()
        self.open_calls.close()


def _after_last_newline(file: BinaryIO, size: int) -> int:
    """The offset just after the last newline of `file` (0 if it has none)."""
    position = size
    while position > 0:
        start = max(position - SCAN_BYTES, 0)
        file.seek(start)
        found = file.read(position - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def _without_line_breaks(row: CdrRow) -> CdrRow:
    """The row with CR and LF in its texts written as %0D and %0A (one CDR, one line)."""
    return CdrRow._make(
        value.translate(LINE_BREAKS) if isinstance(value, str) else value for value in row
    )


def _timestamp(value: str) -> None:
    if datetime.fromisoformat(value).tzinfo is None:
        raise ValueError("no time zone")


def _integer(bits: int) -> Callable[[str], None]:
    """The check of a signed integer column of `bits` bits (smallint 16, integer 32, bigint 64)."""
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def check(value: str) -> None:
        if not low <= int(value) <= high:
            raise ValueError(f"out of the {bits}-bit range")

    return check


def _nullable(check: Callable[[str], None]) -> Callable[[str], None]:
    def nullable_check(value: str) -> None:
        if value != NULL:
            check(value)

    return nullable_check


def _money(value: str) -> None:
    """A numeric(14, 4) value, as PostgreSQL stores it: rounded to 4 places (half away from
    zero), then at most 10 digits before the point; NaN and infinities are not money."""
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("not a finite number")
    if abs(amount.quantize(MONEY_STEP, ROUND_HALF_UP)) >= MONEY_BOUND:
        raise ValueError("out of the numeric(14, 4) range")


SMALLINT, INTEGER, BIGINT = _integer(16), _integer(32), _integer(64)
MONEY_STEP, MONEY_BOUND = Decimal("0.0001"), Decimal(10) ** 10
# Every column COPY would refuse a value of (a refusal fails the whole batch): its type's check.
COLUMN_CHECKS: dict[str, Callable[[str], object]] = {
    "flow_no": BIGINT,
    "start_time": _timestamp,
    "connect_time": _nullable(_timestamp),
    "stop_time": _timestamp,
    "hold_time_ms": BIGINT,
    "fee_time": INTEGER,
    "fee": _money,
    "end_reason": INTEGER,
    "end_direction": SMALLINT,
    "billing_mode": SMALLINT,
    "account_id": _nullable(BIGINT),
    "cost": _money,
    "pdd_ms": _nullable(INTEGER),
}
CHECKED_COLUMNS = [(CDR_COLUMNS.index(name), check) for name, check in COLUMN_CHECKS.items()]


def cdr_line_problem(line: bytes) -> str | None:
    """Why a journal line is not a CDR row COPY can load, or None if it is one."""
    return _line_check(line)[0]


def _line_check(line: bytes) -> tuple[str | None, int]:
    """(why the line is not a CDR row or None, its number of columns). A row of a journal
    written before a later column existed (`ROW_LENGTHS`) is a CDR row too."""
    if not line.endswith(b"\n"):
        return "no newline", 0
    if b"\x00" in line:
        return "NUL bytes", 0
    try:
        rows = list(csv.reader([line.decode()], strict=True))
    except (UnicodeDecodeError, csv.Error) as error:
        return f"not CSV: {error}", 0
    columns = len(rows[0]) if len(rows) == 1 else 0
    if columns not in ROW_LENGTHS:
        return f"not {len(CDR_COLUMNS)} columns", columns
    for index, check in CHECKED_COLUMNS:
        if index >= columns:
            continue
        try:
            check(rows[0][index])
        except (ValueError, InvalidOperation):
            return f"bad {CDR_COLUMNS[index]}: {rows[0][index][:40]!r}", columns
    return None, columns


# What a line of each older length lacks, as CSV: before rating ,"\N","",0,"","\N"\n (rendered
# after `length` zeros, which are cut off but for the comma before the first default).
LATER_SUFFIXES = {
    length: rows_to_csv([(0,) * length + LATER_DEFAULTS[length - len(CDR_COLUMNS) :]])
    .getvalue()[2 * length - 1 :]
    .encode()
    for length in ROW_LENGTHS[:-1]
}


def _completed(line: bytes, columns: int) -> bytes:
    """A line of an older journal with the defaults of the columns it lacks appended."""
    return line[:-1] + LATER_SUFFIXES[columns]


def csv_days(data: bytes, start_column: int) -> set[str]:
    """The UTC days (YYYY-MM-DD) of the start times in a batch of journal lines."""
    reader = csv.reader(io.StringIO(data.decode()))
    return {row[start_column][:10] for row in reader if row}
