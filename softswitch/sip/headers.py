"""An ordered, case-insensitive SIP header container (RFC 3261 §7.3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from softswitch.sip.syntax import WHITESPACE, split_list

_CANONICAL_NAMES = [
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "History-Info",
    "Identity",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Reply-To",
    "Request-Disposition",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
]

# §7.3.3 plus the compact forms later RFCs registered (3265/6665, 3515, 3841, 3892, 4028, 8224).
_COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Spellings of known names (canonical, lower-case, compact) -> (lookup key, name to write).
KNOWN_NAMES: dict[str, tuple[str, str]] = {
    name.lower(): (name.lower(), name) for name in _CANONICAL_NAMES
}
KNOWN_NAMES.update({short: (name.lower(), name) for short, name in _COMPACT_FORMS.items()})
KNOWN_NAMES.update(
    {name: KNOWN_NAMES[name.lower()] for name in [*_CANONICAL_NAMES, *_COMPACT_FORMS.values()]}
)
KNOWN_NAMES.update({short.upper(): KNOWN_NAMES[short] for short in _COMPACT_FORMS})

# Headers whose grammar is a comma-separated list (§7.3.1). Anything else, including unknown
# headers and the credentials headers whose values contain commas, is never split.
LIST_HEADERS = frozenset(
    name.lower()
    for name in [
        "Accept",
        "Accept-Contact",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Call-Info",
        "Contact",
        "Content-Encoding",
        "Content-Language",
        "Error-Info",
        "History-Info",
        "In-Reply-To",
        "P-Asserted-Identity",
        "P-Preferred-Identity",
        "Path",
        "Proxy-Require",
        "Reason",
        "Record-Route",
        "Reject-Contact",
        "Require",
        "Route",
        "Service-Route",
        "Supported",
        "Unsupported",
        "Via",
        "Warning",
    ]
)


def canonical_name(name: str) -> tuple[str, str]:
    """Return (lookup key, name to write) for a header name; compact forms are expanded."""
    known = KNOWN_NAMES.get(name)
    if known is not None:
        return known
    lowered = name.lower()
    return KNOWN_NAMES.get(lowered) or (lowered, name)


def split_values(value: str) -> list[str]:
    """Split a list header value on commas outside quotes and <>, dropping surrounding SWS."""
    return [part.strip(WHITESPACE) for part in split_list(value)]


class Headers:
    """Header fields in wire order; names compare case-insensitively, compact forms expanded."""

    __slots__ = ("_fields", "_index", "_index_version", "version")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str, str]] = []
        self.version = 0  # bumped by every change, so that parsed values can be cached
        self._index: dict[str, list[str]] = {}
        self._index_version = -1
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def from_parsed(cls, fields: list[tuple[str, str, str]]) -> Headers:
        """Adopt (key, name, value) triples produced by the parser, without copying."""
        headers = cls()
        headers._fields = fields
        return headers

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for _, name, value in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def copy(self) -> Headers:
        """Return an independent copy."""
        return Headers.from_parsed(list(self._fields))

    def _by_key(self) -> dict[str, list[str]]:
        if self._index_version != self.version:
            index: dict[str, list[str]] = {}
            for key, _, value in self._fields:
                index.setdefault(key, []).append(value)
            self._index, self._index_version = index, self.version
        return self._index

    def get(self, name: str) -> str | None:
        """The value of the first field with this name, else None."""
        values = self._by_key().get(canonical_name(name)[0])
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """The values of every field with this name, one per header line."""
        return list(self._by_key().get(canonical_name(name)[0], ()))

    def values(self, name: str) -> list[str]:
        """Every value of a header: lines of list headers are split on their commas."""
        lines = self.get_all(name)
        if canonical_name(name)[0] not in LIST_HEADERS:
            return lines
        return [item for line in lines for item in split_values(line)]

    def add(self, name: str, value: str) -> None:
        """Append a field after the existing ones."""
        key, display = canonical_name(name)
        self._fields.append((key, display, _checked(value)))
        self.version += 1

    def prepend(self, name: str, value: str) -> None:
        """Insert a field before every other one (new top Via, §16.6 / §18.1.1)."""
        key, display = canonical_name(name)
        self._fields.insert(0, (key, display, _checked(value)))
        self.version += 1

    def set(self, name: str, value: str) -> None:
        """Replace every field of this name by one field, kept at the first one's position."""
        key, display = canonical_name(name)
        position = next((i for i, field in enumerate(self._fields) if field[0] == key), None)
        self.remove(name)
        field = (key, display, _checked(value))
        self._fields.insert(len(self._fields) if position is None else position, field)
        self.version += 1

    def remove(self, name: str) -> None:
        """Remove every field of this name."""
        key = canonical_name(name)[0]
        self._fields = [field for field in self._fields if field[0] != key]
        self.version += 1

    def replace_first_value(self, name: str, value: str) -> None:
        """Replace the first value of a list header, keeping the rest of its line."""
        key = canonical_name(name)[0]
        for index, (field_key, display, line) in enumerate(self._fields):
            if field_key == key:
                rest = split_values(line)[1:]
                self._fields[index] = (key, display, ", ".join([_checked(value), *rest]))
                self.version += 1
                return
        raise KeyError(name)

    def wire_lines(self, content_length: int) -> list[str]:
        """'Name: value' lines for the wire, with exactly one, correct Content-Length."""
        lines = []
        length_line = f"Content-Length: {content_length}"
        for key, name, value in self._fields:
            if key != "content-length":
                lines.append(f"{name}: {value}")
            elif length_line:
                lines.append(length_line)
                length_line = ""
        if length_line:
            lines.append(length_line)
        return lines


def _checked(value: str) -> str:
    # A CR or LF inside a value would let a caller inject header lines (§7.3.1).
    if "\r" in value or "\n" in value:
        raise ValueError("header values cannot contain CR or LF")
    return value
