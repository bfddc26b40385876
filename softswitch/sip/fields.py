"""Typed values of the header fields the core reads: Via, CSeq, Call-ID, Content-Type…"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from softswitch.sip.errors import SipParseError
from softswitch.sip.frozen import quick_init
from softswitch.sip.headers import split_values
from softswitch.sip.syntax import (
    PLAIN_PARAMS,
    TOKEN,
    WHITESPACE,
    WORD_CHARS,
    Params,
    find_param,
    format_params,
    is_made_of,
    is_token,
    param_value,
    parse_params,
    plain_params,
    replace_param,
    unquote,
)

BRANCH_MAGIC_COOKIE = "z9hG4bK"
_TOKEN = r"[A-Za-z0-9.!%*_+`'~\-]+"
# sent-protocol and sent-by: token SLASH token SLASH token LWS host [COLON port] (§25.1).
_VIA_HEAD = re.compile(
    rf"[ \t]*({_TOKEN})[ \t]*/[ \t]*({_TOKEN})[ \t]*/[ \t]*({_TOKEN})[ \t]+"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?[ \t]*"
)
# The usual Via without SWS, 'SIP/2.0/UDP host:port;branch=…;rport': a fast path that the
# general parser would read the same way (IPv6 references included, quoted parameters not).
_PLAIN_VIA = re.compile(
    rf"({TOKEN})/({TOKEN})/({TOKEN}) (\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::([0-9]{{1,5}}))?"
    rf"({PLAIN_PARAMS})"
)
_RFC1123_DATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT"
)
_MAX_CSEQ = 0xFFFFFFFF


@quick_init
@dataclass(frozen=True, slots=True)
class Via:
    """One Via value: sent-protocol, sent-by and parameters (§20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"

    def param(self, name: str) -> str | None:
        """The value of a Via parameter ('' when valueless), else None."""
        return param_value(self.params, name)

    @property
    def branch(self) -> str | None:
        """The branch parameter (§8.1.1.7)."""
        return self.param("branch")

    @property
    def received(self) -> str | None:
        """The received parameter (§18.2.1)."""
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The port in 'rport=N' (RFC 3581), None when absent or valueless."""
        value = self.param("rport")
        return int(value) if value else None

    @property
    def wants_rport(self) -> bool:
        """Whether the rport parameter is present, with or without a value (RFC 3581 §4)."""
        return self.param("rport") is not None

    @property
    def sent_by(self) -> tuple[str, int]:
        """(host, port) of sent-by, the port defaulted per transport (§18.2.2)."""
        return self.host.lower(), self.port or default_port(self.transport)

    def response_address(self) -> tuple[str, int]:
        """Where a response to this hop goes: received/rport over sent-by (§18.2.2, RFC 3581)."""
        host = self.received or self.param("maddr") or self.host
        port = self.rport or self.port or default_port(self.transport)
        return host.strip("[]"), port

    def with_param(self, name: str, value: str | None = None) -> Via:
        """Return a copy with the parameter set."""
        params = replace_param(self.params, name, value)
        return Via(self.transport, self.host, self.port, params, self.protocol)


def default_port(transport: str) -> int:
    """5061 for TLS transports, 5060 otherwise (§19.1.2, §18.2.2)."""
    return 5061 if transport.upper() in ("TLS", "TLS-SCTP", "WSS") else 5060


def parse_via(text: str) -> Via:
    """Parse one Via value, with the SWS allowed around '/', ':', ';' and '=' (§20.42)."""
    plain = _PLAIN_VIA.fullmatch(text)
    if plain is None:
        return _parse_spaced_via(text)
    name, version, transport, host, port, params = plain.groups()
    port_number = _via_port(port, text)
    return Via(transport.upper(), host, port_number, plain_params(params), f"{name}/{version}")


def _parse_spaced_via(text: str) -> Via:
    head, semicolon, param_text = text.partition(";")
    match = _VIA_HEAD.fullmatch(head)
    if match is None:
        raise SipParseError(f"bad Via: {text[:60]!r}")
    name, version, transport, host, port = match.groups()
    port_number = _via_port(port, text)
    params = parse_params(semicolon + param_text) if semicolon else ()
    return Via(transport.upper(), host, port_number, params, f"{name}/{version}")


def _via_port(port: str | None, text: str) -> int | None:
    if port is None:
        return None
    if int(port) > 65535:
        raise SipParseError(f"bad Via port: {text[:60]!r}")
    return int(port)


def parse_via_list(value: str) -> list[Via]:
    """Parse a Via header line that may hold several comma-separated values."""
    return [parse_via(item) for item in split_values(value)]


@quick_init
@dataclass(frozen=True, slots=True)
class CSeq:
    """The CSeq header: sequence number and method (§20.16)."""

    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(text: str) -> CSeq:
    """Parse 'number method'; the number must fit 32 bits (§8.1.1.5, RFC 4475 §3.1.2.4)."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit():
        raise SipParseError(f"bad CSeq: {text[:60]!r}")
    number = int(parts[0])
    if number > _MAX_CSEQ or not is_token(parts[1]):
        raise SipParseError(f"bad CSeq: {text[:60]!r}")
    return CSeq(number, parts[1])


def parse_call_id(text: str) -> str:
    """Check Call-ID = word ['@' word] (§25.1) and return it."""
    local, at, host = text.partition("@")
    if not is_made_of(local, WORD_CHARS) or (at and not is_made_of(host, WORD_CHARS)):
        raise SipParseError(f"bad Call-ID: {text[:60]!r}")
    return text


def parse_small_int(text: str, name: str, maximum: int) -> int:
    """Parse a decimal header value in 0..maximum (Max-Forwards, Content-Length…)."""
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > maximum:
        raise SipParseError(f"bad {name}: {text[:60]!r}")
    return int(text)


@quick_init
@dataclass(frozen=True, slots=True)
class MediaType:
    """A Content-Type value: lower-cased 'type/subtype' and its parameters (§20.15)."""

    mime: str
    params: Params = ()

    def param(self, name: str) -> str | None:
        """A parameter value with quotes removed, else None."""
        pair = find_param(self.params, name)
        if pair is None or pair[1] is None:
            return None
        return unquote(pair[1]) if pair[1].startswith('"') else pair[1]


def parse_media_type(text: str) -> MediaType:
    """Parse 'type/subtype;params'."""
    mime, semicolon, param_text = text.partition(";")
    kind, slash, subtype = mime.partition("/")
    kind, subtype = kind.strip(WHITESPACE), subtype.strip(WHITESPACE)
    if not slash or not is_token(kind) or not is_token(subtype):
        raise SipParseError(f"bad media type: {text[:60]!r}")
    params = parse_params(semicolon + param_text) if semicolon else ()
    return MediaType(f"{kind}/{subtype}".lower(), params)


def check_date(text: str) -> None:
    """Check an rfc1123-date in GMT (§20.17, RFC 4475 §3.1.2.12)."""
    if not _RFC1123_DATE.fullmatch(text):
        raise SipParseError(f"bad Date: {text[:60]!r}")


def same_host(a: str, b: str) -> bool:
    """Compare hosts case-insensitively, IP addresses by value ('[::1]' equals '::1')."""
    a, b = a.strip("[]").lower(), b.strip("[]").lower()
    if a == b:
        return True
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False
