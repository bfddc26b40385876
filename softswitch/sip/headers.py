"""An ordered, case-insensitive SIP header container (RFC 3261 §7.3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

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


# Every spelling in KNOWN_NAMES -> its lookup key, for lookups that need nothing else.
_LOOKUP_KEYS = {spelling: names[0] for spelling, names in KNOWN_NAMES.items()}
_NO_VALUES: tuple[str, ...] = ()


def canonical_name(name: str) -> tuple[str, str]:
    """Return (lookup key, name to write) for a header name; compact forms are expanded."""
    known = KNOWN_NAMES.get(name)
    if known is not None:
        return known
    lowered = name.lower()
    return KNOWN_NAMES.get(lowered) or (lowered, name)


def lookup_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact forms expanded."""
    return _LOOKUP_KEYS.get(name) or canonical_name(name)[0]


def split_values(value: str) -> list[str]:
    """Split a list header value on commas outside quotes and <>, dropping surrounding SWS."""
    return [part.strip(WHITESPACE) for part in split_list(value)]


def list_values(lines: Sequence[str]) -> list[str]:
    """The values of a list header's lines, split on their commas (§7.3.1)."""
    if len(lines) == 1 and "," not in lines[0]:
        return [lines[0].strip(WHITESPACE)]  # one line, one value: nothing to split
    return [value for line in lines for value in split_values(line)]


class Headers:
    """Header fields in wire order; names compare case-insensitively, compact forms expanded.

    Besides the fields in wire order, the values are kept per lookup key, in tuples that are
    replaced on every change of their header. So a value parsed from such a tuple stays current
    exactly as long as field_values() returns that same tuple, which is how Message caches its
    accessors: a new Via leaves the parsed From, CSeq… in place. Tuples, not lists: a tuple of
    strings leaves the cyclic collector's lists at its first collection, and an engine keeps
    tens of thousands of messages alive in its transactions (docs/adr/0009).
    """

    __slots__ = ("_fields", "_index", "version")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str, str]] = []
        self._index: dict[str, tuple[str, ...]] = {}
        self.version = 0  # bumped by every change
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def from_parsed(
        cls, fields: list[tuple[str, str, str]], index: dict[str, tuple[str, ...]] | None = None
    ) -> Headers:
        """Adopt (key, name, value) triples produced by the parser, without copying.

        index, when given, holds the values of fields per key, as the parser collected them.
        """
        headers = cls()
        headers._fields = fields
        headers._index = _index_of(fields) if index is None else index
        return headers

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, value) for _, name, value in self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and lookup_key(name) in self._index

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def copy(self) -> Headers:
        """Return an independent copy."""
        return Headers.from_parsed(list(self._fields), dict(self._index))

    def field_values(self, name: str) -> Sequence[str]:
        """The values of every field with this name, not copied: do not change them.

        The sequence is replaced, not changed, when the header changes (see the class).
        """
        return self._index.get(_LOOKUP_KEYS.get(name) or lookup_key(name), _NO_VALUES)

    def get(self, name: str) -> str | None:
        """The value of the first field with this name, else None."""
        values = self._index.get(_LOOKUP_KEYS.get(name) or lookup_key(name))
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """The values of every field with this name, one per header line."""
        return list(self._index.get(lookup_key(name), ()))

    def values(self, name: str) -> list[str]:
        """Every value of a header: lines of list headers are split on their commas."""
        key = lookup_key(name)
        lines = self._index.get(key, ())
        return list_values(lines) if key in LIST_HEADERS else list(lines)

    def add(self, name: str, value: str) -> None:
        """Append a field after the existing ones."""
        key, display = canonical_name(name)
        value = check_value(value)
        self._fields.append((key, display, value))
        self._changed(key, (*self._index.get(key, ()), value))

    def prepend(self, name: str, value: str) -> None:
        """Insert a field before every other one (new top Via, §16.6 / §18.1.1)."""
        key, display = canonical_name(name)
        value = check_value(value)
        self._fields.insert(0, (key, display, value))
        self._changed(key, (value, *self._index.get(key, ())))

    def set(self, name: str, value: str) -> None:
        """Replace every field of this name by one field, kept at the first one's position."""
        key, display = canonical_name(name)
        field = (key, display, check_value(value))
        position = next((i for i, old in enumerate(self._fields) if old[0] == key), None)
        self.remove(name)
        self._fields.insert(len(self._fields) if position is None else position, field)
        self._changed(key, (field[2],))

    def remove(self, name: str) -> None:
        """Remove every field of this name."""
        key = lookup_key(name)
        self._fields = [field for field in self._fields if field[0] != key]
        self._index.pop(key, None)
        self.version += 1

    def replace_first_value(self, name: str, value: str) -> None:
        """Replace the first value of a list header, keeping the rest of its line."""
        key = lookup_key(name)
        for index, (field_key, display, line) in enumerate(self._fields):
            if field_key == key:
                rest = split_values(line)[1:] if "," in line else []
                new_line = ", ".join([check_value(value), *rest])
                self._fields[index] = (key, display, new_line)
                self._changed(key, (new_line, *self._index[key][1:]))
                return
        raise KeyError(name)

    def _changed(self, key: str, values: tuple[str, ...]) -> None:
        self._index[key] = values  # a new tuple: see the class docstring
        self.version += 1

    def wire_lines(self, content_length: int) -> list[str]:
        """'Name: value' lines for the wire, with exactly one, correct Content-Length."""
        length_line = f"Content-Length: {content_length}"
        if "content-length" not in self._index:
            return [*(f"{name}: {value}" for _, name, value in self._fields), length_line]
        lines = []
        for key, name, value in self._fields:
            if key != "content-length":
                lines.append(f"{name}: {value}")
            elif length_line:
                lines.append(length_line)
                length_line = ""
        return lines


def _index_of(fields: list[tuple[str, str, str]]) -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for key, _, value in fields:
        index[key] = (*index.get(key, ()), value)
    return index


def check_value(value: str) -> str:
    """Return value if it can be a header value; raises ValueError otherwise."""
    # A CR or LF inside a value would let a caller inject header lines (§7.3.1).
    if "\r" in value or "\n" in value:
        raise ValueError("header values cannot contain CR or LF")
    return value
