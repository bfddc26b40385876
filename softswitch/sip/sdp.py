"""Just enough SDP (RFC 4566, RFC 3264) to find a session and tell whether it holds the call.

SDP is otherwise relayed byte for byte: nothing here rewrites a body.
"""

from __future__ import annotations

from dataclasses import dataclass

from softswitch.sip.errors import SipParseError
from softswitch.sip.fields import MediaType, parse_media_type
from softswitch.sip.message import Message

_DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
_HOLD_DIRECTIONS = frozenset({"sendonly", "inactive"})
_HOLD_ADDRESSES = frozenset({"0.0.0.0", "::"})  # RFC 2543 style hold (RFC 3264 §8.4)


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One m= line: media kind, port, effective connection address and direction."""

    media: str
    port: int
    connection_address: str | None
    direction: str


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """The parts of an SDP body the switch looks at."""

    connection_address: str | None
    media: tuple[MediaDescription, ...]

    @property
    def on_hold(self) -> bool:
        """Whether every active stream is sendonly/inactive or aimed at 0.0.0.0 (RFC 3264 §8.4)."""
        active = [m for m in self.media if m.port != 0]
        return bool(active) and all(_holds(m) for m in active)


def _holds(media: MediaDescription) -> bool:
    return media.direction in _HOLD_DIRECTIONS or media.connection_address in _HOLD_ADDRESSES


def sdp_body(message: Message) -> bytes | None:
    """The SDP a message carries: an application/sdp body or part of a multipart body."""
    try:
        media_type = message.content_type
    except SipParseError:
        return None
    if media_type is None or not message.body:
        return None
    if media_type.mime == "application/sdp":
        return message.body
    if media_type.mime.startswith("multipart/"):
        return _sdp_part(message.body, media_type)
    return None


def has_sdp(message: Message) -> bool:
    """Whether the message carries a non-empty SDP body."""
    return sdp_body(message) is not None


def _sdp_part(body: bytes, media_type: MediaType) -> bytes | None:
    """The first non-empty application/sdp part of a multipart body (RFC 2046 §5.1)."""
    boundary = media_type.param("boundary")
    if not boundary:
        return None
    for part in body.split(b"--" + boundary.encode("utf-8", "surrogateescape"))[1:]:
        head, separator, content = part.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")  # that CRLF belongs to the next delimiter
        if separator and content and _part_type(head) == "application/sdp":
            return content
    return None


def _part_type(head: bytes) -> str | None:
    for line in head.decode("utf-8", "surrogateescape").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() in ("content-type", "c"):
            try:
                return parse_media_type(value).mime
            except SipParseError:
                return None
    return None


def parse_sdp(sdp: bytes) -> SessionDescription:
    """Read connection addresses, media and directions; unreadable lines are skipped."""
    session = _Section()
    sections: list[_Section] = []
    for line in sdp.decode("latin-1").splitlines():
        kind, _, value = line.partition("=")
        if kind == "m":
            sections.append(_Section.from_media_line(value))
        else:
            (sections[-1] if sections else session).read(kind, value)
    media = tuple(section.describe(session) for section in sections)
    return SessionDescription(session.address, media)


@dataclass
class _Section:
    """The session part or one media part of an SDP body, while it is read."""

    media: str = ""
    port: int = 0
    address: str | None = None
    direction: str | None = None

    @classmethod
    def from_media_line(cls, value: str) -> _Section:
        """Start a media section from the value of its m= line."""
        fields = value.split()
        port = fields[1].split("/")[0] if len(fields) > 1 else ""
        return cls(fields[0] if fields else "", int(port) if port.isdigit() else 0)

    def read(self, kind: str, value: str) -> None:
        """Take a c= or a= line of this section."""
        words = value.split()
        if kind == "c" and len(words) >= 3:
            self.address = words[2].split("/")[0]
        elif kind == "a" and value.strip() in _DIRECTIONS:
            self.direction = value.strip()

    def describe(self, session: _Section) -> MediaDescription:
        """The media description, with the session's address and direction as defaults."""
        address = self.address if self.address is not None else session.address
        direction = self.direction or session.direction or "sendrecv"
        return MediaDescription(self.media, self.port, address, direction)
