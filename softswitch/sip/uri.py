"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and name-addr values (§20.10)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from softswitch.sip.errors import SipParseError
from softswitch.sip.frozen import quick_init
from softswitch.sip.syntax import (
    ALPHANUM,
    PLAIN_PARAMS,
    TOKEN,
    WHITESPACE,
    Params,
    char_class,
    format_params,
    is_made_of,
    is_token,
    param_value,
    parse_params,
    percent_decode,
    plain_params,
    quote,
    quoted_string_end,
    replace_param,
    unescape_quoted_pairs,
)

_UNRESERVED = ALPHANUM + "-_.!~*'()%"
_USER_CHARS = _UNRESERVED + "&=+$,;?/"
_PASSWORD_CHARS = _UNRESERVED + "&=+$,"
_PARAM_CHARS = _UNRESERVED + "[]/:&+$"
_HEADER_CHARS = _UNRESERVED + "[]/?:+$"
_HOSTNAME_CHARS = ALPHANUM + "-."
_IPV6_CHARS = "0123456789abcdefABCDEF:."
_TEL_CHARS = "0123456789abcdefABCDEF+-.()*#"
# scheme ":" then anything but controls, space, '<', '>' and '"' (RFC 3986 §3.1, §2).
_URI = re.compile(r'([A-Za-z][A-Za-z0-9+.\-]*):([^\x00-\x20<>"\x7f]+)')

# Fast paths for the shapes nearly every peer sends, sip:user@host:port;params and
# [display] <that>;params. What they match, the general parser below would accept and read the
# same way; everything else (passwords, IPv6, URI headers, ';' '?' '/' in the user part, SWS
# around parameters, quoted-pairs, addr-specs…) is left to the general parser.
_PLAIN_USER = char_class(_UNRESERVED + "&=+$,") + "+"
_PLAIN_SIP_URI = (
    rf"(sips?):(?:({_PLAIN_USER})@)?({char_class(_HOSTNAME_CHARS)}+)(?::([0-9]{{1,5}}))?"
    rf"((?:;{char_class(_PARAM_CHARS)}+(?:={char_class(_PARAM_CHARS)}+)?)*)"
)
_PLAIN_URI = re.compile(_PLAIN_SIP_URI)
_PLAIN_NAME_ADDR = re.compile(
    rf'[ \t]*(?:"([^"\\]*)"[ \t]*|({TOKEN}(?: {TOKEN})*)[ \t]*)?'
    rf"<{_PLAIN_SIP_URI}>({PLAIN_PARAMS})[ \t]*"
)
_URI_PARAM = re.compile(rf";({char_class(_PARAM_CHARS)}+)(?:=({char_class(_PARAM_CHARS)}+))?")


@quick_init
@dataclass(frozen=True, slots=True)
class SipUri:
    """A sip: or sips: URI; user, password, params and headers keep their %-escapes."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = "sip"

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            password = "" if self.password is None else ":" + self.password
            userinfo = f"{self.user}{password}@"
        port = "" if self.port is None else f":{self.port}"
        headers = "&".join(f"{name}={value}" for name, value in self.headers)
        query = f"?{headers}" if headers else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{format_params(self.params)}{query}"

    @property
    def unescaped_user(self) -> str | None:
        """The user part with %HH escapes resolved (§19.1.4 compares this form)."""
        return None if self.user is None else percent_decode(self.user)

    def param(self, name: str) -> str | None:
        """The value of a URI parameter ('' when present without a value), else None."""
        wanted = name.lower()
        for key, value in self.params:
            if percent_decode(key).lower() == wanted:
                return "" if value is None else percent_decode(value)
        return None

    @property
    def transport(self) -> str | None:
        """The transport parameter, lower-cased."""
        value = self.param("transport")
        return None if value is None else value.lower()

    @property
    def lr(self) -> bool:
        """Whether the loose-routing flag ';lr' is present (RFC 3261 §19.1.1)."""
        return self.param("lr") is not None

    def with_param(self, name: str, value: str | None = None) -> SipUri:
        """Return a copy with the URI parameter set."""
        params = replace_param(self.params, name, value)
        return SipUri(
            self.host, self.user, self.password, self.port, params, self.headers, self.scheme
        )


@dataclass(frozen=True, slots=True)
class TelUri:
    """A tel: URI (RFC 3966): the number with its visual separators, and parameters."""

    number: str
    params: Params = ()

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class AbsoluteUri:
    """Any other URI scheme, kept opaque (RFC 3261 §19.1 allows them; RFC 4475 §3.3.4)."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


