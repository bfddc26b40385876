"""SIP requests and responses: typed accessors, validation, serialisation, and the responses
the switch builds (RFC 3261 §7, §8.2.6). Parsing bytes is `softswitch.sip.parser`; the reason
phrases are `softswitch.sip.reasons`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from softswitch.sip.errors import SipParseError
from softswitch.sip.fields import (
    CSeq,
    MediaType,
    Via,
    check_date,
    parse_call_id,
    parse_cseq,
    parse_media_type,
    parse_small_int,
    parse_via,
    same_host,
)
from softswitch.sip.headers import Headers, canonical_name, check_value, list_values
from softswitch.sip.reasons import REASON_PHRASES
from softswitch.sip.uri import (
    NameAddr,
    Uri,
    parse_delta_seconds,
    parse_name_addr,
)

__all__ = [
    "SIP_VERSION",
    "Headers",
    "Message",
    "Rejection",
    "Request",
    "Response",
    "add_received_rport",
    "build_response",
]

SIP_VERSION = "SIP/2.0"
# The header each cached accessor of Message is parsed from.
_ACCESSOR_HEADERS = {
    "call_id": "call-id",
    "cseq": "cseq",
    "from": "from",
    "to": "to",
    "via": "via",
    "vias": "via",
    "contact": "contact",
    "contact_is_wildcard": "contact",
    "record_route": "record-route",
    "route": "route",
    "max_forwards": "max-forwards",
    "content_type": "content-type",
}
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why validate() refused a message, and the status to answer a request with."""

    status_code: int
    reason: str
    detail: str


