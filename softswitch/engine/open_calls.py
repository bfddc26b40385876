"""Answered calls in progress, on disk, so that a CDR survives the engine being killed.

At 200 OK the call's record, with the flow number its CDR will carry, is appended to
`calls-<node>.open` as one JSON line; once the call's final CDR is safely in the CDR journal
(after the writer's next fsync of it) a close line follows. Every second the file's mtime is
touched: it is the last moment the engine was known alive. At start, the calls the previous
process opened and never closed are billed (`CallManager.bill_calls_left_open`) and the file is
emptied. A call's CDR and its recovered CDR share the flow number, so whatever order a crash
cuts these steps in, the database keeps one of them (docs/adr/0004).

The hot path costs one write() per answer; closes are batched per writer round and the file is
fsynced with the journal. Owned by `CdrJournal`; all methods but `fsync` run on the event loop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import orjson

from softswitch.rules.cdr import CallRecord

logger = logging.getLogger(__name__)

COMPACT_BYTES = 4 * 1024 * 1024
_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(CallRecord))


class OpenCallLog:
    """The append-only log of answered calls without a durable final CDR."""

    def __init__(self, directory: Path, node: str) -> None:
        self.path = directory / f"calls-{node}.open"
        self.last_alive = self.path.stat().st_mtime if self.path.exists() else 0.0
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept for the process's life
        self._live: dict[int, bytes] = {}  # flow number → its open line
        self._live_bytes = 0
        self._closing: list[int] = []  # final CDR appended to the journal, not yet synced
        self._staged: list[int] = []  # final CDR covered by the fsync under way
        self._unsynced = False

    def opened(self, record: CallRecord) -> None:
        """A call was answered (its record carries its flow number)."""
        assert record.flow_no is not None
        line = _line({"open": _fields_of(record)})
        self._live[record.flow_no] = line
        self._live_bytes += len(line)
        write_all(self._file, line)
        self._unsynced = True

    def closed(self, flow_no: int) -> None:
        """The call's final CDR was appended to the journal (or it gets none)."""
        self._closing.append(flow_no)

    def needs_sync(self) -> bool:
        return bool(self._closing) or self._unsynced

    def stage(self) -> None:
        """Before the journal's fsync: the closes so far refer to CDRs that fsync covers."""
        self._staged, self._closing = self._staged + self._closing, []
        self._unsynced = False

    def fsync(self) -> None:
        """Force the log to disk (blocking: runs in the writer's executor with the journal's)."""
        os.fsync(self._file.fileno())

    def close_staged(self) -> None:
        """After the journal's fsync: write the staged closes; compact when mostly closed."""
        if not self._staged:
            return
        for flow_no in self._staged:
            self._live_bytes -= len(self._live.pop(flow_no, b""))
        write_all(self._file, b"".join(_line({"close": n}) for n in self._staged))
        self._staged = []
        if self._file.tell() > max(COMPACT_BYTES, 4 * self._live_bytes):
            self._compact()

    def _compact(self) -> None:
        """Rewrite the log with the calls still open (atomically; a rare blocking fsync)."""
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "wb") as file:
            file.write(b"".join(self._live.values()))
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        self._file.close()
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115

    def heartbeat(self) -> None:
        """Mark the engine alive now (the file's mtime; one syscall, no data)."""
        os.utime(self._file.fileno())

    def left_open(self) -> list[CallRecord]:
        """The calls in the log that were opened and never closed (read at start)."""
        records: dict[int, CallRecord] = {}
        with open(self.path, "rb") as reader:
            for number, line in enumerate(reader, 1):
                try:
                    entry = json.loads(line)
                    if "open" in entry:
                        record = CallRecord(**entry["open"])
                        records[int(record.flow_no)] = record  # type: ignore[arg-type]
                    else:
                        records.pop(int(entry["close"]), None)
                except (ValueError, TypeError, KeyError):
                    logger.error("%s line %d is unreadable, skipped: %r", self.path, number, line)
        return list(records.values())

    def reset(self) -> None:
        """Forget every call in the log (at start, once the calls left open are billed)."""
        self._file.truncate(0)
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _fields_of(record: CallRecord) -> dict[str, object]:
    """The record's fields by name, as dataclasses.asdict gives them without its deep copy.

    Every field is a plain value, so nothing needs copying: asdict took 23 µs per answered
    call (2 % of the engine's busy samples at 300 calls/s, docs/adr/0009), this takes 1.3 µs.
    """
    return {name: getattr(record, name) for name in _RECORD_FIELDS}


def _line(entry: dict[str, object]) -> bytes:
    """One JSON line: orjson's (a tenth of json.dumps's time, which was 1.5 % of a loaded
    engine's CPU), or json's for a string orjson refuses: a lone surrogate, which is how the
    parser keeps bytes of a header that were not UTF-8 (json escapes it, and reads it back)."""
    try:
        return orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def write_all(file: Any, data: bytes) -> None:
    """Write all of `data` to an unbuffered file (a write may be short)."""
    view = memoryview(data)
    while view:
        view = view[file.write(view) :]