Uri = SipUri | TelUri | AbsoluteUri


def parse_uri(text: str) -> Uri:
    """Parse a URI; raises SipParseError."""
    plain = _PLAIN_URI.fullmatch(text)
    if plain is not None and _port_in_range(plain[4]):
        return _plain_sip_uri(*plain.groups())
    return _parse_general_uri(text)


def _parse_general_uri(text: str) -> Uri:
    match = _URI.fullmatch(text)
    if match is None:
        raise SipParseError(f"bad URI: {text[:60]!r}")
    scheme, rest = match.groups()
    lowered = scheme.lower()
    if lowered in ("sip", "sips"):
        return _parse_sip_uri(lowered, rest)
    if lowered == "tel":
        return _parse_tel_uri(rest)
    return AbsoluteUri(scheme, rest)


def _port_in_range(port: str | None) -> bool:
    return port is None or int(port) <= 65535


def _plain_sip_uri(
    scheme: str, user: str | None, host: str, port: str | None, params: str
) -> SipUri:
    """The SipUri of a _PLAIN_SIP_URI match whose port is in range."""
    uri_params: Params = ()
    if params:
        uri_params = tuple([(name, value or None) for name, value in _URI_PARAM.findall(params)])
    return SipUri(host, user, None, None if port is None else int(port), uri_params, (), scheme)


def _parse_sip_uri(scheme: str, rest: str) -> SipUri:
    user = password = None
    # '@' is legal nowhere but between userinfo and host (§25.1), so the first one splits.
    userinfo, at, hostpart = rest.partition("@")
    if not at:
        hostpart = rest
    elif "@" in hostpart:
        raise SipParseError(f"more than one '@' in URI: {rest[:60]!r}")
    else:
        user, password = _parse_userinfo(userinfo)
    hostpart, question, header_text = hostpart.partition("?")
    hostport, *param_texts = hostpart.split(";")
    host, port = parse_hostport(hostport)
    params = tuple([_parse_uri_param(text) for text in param_texts]) if param_texts else ()
    headers = _parse_uri_headers(header_text) if question else ()
    return SipUri(host, user, password, port, params, headers, scheme)


def _parse_userinfo(userinfo: str) -> tuple[str, str | None]:
    user, colon, password = userinfo.partition(":")
    if not is_made_of(user, _USER_CHARS) or (colon and not is_made_of(password, _PASSWORD_CHARS)):
        raise SipParseError(f"bad userinfo in URI: {userinfo[:60]!r}")
    return user, password if colon else None


def parse_hostport(text: str) -> tuple[str, int | None]:
    """Split 'host[:port]' where host may be an IPv6 reference '[...]'."""
    if text.startswith("["):
        end = text.find("]")
        host, port_text = text[: end + 1], text[end + 1 :]
        valid = end > 1 and is_made_of(host[1:-1], _IPV6_CHARS)
    else:
        host, colon, port_text = text.partition(":")
        port_text = colon + port_text
        valid = is_made_of(host, _HOSTNAME_CHARS)
    if not valid:
        raise SipParseError(f"bad host: {text[:60]!r}")
    if not port_text:
        return host, None
    if port_text[0] != ":" or not port_text[1:].isascii() or not port_text[1:].isdigit():
        raise SipParseError(f"bad port: {text[:60]!r}")
    port = int(port_text[1:])
    if port > 65535:
        raise SipParseError(f"port out of range: {text[:60]!r}")
    return host, port


def _parse_uri_param(text: str) -> tuple[str, str | None]:
    name, equals, value = text.partition("=")
    if not is_made_of(name, _PARAM_CHARS) or (equals and not is_made_of(value, _PARAM_CHARS)):
        raise SipParseError(f"bad URI parameter: {text[:60]!r}")
    return name, value if equals else None


def _parse_uri_headers(text: str) -> tuple[tuple[str, str], ...]:
    headers = []
    for item in text.split("&"):
        name, equals, value = item.partition("=")
        bad_value = value and not is_made_of(value, _HEADER_CHARS)
        if not equals or not is_made_of(name, _HEADER_CHARS) or bad_value:
            raise SipParseError(f"bad URI header: {item[:60]!r}")
        headers.append((name, value))
    return tuple(headers)