class Message:
    """What requests and responses share: headers, body and cached typed accessors.

    Accessors parse their header on first use and cache the result until that header changes
    (a new Via keeps the parsed From, To, CSeq…; see Headers). A message from
    try_parse_message() has valid call_id, cseq, via and max_forwards, what transaction
    matching needs; the other accessors are safe once validate() returned None, and raise
    SipParseError before. validate() leaves every accessor it checked parsed in the cache.
    """

    __slots__ = ("_cache", "_cache_headers", "_cache_version", "body", "headers", "version")

    def __init__(self, headers: Headers | None, body: bytes, version: str) -> None:
        self.headers = Headers() if headers is None else headers
        self.body = body
        self.version = version
        # accessor -> (its header's values it was parsed from, the parsed value); every entry
        # is current for _cache_headers at _cache_version.
        self._cache: dict[str, tuple[Sequence[str], Any]] = {}
        self._cache_headers = self.headers
        self._cache_version = self.headers.version

    @property
    def start_line(self) -> str:
        """The request line or status line."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialise for the wire, with a Content-Length that matches the body (§20.14)."""
        lines = [self.start_line, *self.headers.wire_lines(len(self.body)), "", ""]
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body

    def _cached(self, name: str, parse: Callable[[Sequence[str]], _T]) -> _T:
        """parse(values of the header of accessor name), cached while that header is unchanged."""
        headers = self.headers
        if headers is not self._cache_headers or headers.version != self._cache_version:
            self._drop_changed(headers)
        entry = self._cache.get(name)
        if entry is None:
            values = headers.field_values(_ACCESSOR_HEADERS[name])
            entry = self._cache[name] = (values, parse(values))
        value: _T = entry[1]  # typed through Any: typing.cast() would cost a call
        return value

    def _drop_changed(self, headers: Headers) -> None:
        """Forget what was parsed from headers that changed since (see Headers)."""
        self._cache = {
            name: entry
            for name, entry in self._cache.items()
            if headers.field_values(_ACCESSOR_HEADERS[name]) is entry[0]
        }
        self._cache_headers, self._cache_version = headers, headers.version

    def replace_top_via(self, via: Via) -> None:
        """Make via the top Via value, keeping it parsed: the next read of via needs no parse."""
        headers = self.headers
        headers.replace_first_value("via", str(via))
        self._drop_changed(headers)
        self._cache["via"] = (headers.field_values("via"), via)

    def _single(self, name: str) -> str:
        values = self.headers.field_values(name)
        return values[0] if len(values) == 1 else _only(values, canonical_name(name)[1])

    @property
    def call_id(self) -> str:
        """The Call-ID (§20.8)."""
        return self._cached("call_id", _parse_call_id)

    @property
    def cseq(self) -> CSeq:
        """The CSeq number and method (§20.16)."""
        return self._cached("cseq", _parse_cseq)

    @property
    def from_(self) -> NameAddr:
        """The From address with its tag (§20.20)."""
        return self._cached("from", _parse_from)

    @property
    def to(self) -> NameAddr:
        """The To address with its tag, if any (§20.39)."""
        return self._cached("to", _parse_to)

    @property
    def via(self) -> Via:
        """The top Via value (§20.42)."""
        return self._cached("via", _parse_top_via)

    @property
    def vias(self) -> list[Via]:
        """Every Via value, top first."""
        return self._cached("vias", self._parse_vias)

    def _parse_vias(self, lines: Sequence[str]) -> list[Via]:
        values = list_values(lines)
        top = self._cache.get("via")  # current: _cached() dropped it otherwise
        if top is not None:
            # The top Via was parsed already, for transaction matching: parse the others only.
            return [top[1], *[parse_via(value) for value in values[1:]]]
        return [parse_via(value) for value in values]

    @property
    def contact(self) -> list[NameAddr]:
        """The Contact values; empty for 'Contact: *' (see contact_is_wildcard)."""
        return self._cached("contact", _parse_contact)

    @property
    def contact_is_wildcard(self) -> bool:
        """Whether the request is 'Contact: *' (remove all bindings, §10.2.2)."""
        return self._cached("contact_is_wildcard", _is_wildcard)

    @property
    def record_route(self) -> list[NameAddr]:
        """The Record-Route values, in header order (§20.30)."""
        return self._cached("record_route", _parse_addresses)

    @property
    def route(self) -> list[NameAddr]:
        """The Route values, in header order (§20.34)."""
        return self._cached("route", _parse_addresses)

    @property
    def expires(self) -> int | None:
        """The Expires header in seconds; malformed or overlarge values count as 3600 (§10.3)."""
        value = self.headers.get("expires")
        return None if value is None else parse_delta_seconds(value)

    @property
    def max_forwards(self) -> int | None:
        """The Max-Forwards value (§20.22), None when absent (RFC 2543 peers)."""
        return self._cached("max_forwards", _parse_max_forwards)

    @property
    def content_type(self) -> MediaType | None:
        """The Content-Type (§20.15)."""
        return self._cached("content_type", _parse_content_type)

    @property
    def user_agent(self) -> str | None:
        """The User-Agent header, as sent (§20.41)."""
        return self.headers.get("user-agent")

    def check_core(self) -> None:
        """Check what transaction matching reads (§17.1.3, §17.2.3); raises SipParseError.

        From and To must be there exactly once, with Call-ID and CSeq (§8.1.1); their
        contents wait for validate(), so a retransmission is matched without parsing them.
        """
        self._single("from")
        self._single("to")
        _ = (self.call_id, self.cseq, self.via, self.max_forwards)

    def validate(self) -> Rejection | None:
        """Check everything the core can parse; None means every accessor is safe to use."""
        if self.version != SIP_VERSION and self.version.upper() != SIP_VERSION:
            return Rejection(505, REASON_PHRASES[505], f"unsupported version {self.version}")
        try:
            self._check_fields()
        except SipParseError as error:
            return Rejection(400, REASON_PHRASES[400], str(error))
        return None

    def _check_fields(self) -> None:
        self.check_core()
        _ = (
            self.from_,
            self.to,
            self.vias,
            self.contact,
            self.record_route,
            self.route,
            self.content_type,
        )
        date = self.headers.get("date")
        if date is not None:
            check_date(date)


def _only(values: Sequence[str], name: str) -> str:
    """The value of a header that must appear exactly once; name is used in the error."""
    if len(values) != 1:
        problem = "missing" if not values else "more than one"
        raise SipParseError(f"{problem} {name} header")
    return values[0]


def _parse_call_id(values: Sequence[str]) -> str:
    return parse_call_id(_only(values, "Call-ID"))


def _parse_cseq(values: Sequence[str]) -> CSeq:
    return parse_cseq(_only(values, "CSeq"))


def _parse_from(values: Sequence[str]) -> NameAddr:
    return parse_name_addr(_only(values, "From"))


