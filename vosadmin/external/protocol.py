"""The VOS3000 Web API envelope and its tolerant reading of request bodies (SPEC §9).

Every answer is JSON with `retCode` (0 = success); a failure adds `exception`, a sentence that
names the field at fault. VOS3000's clients are lenient in what they send, so the reading is
too: any Content-Type (`text/html;charset=UTF-8`, `application/json`, none), an empty body or
`{}`, `""` or `null` for an absent value, a single string where a list is expected, numbers
sent as strings. Numbers are read and written as the exact decimals they are: a JSON number is
never taken through a float, and money is answered as its exact decimal number.

retCodes of ours (VOS3000 has its own table; clients test for 0):

| retCode | meaning |
|---|---|
| 0 | success |
| -1 | unknown call |
| -2 | the body is not a JSON object |
| -3 | a field is missing or has a bad value (`exception` names it) |
| -4 | something named does not exist (an account, a rate group, a call) |
| -5 | refused (a payment the balance does not allow, an account code already used) |
| -6 | token authentication failed (only with EXTERNAL_API_TOKEN_REQUIRED) |
| -9 | internal error (logged; never an HTTP 500) |
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict
from django_filters import FilterSet

UNKNOWN_CALL = -1
BAD_BODY = -2
BAD_FIELD = -3
NOT_FOUND = -4
REFUSED = -5
UNAUTHENTICATED = -6
INTERNAL_ERROR = -9

MAX_TEXT = 255
Moment = TypeVar("Moment", date, datetime)
MAX_LIST = 10_000
# A number as text: ASCII digits, an optional sign, point and exponent (Decimal alone would
# also take "1_000", other scripts' digits and exponents too large to compute with).
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)


class CallError(Exception):
    """A request a call cannot answer: its retCode and the sentence for `exception`."""

    def __init__(self, ret_code: int, message: str) -> None:
        super().__init__(message)
        self.ret_code = ret_code


def bad_field(field: str, problem: str) -> CallError:
    """A missing or malformed field, named in the message."""
    return CallError(BAD_FIELD, f"{field}: {problem}")


def filtered(
    filterset_class: type[FilterSet],
    values: dict[str, str | list[str] | None],
    queryset: QuerySet,
    vos_names: dict[str, str],
) -> FilterSet:
    """The console's FilterSet over `queryset` with `values` (a list repeats its parameter, an
    empty value is left out); a value it refuses raises naming the VOS3000 field
    (`vos_names`: FilterSet parameter → request field), so the Web API filters as the pages and
    the REST API do, never in a second way."""
    data = QueryDict(mutable=True)
    for name, value in values.items():
        if value:
            data.setlist(name, value if isinstance(value, list) else [value])
    filterset = filterset_class(data, queryset=queryset)
    if not filterset.is_valid():
        name, messages = next(iter(filterset.errors.items()))
        raise bad_field(vos_names.get(name, name), " ".join(messages))
    return filterset


def success(**fields: Any) -> dict[str, Any]:
    return {"retCode": 0, **fields}


def failure(error: CallError) -> dict[str, Any]:
    return {"retCode": error.ret_code, "exception": str(error)}


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object, whatever its Content-Type; an empty body is `{}`."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise CallError(BAD_BODY, "body: not UTF-8 text") from None
    if not text:
        return {}
    try:
        body = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise CallError(BAD_BODY, "body: not valid JSON") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise CallError(BAD_BODY, "body: must be a JSON object, e.g. {}")
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_bytes(data: Any) -> bytes:
    """`data` as JSON (UTF-8); a Decimal — money — is written as the exact number it is."""
    return orjson.dumps(data, default=_exact_number)


def _exact_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"{type(value).__name__} is not JSON")


def absent(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def text(
    body: dict[str, Any], field: str, required: bool = False, max_length: int = MAX_TEXT
) -> str:
    """A text field; numbers are taken as their text. Absent: "" (or an error if required)."""
    value = body.get(field)
    if absent(value):
        if required:
            raise bad_field(field, "required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise bad_field(field, "must be text")
    value = str(value).strip()
    if len(value) > max_length:
        raise bad_field(field, f"longer than {max_length} characters")
    if "\x00" in value:
        raise bad_field(field, "must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate, from a "\ud800" escape
            raise bad_field(field, "must be Unicode text (not a lone surrogate)") from None
    return value


def text_list(body: dict[str, Any], field: str, required: bool = False) -> list[str]:
    """A list of texts; a single text counts as a list of one, `""`/null as an empty list."""
    value = body.get(field)
    if absent(value):
        if required:
            raise bad_field(field, "required")
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_LIST:
        raise bad_field(field, f"more than {MAX_LIST} entries")
    return [text({field: item}, field) for item in items if not absent(item)]


def integer(body: dict[str, Any], field: str, default: int | None = None) -> int | None:
    """A whole number, sent as a number or as text ("2")."""
    value = body.get(field)
    if absent(value):
        return default
    number = _number(value)
    if number is None or number != number.to_integral_value() or abs(number) > 2**31:
        raise bad_field(field, "must be a whole number")
    return int(number)


def _number(value: Any) -> Decimal | None:
    """`value` (a JSON number, or a number as text) as a Decimal; None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    text = str(value).strip()
    if not NUMBER.fullmatch(text):
        return None  # also NaN and Infinity as text
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def money(body: dict[str, Any], field: str, required: bool = False) -> Decimal | None:
    """An amount of money, sent as a number or as text ("10.5")."""
    value = body.get(field)
    if absent(value):
        if required:
            raise bad_field(field, "required")
        return None
    amount = _number(value)
    if amount is None or abs(amount) >= 10**10:
        raise bad_field(field, "must be an amount of money")
    return amount


def console_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day(body: dict[str, Any], field: str, required: bool = False) -> date | None:
    """A `yyyyMMdd` date (GetCdr)."""
    value = text(body, field, required=required, max_length=8)
    if not value:
        return None
    try:
        return datetime.strptime(_digits(value, 8), "%Y%m%d").date()
    except ValueError:
        raise bad_field(field, "must be a date as yyyyMMdd, e.g. 20251126") from None


def moment(body: dict[str, Any], field: str, required: bool = False) -> datetime | None:
    """A `yyyyMMddHHmmss` time in the console's time zone (GetPayHistory)."""
    value = text(body, field, required=required, max_length=14)
    if not value:
        return None
    try:
        naive = datetime.strptime(_digits(value, 14), "%Y%m%d%H%M%S")
    except ValueError:
        raise bad_field(field, "must be a time as yyyyMMddHHmmss, e.g. 20251126083000") from None
    return naive.replace(tzinfo=console_zone())


def _digits(value: str, count: int) -> str:
    """`value` if it is `count` ASCII digits (strptime alone reads "202511" as a day)."""
    if len(value) != count or not value.isascii() or not value.isdigit():
        raise ValueError(value)
    return value


def later(value: Moment, step: timedelta) -> Moment | None:
    """`value` + `step`; None past the calendar's end, in the console's time zone or in UTC
    (an end of 99991231: no end)."""
    try:
        result = value + step
        if isinstance(result, datetime):
            result.astimezone(UTC)  # the database compares in UTC
    except OverflowError:
        return None
    return result


def day_start(value: date) -> datetime:
    """Midnight starting `value` in the console's time zone."""
    return datetime.combine(value, time(), tzinfo=console_zone())


def milliseconds(value: datetime | None) -> int | None:
    """Milliseconds since 1970 UTC, as VOS3000 sends times."""
    if value is None:
        return None
    return int(value.astimezone(UTC).timestamp() * 1000)