def _parse_tel_uri(rest: str) -> TelUri:
    number, *param_texts = rest.split(";")
    if not is_made_of(number, _TEL_CHARS):
        raise SipParseError(f"bad tel URI number: {rest[:60]!r}")
    return TelUri(number, tuple(_parse_uri_param(text) for text in param_texts))


@quick_init
@dataclass(frozen=True, slots=True)
class NameAddr:
    """A name-addr or addr-spec with header parameters: From, To, Contact, Route (§20.10)."""

    uri: Uri
    display_name: str | None = None
    params: Params = ()

    def __str__(self) -> str:
        display = "" if self.display_name is None else quote(self.display_name) + " "
        return f"{display}<{self.uri}>{format_params(self.params)}"

    def param(self, name: str) -> str | None:
        """The raw value of a header parameter ('' when valueless), else None."""
        return param_value(self.params, name)

    @property
    def tag(self) -> str | None:
        """The tag parameter of From/To (§19.3)."""
        return self.param("tag")

    @property
    def expires(self) -> int | None:
        """The Contact expires parameter; a malformed or overlarge one counts as 3600 (§10.3)."""
        value = self.param("expires")
        return None if value is None else parse_delta_seconds(value)

    def with_param(self, name: str, value: str | None = None) -> NameAddr:
        """Return a copy with the header parameter set."""
        return NameAddr(self.uri, self.display_name, replace_param(self.params, name, value))


def parse_delta_seconds(text: str) -> int:
    """Parse an expiry; RFC 3261 §10.3 and RFC 4475 §3.1.2.4 map bad values to 3600."""
    text = text.strip(WHITESPACE)
    if not text.isascii() or not text.isdigit() or int(text) > 0xFFFFFFFF:
        return 3600
    return int(text)


def parse_name_addr(text: str) -> NameAddr:
    """Parse 'display <uri>;params' or 'uri;params'; raises SipParseError."""
    plain = _PLAIN_NAME_ADDR.fullmatch(text)
    if plain is not None and _port_in_range(plain[6]):
        quoted, tokens, *uri_parts, params = plain.groups()
        display = tokens if quoted is None else quoted
        return NameAddr(_plain_sip_uri(*uri_parts), display, plain_params(params))
    return _parse_general_name_addr(text)


def _parse_general_name_addr(text: str) -> NameAddr:
    text = text.strip(WHITESPACE)
    if text.startswith('"'):
        end = quoted_string_end(text)
        display: str | None = unescape_quoted_pairs(text[1 : end - 1])
        rest = text[end:].lstrip(WHITESPACE)
        if not rest.startswith("<"):
            raise SipParseError(f"quoted display name without <uri>: {text[:60]!r}")
        return _parse_bracketed(display, rest)
    left_angle = text.find("<")
    if left_angle < 0:
        return _parse_addr_spec(text)
    return _parse_bracketed(_display_tokens(text[:left_angle]), text[left_angle:])


def _display_tokens(text: str) -> str | None:
    words = text.split()
    if not all(is_token(word) for word in words):
        raise SipParseError(f"display name is neither tokens nor quoted: {text[:60]!r}")
    return " ".join(words) if words else None


def _parse_bracketed(display: str | None, text: str) -> NameAddr:
    right_angle = text.find(">")
    if right_angle < 0:
        raise SipParseError(f"missing '>': {text[:60]!r}")
    uri = parse_uri(text[1:right_angle])
    return NameAddr(uri, display, parse_params(text[right_angle + 1 :]))


def _parse_addr_spec(text: str) -> NameAddr:
    uri_text, semicolon, param_text = text.partition(";")
    uri_text = uri_text.rstrip(WHITESPACE)
    # §20: an addr-spec holding ',', ';' or '?' must be enclosed in <> (RFC 4475 §3.1.2.13).
    if "?" in uri_text or "," in uri_text:
        raise SipParseError(f"URI with '?' or ',' must be in <>: {text[:60]!r}")
    params = parse_params(semicolon + param_text)
    return NameAddr(parse_uri(uri_text), None, params)
