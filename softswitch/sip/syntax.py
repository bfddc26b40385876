"""Lexical building blocks of the RFC 3261 §25.1 grammar shared by the parsers."""

from __future__ import annotations

import re
from urllib.parse import unquote as _percent_decode

from softswitch.sip.errors import SipParseError

ALPHANUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TOKEN_CHARS = ALPHANUM + "-.!%*_+`'~"
# §25.1 word: what Call-ID is made of.
WORD_CHARS = TOKEN_CHARS + '()<>:\\"/[]?{}'
WHITESPACE = " \t"

Params = tuple[tuple[str, str | None], ...]

_SPLITTERS = {sep: re.compile(r'[\\"<>' + sep + "]") for sep in ",;"}
_QUOTED_SPECIALS = re.compile(r'[\\"]')
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_UNQUOTED_VALUE_CHARS = TOKEN_CHARS + ":[]"


def char_class(chars: str) -> str:
    """A regular-expression character class matching exactly the characters of chars."""
    if ALPHANUM in chars:
        return "[A-Za-z0-9" + re.escape(chars.replace(ALPHANUM, "")) + "]"
    return "[" + re.escape(chars) + "]"


TOKEN = char_class(TOKEN_CHARS) + "+"
# ';name=value' parameters without SWS or quoted values, the shape nearly every peer sends: a
# string matching PLAIN_PARAMS needs no further check, and plain_params() reads it.
PLAIN_PARAMS = rf"(?:;{TOKEN}(?:={char_class(_UNQUOTED_VALUE_CHARS)}+)?)*"
_PLAIN_PARAMS = re.compile(PLAIN_PARAMS)
_PARAM = re.compile(rf";({TOKEN})(?:=({char_class(_UNQUOTED_VALUE_CHARS)}+))?")


def is_token(text: str) -> bool:
    """Tell whether text is a non-empty §25.1 token."""
    # str.strip() eats allowed characters from both ends: anything left over is not allowed.
    return bool(text) and not text.strip(TOKEN_CHARS)


def is_made_of(text: str, allowed: str) -> bool:
    """Tell whether text is non-empty and uses only characters from allowed."""
    return bool(text) and not text.strip(allowed)


def split_list(text: str, separator: str = ",") -> list[str]:
    """Split text on separator, except inside quoted strings and <...> (§7.3.1)."""
    if '"' not in text and "<" not in text:
        return text.split(separator)
    parts: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    skip_to = -1
    for match in _SPLITTERS[separator].finditer(text):
        index = match.start()
        if index < skip_to:
            continue
        char = text[index]
        if in_quotes:
            if char == "\\":
                skip_to = index + 2
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char in "<>":
            in_angle = char == "<"
        elif char == separator and not in_angle:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def quoted_string_end(text: str) -> int:
    """Return the index just past the quoted-string that text starts with."""
    skip_to = -1
    for match in _QUOTED_SPECIALS.finditer(text, 1):
        index = match.start()
        if index < skip_to:
            continue
        if text[index] == "\\":
            skip_to = index + 2
        else:
            return index + 1
    raise SipParseError("unterminated quoted string")


def unquote(text: str) -> str:
    """Return the content of a quoted-string with its quoted-pairs resolved."""
    if len(text) < 2 or text[0] != '"' or quoted_string_end(text) != len(text):
        raise SipParseError(f"not a quoted string: {text[:40]!r}")
    return unescape_quoted_pairs(text[1:-1])


def unescape_quoted_pairs(inner: str) -> str:
    """Resolve the quoted-pairs of a quoted-string's content (§25.1)."""
    return _QUOTED_PAIR.sub(r"\1", inner) if "\\" in inner else inner


def quote(text: str) -> str:
    """Return text as a quoted-string; CR and LF, which cannot be quoted, become spaces."""
    text = text.replace("\r", " ").replace("\n", " ")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda match: "\\" + match.group(), escaped) + '"'


def percent_decode(text: str) -> str:
    """Resolve %HH escapes (§19.1.2); a '%' that starts no escape is kept as is."""
    return _percent_decode(text, errors="surrogateescape") if "%" in text else text


def parse_params(text: str) -> Params:
    """Parse ';name=value' header parameters with the SWS that SEMI and EQUAL allow."""
    if _PLAIN_PARAMS.fullmatch(text):
        return plain_params(text)
    return _parse_spaced_params(text)


def _parse_spaced_params(text: str) -> Params:
    parts = split_list(text, ";")
    if parts[0].strip(WHITESPACE):
        raise SipParseError(f"unexpected text before parameters: {parts[0][:40]!r}")
    return tuple(_parse_param(part) for part in parts[1:])


def plain_params(text: str) -> Params:
    """The parameters of a string that matches PLAIN_PARAMS (values are never empty there)."""
    if not text:
        return ()
    return tuple([(name, value or None) for name, value in _PARAM.findall(text)])


def _parse_param(part: str) -> tuple[str, str | None]:
    name, equals, value = part.partition("=")
    name = name.strip(WHITESPACE)
    if not is_token(name):
        raise SipParseError(f"bad parameter name: {part[:40]!r}")
    if not equals:
        return name, None
    value = value.strip(WHITESPACE)
    if value.startswith('"'):
        unquote(value)
    elif not is_made_of(value, _UNQUOTED_VALUE_CHARS):
        raise SipParseError(f"bad parameter value: {part[:40]!r}")
    return name, value


def find_param(params: Params, name: str) -> tuple[str, str | None] | None:
    """Return the first (name, value) pair whose name matches case-insensitively."""
    wanted = name.lower()
    for pair in params:
        if pair[0].lower() == wanted:
            return pair
    return None


def param_value(params: Params, name: str) -> str | None:
    """The raw value of the first parameter called name ('' when valueless), else None."""
    pair = find_param(params, name)
    if pair is None:
        return None
    return "" if pair[1] is None else pair[1]


def format_params(params: Params) -> str:
    """Serialise parameters as ';name=value' / ';name'."""
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params)


def replace_param(params: Params, name: str, value: str | None) -> Params:
    """Return params with name set to value, replacing the first match or appending."""
    wanted = name.lower()
    for index, (existing, _) in enumerate(params):
        if existing.lower() == wanted:
            return (*params[:index], (existing, value), *params[index + 1 :])
    return (*params, (name, value))
