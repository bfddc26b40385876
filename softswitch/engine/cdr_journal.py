"""The CDR journal: every CDR is appended to a local file first and COPYed to PostgreSQL from it.

One code path for the normal case and the outage: the call path only appends a CSV line (no
database round trip); the writer task periodically fsyncs the journal, COPYs everything after
the committed offset (idempotently: `billing.ingest.copy_csv_idempotent`), then advances the
offset. While PostgreSQL is unreachable the journal simply grows; when it is back the writer
catches up. A crash between the COPY's commit and the offset write replays lines that are
already stored, and the database skips them (flow numbers are unique) — see docs/adr/0004.

Files, under SIP_SPOOL_DIR (default `var/spool/`): `cdr-<node>.csv` and `cdr-<node>.offset`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from billing.ingest import rows_to_csv

logger = logging.getLogger(__name__)

MAX_BATCH_BYTES = 8 * 1024 * 1024


class CdrJournal:
    """Append-only CSV journal of CDRs with a committed offset. Not thread-safe: appends,
    offset commits and compaction happen on the event loop's thread; `read_pending` may run in
    an executor because it only reads bytes that were already fsynced."""

    def __init__(self, directory: Path, node: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"cdr-{node}.csv"
        self.offset_path = directory / f"cdr-{node}.offset"
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.committed = self._read_offset()
        self.appended = 0

    def _read_offset(self) -> int:
        try:
            offset = int(self.offset_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            offset = 0
        size = self.path.stat().st_size
        return offset if 0 <= offset <= size else 0

    def append(self, row: Sequence[Any]) -> None:
        """Append one CDR (a tuple in `billing.ingest.CDR_COLUMNS` order)."""
        self._file.write(rows_to_csv([row]).getvalue().encode())
        self.appended += 1

    def flush_buffer(self) -> int:
        """Hand what was appended to the OS (event loop thread); returns the journal's size."""
        self._file.flush()
        return self._file.tell()

    def fsync(self) -> None:
        """Force the journal to disk (blocking: run it in an executor)."""
        os.fsync(self._file.fileno())

    def sync(self) -> int:
        """Flush and fsync what was appended; return the journal size now safely on disk."""
        size = self.flush_buffer()
        self.fsync()
        return size

    def has_pending(self) -> bool:
        """Whether there are CDRs not yet committed to the database."""
        return self.committed < self._file.tell()

    def read_pending(self, end: int) -> tuple[bytes, int]:
        """Bytes of whole lines from the committed offset to at most `end` (capped per batch),
        and the offset after them."""
        with open(self.path, "rb") as reader:
            reader.seek(self.committed)
            data = reader.read(min(end - self.committed, MAX_BATCH_BYTES))
        if not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
        return data, self.committed + len(data)

    def commit(self, offset: int) -> None:
        """Record that everything before `offset` is in the database; compact when all is."""
        self.committed = offset
        if offset == self._file.tell():
            self._file.truncate(0)
            self._file.seek(0)
            self.committed = 0
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


def csv_days(data: bytes, start_column: int) -> set[str]:
    """The UTC days (YYYY-MM-DD) of the start times in a batch of journal lines."""
    reader = csv.reader(io.StringIO(data.decode()))
    return {row[start_column][:10] for row in reader if row}
