"""GetCdr: the CDRs of whole days, filtered by the CDR page's FilterSet, streamed as JSON.

The rows come through a server-side cursor a few thousand at a time and leave in ~64 KB
chunks, so a month of CDRs never sits in memory (the CSV export works the same way).
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Aggregate
from django.utils import timezone

from billing.filtersets import CdrFilterSet, ExactOrPrefixFilter
from billing.models import Cdr
from vosadmin.external.calls.registry import CallContext, web_call
from vosadmin.external.protocol import (
    bad_field,
    day,
    day_start,
    filtered,
    json_bytes,
    later,
    milliseconds,
    text,
    text_list,
)

CHUNK_BYTES = 64 * 1024
FETCH_ROWS = 2000
# The FilterSet's parameter for each VOS3000 request field (exact, or a prefix ending in *).
FILTERS = {
    "callerE164": "caller",
    "calleeE164": "callee",
    "callerGateway": "caller_gateway",
    "calleeGateway": "routing_gateway",
}
COLUMNS = (
    "flow_no",
    "caller",
    "callee",
    "caller_ip",
    "callee_ip",
    "mapping_gateway",
    "phone",
    "routing_gateway",
    "start_time",
    "stop_time",
    "hold_time_ms",
    "fee_time",
    "fee",
    "fee_prefix",
    "account__account",
    "account__name",
    "billing_mode",
    "end_reason",
    "end_direction",
)
# CdrFilterSet names its own fields in errors; the client knows its VOS3000 names.
VOS_NAMES = {value: key for key, value in FILTERS.items()} | {
    "start_after": "beginTime",
    "start_before": "endTime",
    "account": "accounts",
}


class WebApiCdrFilterSet(CdrFilterSet):
    """The CDR page's filters, and VOS3000's caller gateway: what `callerGatewayId` shows, the
    mapping gateway's name or, for a phone's call, the phone's number."""

    caller_gateway = ExactOrPrefixFilter(field_name="mapping_gateway", also=("phone",))


def cdr_filterset(body: dict[str, Any]) -> CdrFilterSet:
    """The CDR FilterSet for a GetCdr request; bad fields raise naming the VOS3000 field."""
    begin = day(body, "beginTime") or timezone.localdate()
    end = day(body, "endTime") or begin
    if end < begin:
        raise bad_field("endTime", "must not be before beginTime")
    values = {parameter: text(body, field, max_length=64) for field, parameter in FILTERS.items()}
    after_end = later(end, timedelta(days=1))
    values |= {
        "start_after": day_start(begin).isoformat(),
        "start_before": day_start(after_end).isoformat() if after_end else None,
        "account": text_list(body, "accounts"),
    }
    return filtered(WebApiCdrFilterSet, values, Cdr.objects.all(), VOS_NAMES)


def cdr_totals(
    field: str,
    keys: Iterable[Any],
    since: datetime,
    until: datetime | None = None,
    **aggregates: Aggregate,
) -> dict[Any, dict[str, Any]]:
    """`aggregates` of the CDRs started in [since, until) per value of `field` among `keys`
    (the figures of GetCustomer and the online-gateway calls)."""
    rows = Cdr.objects.filter(**{f"{field}__in": keys}, start_time__gte=since)
    if until is not None:
        rows = rows.filter(start_time__lt=until)
    return {row[field]: row for row in rows.values(field).annotate(**aggregates)}


def info_cdr(row: tuple[Any, ...]) -> dict[str, Any]:
    """One `infoCdrs` entry from a `COLUMNS` row."""
    (flow_no, caller, callee, caller_ip, callee_ip, mapping_gateway, phone, routing_gateway,
     start, stop, hold_ms, fee_time, fee, fee_prefix, account, account_name, billing_mode,
     end_reason, end_direction) = row  # fmt: skip
    return {
        "flowNo": flow_no,
        "callerE164": caller,
        "calleeE164": callee,
        "callerIp": caller_ip,
        "calleeIp": callee_ip,
        "callerGatewayId": mapping_gateway or phone,
        "calleeGatewayId": routing_gateway,
        "start": milliseconds(start),
        "stop": milliseconds(stop),
        "holdTime": math.ceil(hold_ms / 1000),
        "feeTime": fee_time,
        "fee": fee,
        "feePrefix": fee_prefix,
        "account": account or "",
        "accountName": account_name or "",
        "billingMode": billing_mode,
        "endReason": end_reason,
        "endDirection": end_direction,
    }


def cdr_chunks(queryset: Any) -> Generator[bytes, None, None]:
    """`{"retCode": 0, "infoCdrs": [...]}` in ~64 KB chunks, oldest CDR first."""
    parts, size, separator = [b'{"retCode":0,"infoCdrs":['], 0, b""
    with transaction.atomic():  # a server-side cursor needs a transaction to stream
        rows = queryset.order_by("start_time", "flow_no").values_list(*COLUMNS)
        for row in rows.iterator(chunk_size=FETCH_ROWS):
            entry = separator + json_bytes(info_cdr(row))
            parts.append(entry)
            size += len(entry)
            separator = b","
            if size >= CHUNK_BYTES:
                yield b"".join(parts)
                parts, size = [], 0
    parts.append(b"]}")
    yield b"".join(parts)


@web_call("GetCdr")
def get_cdr(context: CallContext) -> Generator[bytes, None, None]:
    """CDRs started on the days beginTime..endTime (yyyyMMdd, console time zone)."""
    return cdr_chunks(cdr_filterset(context.body).qs)
