"""CSV export of a filtered CDR set: every row, streamed, with flat memory.

The rows come through a server-side cursor inside a transaction (a cursor WITHOUT HOLD, so
PostgreSQL streams too instead of materialising the result), a few thousand at a time, and
leave as ~64 KB chunks. The columns and their formats are those of the API's JSON, so a CSV
and the API agree for the same filters — except that caller-controlled text a spreadsheet
would run as a formula gets a leading apostrophe (`spreadsheet_safe`).

Under ASGI (daphne, `make run`) the chunks are pulled one by one in the request's thread
(vosadmin/core/streaming.py).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse

from billing.choices import CdrBillingModeChoices, CdrEndDirectionChoices, end_reason_name
from billing.filtersets import DEFAULT_WINDOW, CdrFilterSet
from billing.ingest import CDR_COLUMNS, CdrRow
from billing.keyset import CdrOrdering
from vosadmin.core.streaming import streaming_body

CHUNK_BYTES = 64 * 1024
FETCH_ROWS = 5000
# The columns of the CSV and of the API's JSON, in this order: the stored columns, each coded
# one followed by its name, then the margin (fee − cost).
CODED_COLUMNS = ("end_reason", "end_direction", "billing_mode")
EXPORT_COLUMNS = (
    *(
        name
        for column in CDR_COLUMNS
        for name in ((column, f"{column}_name") if column in CODED_COLUMNS else (column,))
    ),
    "margin",
)
END_DIRECTION_NAMES = dict(CdrEndDirectionChoices.choices)
BILLING_MODE_NAMES = dict(CdrBillingModeChoices.choices)
# A few dozen end reasons repeat over millions of rows: name each once.
cached_end_reason_name = functools.lru_cache(maxsize=4096)(end_reason_name)
# A caller ID is whatever the (possibly hostile) source put in its From header. A spreadsheet
# runs a cell starting with = + - @ as a formula, so such text gets a leading apostrophe;
# signed numbers (+8613800000000) are left alone.
FORMULA_START = re.compile(r"^[=+\-@\t\r](?![0-9]+$)")
FORMULA_FIRST_CHARACTERS = frozenset("=+-@\t\r")
EXPORT_WINDOW_MESSAGE = (
    "A start range is required for exports larger than one day: "
    "give start_before as well as start_after."
)


def export_window_error(filterset: CdrFilterSet) -> str | None:
    """Why this export may not run, or None.

    Without a start range a query covers one day; an export larger than that must say where
    it ends, so that a forgotten parameter never streams months of CDRs.
    """
    after, before = filterset.start_window
    if filterset.has_full_start_range or (before or filterset.now) - after <= DEFAULT_WINDOW:
        return None
    return EXPORT_WINDOW_MESSAGE


def export_filename(filterset: CdrFilterSet) -> str:
    """`cdrs-<after>-<before>.csv`, UTC."""
    after, before = filterset.start_window
    return f"cdrs-{_stamp(after)}-{_stamp(before or filterset.now)}.csv"


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def iso_datetime(value: datetime | None, zone: tzinfo) -> str | None:
    """ISO 8601 in the console's time zone, `Z` for UTC: what the API's JSON says."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def iso_datetime_utc(value: datetime | None) -> str | None:
    """iso_datetime for a UTC console: the database's values are UTC already."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def datetime_formatter(zone: tzinfo) -> Callable[[datetime | None], str | None]:
    """How to write a date-time for the console's zone (UTC, the default, is 3× faster)."""
    if str(zone) == "UTC":
        return iso_datetime_utc
    return functools.partial(iso_datetime, zone=zone)


def spreadsheet_safe(text: str) -> str:
    """Text that a spreadsheet shows rather than runs."""
    if text[:1] in FORMULA_FIRST_CHARACTERS and FORMULA_START.match(text):
        return "'" + text
    return text


def export_cells(row: CdrRow, when: Callable[[datetime | None], str | None]) -> tuple[Any, ...]:
    """A CDR as the EXPORT_COLUMNS cells.

    Only the headers a caller controls (Call-ID, From, To) can hold a formula; gateway and
    phone names come from the configuration, addresses from the engine.
    """
    return (
        row.flow_no,
        spreadsheet_safe(row.call_id),
        spreadsheet_safe(row.caller),
        spreadsheet_safe(row.callee),
        row.caller_ip,
        row.callee_ip,
        row.mapping_gateway,
        row.phone,
        row.routing_gateway,
        when(row.start_time),
        when(row.connect_time),
        when(row.stop_time),
        row.hold_time_ms,
        row.fee_time,
        f"{row.fee:f}",
        row.end_reason,
        cached_end_reason_name(row.end_reason),
        row.end_direction,
        END_DIRECTION_NAMES.get(row.end_direction, row.end_direction),
        row.billing_mode,
        BILLING_MODE_NAMES.get(row.billing_mode, row.billing_mode),
        row.account_id,
        row.fee_prefix,
        f"{row.cost:f}",
        row.cost_prefix,
        row.pdd_ms,
        f"{row.fee - row.cost:f}",
    )


def csv_chunks(queryset: QuerySet, ordering: CdrOrdering, zone: tzinfo) -> Iterator[bytes]:
    """The header and every row of `queryset` in `ordering`, as CSV in ~64 KB chunks."""
    when = datetime_formatter(zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    with transaction.atomic():
        rows = (
            queryset.order_by(*ordering.order_by())
            .values_list(*CDR_COLUMNS)
            .iterator(chunk_size=FETCH_ROWS)
        )
        for row in map(CdrRow._make, rows):
            writer.writerow(export_cells(row, when))
            if buffer.tell() >= CHUNK_BYTES:
                yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def csv_response(
    request: HttpRequest, chunks: Iterator[bytes], filename: str
) -> StreamingHttpResponse:
    """A streamed CSV attachment, iterated the way the server (WSGI or ASGI) needs."""
    body = streaming_body(request, chunks)
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
