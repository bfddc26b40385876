"""Parsing SIP messages from bytes (RFC 3261 §7, §18.3): a datagram or a framed stream message
becomes a `Request` or a `Response`, or a `Malformed` with what could be recovered of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from softswitch.sip.errors import SipParseError
from softswitch.sip.fields import parse_small_int
from softswitch.sip.headers import KNOWN_NAMES, Headers, canonical_name
from softswitch.sip.message import (
    SIP_VERSION,
    Message,
    Request,
    Response,
    has_tag,
    reply_headers,
)
from softswitch.sip.syntax import WHITESPACE, is_token
from softswitch.sip.uri import SipUri, parse_uri

__all__ = ["Malformed", "parse_message", "try_parse_message"]

_VERSION = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_REPLY_HEADERS = ("via", "from", "to", "call-id", "cseq")


@dataclass(frozen=True, slots=True)
class Malformed:
    """Bytes that are not a usable SIP message, with what could be recovered from them."""

    reason: str
    start_line: str = ""
    headers: Headers = field(default_factory=Headers)

    @property
    def method(self) -> str | None:
        """The method when the start line looks like a request line."""
        parts = self.start_line.split()
        looks_like_request = len(parts) >= 3 and parts[-1].upper().startswith("SIP/")
        return parts[0] if looks_like_request and is_token(parts[0]) else None

    @property
    def can_reply(self) -> bool:
        """Whether a 400 can be built: a request with Via, From, To, Call-ID and CSeq."""
        return self.method is not None and all(self.headers.get(n) for n in _REPLY_HEADERS)

    def build_400(self, to_tag: str | None = None) -> Response:
        """Build the 400 Bad Request for the request (§8.2.6); only when can_reply is true."""
        if not self.can_reply:
            raise ValueError("the request cannot be identified well enough to answer it")
        if to_tag is not None and has_tag(self.headers.get("to") or ""):
            to_tag = None
        return Response(400, headers=reply_headers(self.headers, 400, to_tag))


def try_parse_message(data: bytes) -> Message | Malformed:
    """Parse one datagram or one framed stream message; never raises."""
    try:
        head, rest = _split_head(data)
    except SipParseError as error:
        return Malformed(str(error))
    start_line, _, header_block = head.partition("\r\n")
    fields, index, problem = _parse_header_lines(header_block)
    headers = Headers.from_parsed(fields, index)
    try:
        if problem is not None:
            raise SipParseError(problem)
        message = _parse_start_line(start_line, headers)
        message.body = _body(headers, rest)
        message.check_core()
    except SipParseError as error:
        return Malformed(str(error), start_line, headers)
    return message


def parse_message(data: bytes) -> Message:
    """Parse one datagram; raises SipParseError where try_parse_message returns Malformed."""
    result = try_parse_message(data)
    if isinstance(result, Malformed):
        raise SipParseError(result.reason)
    return result


def _split_head(data: bytes) -> tuple[str, bytes]:
    start = 0
    while data.startswith(b"\r\n", start):  # §7.5: CRLFs before the start line are ignored
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end >= 0:
        rest = data[end + 4 :]
    elif data.endswith(b"\r\n") and len(data) > start:
        end, rest = len(data) - 2, b""  # a datagram whose last header ends the packet
    else:
        raise SipParseError("no end of the header section")
    head = data[start:end].decode("utf-8", "surrogateescape")
    line_ends = head.count("\r\n")
    if head.count("\r") != line_ends or head.count("\n") != line_ends:
        raise SipParseError("bare CR or LF in the header section")
    return head, rest


def _parse_header_lines(
    block: str,
) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str, ...]], str | None]:
    """The fields (key, name, value), their values per key, and the first problem met."""
    fields: list[tuple[str, str, str]] = []
    index: dict[str, tuple[str, ...]] = {}
    problem = None
    for line in block.split("\r\n") if block else ():
        name, colon, value = line.partition(":")
        names = KNOWN_NAMES.get(name)  # the usual spellings skip the checks below
        if names is None or not colon:
            if line[:1] in (" ", "\t"):  # §7.3.1: a continuation line folds into the last one
                folding_problem = _fold(line, fields, index)
                problem = problem or folding_problem
                continue
            name = name.rstrip(WHITESPACE)
            names = canonical_name(name) if is_token(name) else None
            if names is None or not colon:
                problem = problem or f"bad header line {line[:60]!r}"
                continue
        key, value = names[0], value.strip(WHITESPACE)
        fields.append((key, names[1], value))
        values = index.get(key)
        index[key] = (value,) if values is None else (*values, value)
    return fields, index, problem


def _fold(
    line: str, fields: list[tuple[str, str, str]], index: dict[str, tuple[str, ...]]
) -> str | None:
    """Append a continuation line to the last field; the problem if there is none."""
    if not fields:
        return "continuation line before the first header"
    key, name, value = fields[-1]
    value = f"{value} {line.lstrip(WHITESPACE)}".strip(WHITESPACE)
    fields[-1] = (key, name, value)
    index[key] = (*index[key][:-1], value)  # the last field is the last value of its key
    return None


def _parse_start_line(line: str, headers: Headers) -> Request | Response:
    if line[:4].upper() == "SIP/":
        return _parse_status_line(line, headers)
    parts = line.split(" ")
    if len(parts) != 3 or not is_token(parts[0]) or not _is_version(parts[2]):
        raise SipParseError(f"bad request line {line[:80]!r}")
    uri = parse_uri(parts[1])
    if isinstance(uri, SipUri) and uri.headers:
        raise SipParseError("headers are not allowed in a Request-URI (§19.1.1)")
    return Request(parts[0], uri, headers, version=parts[2])


def _parse_status_line(line: str, headers: Headers) -> Response:
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not _is_version(version) or len(code) != 3 or not code.isascii():
        raise SipParseError(f"bad status line {line[:80]!r}")
    if not code.isdigit() or not 100 <= int(code) <= 699:
        raise SipParseError(f"bad status code in {line[:80]!r}")
    return Response(int(code), reason, headers, version=version)


def _is_version(text: str) -> bool:
    return text == SIP_VERSION or _VERSION.fullmatch(text) is not None


def _body(headers: Headers, rest: bytes) -> bytes:
    values = headers.field_values("content-length")
    if not values:
        return rest  # §18.3: without Content-Length the body ends with the datagram
    if len(values) > 1:
        raise SipParseError("more than one Content-Length header")
    length = parse_small_int(values[0], "Content-Length", 2**31)
    if length > len(rest):
        raise SipParseError("body shorter than Content-Length")
    return rest[:length]  # §18.3: octets past Content-Length are discarded