def _parse_to(values: Sequence[str]) -> NameAddr:
    return parse_name_addr(_only(values, "To"))


def _parse_top_via(lines: Sequence[str]) -> Via:
    if not lines:
        raise SipParseError("missing Via header")
    return parse_via(list_values(lines[:1])[0])


def _parse_contact(lines: Sequence[str]) -> list[NameAddr]:
    values = list_values(lines)
    if values == ["*"]:
        return []
    return [parse_name_addr(value) for value in values]


def _is_wildcard(lines: Sequence[str]) -> bool:
    return list_values(lines) == ["*"]


def _parse_addresses(lines: Sequence[str]) -> list[NameAddr]:
    return [parse_name_addr(value) for value in list_values(lines)]


def _parse_max_forwards(values: Sequence[str]) -> int | None:
    if not values:
        return None
    return parse_small_int(_only(values, "Max-Forwards"), "Max-Forwards", 255)


def _parse_content_type(values: Sequence[str]) -> MediaType | None:
    return parse_media_type(values[0]) if values else None


class Request(Message):
    """A SIP request (§7.1)."""

    __slots__ = ("method", "uri")

    def __init__(
        self,
        method: str,
        uri: Uri,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(headers, body, version)
        self.method = method
        self.uri = uri

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"

    @property
    def start_line(self) -> str:
        """The request line."""
        return f"{self.method} {self.uri} {self.version}"

    def _check_fields(self) -> None:
        super()._check_fields()
        if self.cseq.method != self.method:
            raise SipParseError(f"CSeq method {self.cseq.method} differs from {self.method}")


class Response(Message):
    """A SIP response (§7.2)."""

    __slots__ = ("reason", "status_code")

    def __init__(
        self,
        status_code: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(headers, body, version)
        self.status_code = status_code
        self.reason = REASON_PHRASES.get(status_code, "Unknown") if reason is None else reason

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {self.reason}>"

    @property
    def start_line(self) -> str:
        """The status line."""
        return f"{self.version} {self.status_code} {self.reason}"


def reply_headers(request_headers: Headers, status_code: int, to_tag: str | None) -> Headers:
    """Copy Via, From, To, Call-ID and CSeq as §8.2.6.2 asks, adding ';tag=to_tag' to To.

    The values come from a Headers, where they were checked already: only the tag is new.
    """
    get = request_headers.get
    to = get("to") or ""
    if to_tag is not None:
        to = check_value(f"{to};tag={to_tag}")
    fields = [("via", "Via", via) for via in request_headers.field_values("via")]
    fields += [
        ("from", "From", get("from") or ""),
        ("to", "To", to),
        ("call-id", "Call-ID", get("call-id") or ""),
        ("cseq", "CSeq", get("cseq") or ""),
    ]
    timestamp = get("timestamp")
    if status_code == 100 and timestamp is not None:  # §8.2.6.1
        fields.append(("timestamp", "Timestamp", timestamp))
    return Headers.from_parsed(fields)


def has_tag(address: str) -> bool:
    try:
        return parse_name_addr(address).tag is not None
    except SipParseError:
        return False


def _tohas_tag(request: Request) -> bool:
    try:
        return request.to.tag is not None  # parsed by validate() already, usually
    except SipParseError:
        return has_tag(request.headers.get("to") or "")


def build_response(
    request: Request, status_code: int, reason: str | None = None, *, to_tag: str | None = None
) -> Response:
    """Build a response to request as §8.2.6 says; to_tag is added when To has none."""
    if to_tag is not None and (status_code <= 100 or _tohas_tag(request)):
        to_tag = None
    return Response(status_code, reason, reply_headers(request.headers, status_code, to_tag))


def add_received_rport(request: Request, source_host: str, source_port: int) -> None:
    """Stamp received/rport on the top Via (§18.2.1, RFC 3581 §4, RFC 5118 §4.5)."""
    via = request.via
    host = source_host.strip("[]")
    if via.wants_rport:
        # RFC 3581 §4: with rport, received is added even when it equals sent-by.
        updated = via.with_param("rport", str(source_port)).with_param("received", host)
    elif not same_host(via.host, host):
        updated = via.with_param("received", host)
    else:
        return
    request.replace_top_via(updated)
