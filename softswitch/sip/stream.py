"""Framing of SIP messages on a byte stream (TCP): RFC 3261 §18.3, RFC 5626 §4.4.1 keep-alives."""

from __future__ import annotations

from dataclasses import dataclass

from softswitch.sip.message import Message
from softswitch.sip.parser import Malformed, try_parse_message

DEFAULT_MAX_HEADER_SIZE = 64 * 1024
DEFAULT_MAX_BODY_SIZE = 64 * 1024
_DOUBLE_CRLF = b"\r\n\r\n"  # a keep-alive ping, or the end of a header section
_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """One framed message: parsed, or Malformed (answer 400 when it can_reply)."""

    message: Message | Malformed


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """One framed message, not parsed (`StreamFramer(parse=False)`: for a proxy that only
    routes it)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class KeepAlivePing:
    """A double-CRLF ping: answer it with a single CRLF (RFC 5626 §4.4.1)."""


@dataclass(frozen=True, slots=True)
class KeepAlivePong:
    """A single-CRLF pong, the answer to a ping sent on this connection."""


@dataclass(frozen=True, slots=True)
class FramingError:
    """The stream cannot be framed any more; close the connection."""

    reason: str


StreamEvent = MessageReceived | FrameReceived | KeepAlivePing | KeepAlivePong | FramingError


class StreamFramer:
    """Turns arbitrary chunks of one connection into messages and keep-alives.

    Content-Length is mandatory on streams (§18.3, §20.14): without it, or with a header
    section or body over the limits, the framer reports FramingError and ignores later input.
    A lone CRLF at the end of the received bytes waits for the next chunk, because it may be
    the first half of a ping.
    """

    __slots__ = (
        "_broken",
        "_buffer",
        "_max_body",
        "_max_header",
        "_message_size",
        "_parse",
        "_scanned",
    )

    def __init__(
        self,
        *,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        parse: bool = True,
    ) -> None:
        self._parse = parse  # MessageReceived, or else FrameReceived
        self._max_header = max_header_size
        self._max_body = max_body_size
        self._buffer = bytearray()
        self._broken = False
        self._scanned = 0  # how far the search for the end of the header section has got
        self._message_size: int | None = None

    @property
    def broken(self) -> bool:
        """Whether a FramingError was reported."""
        return self._broken

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Add received bytes; return every event they complete."""
        if self._broken:
            return []
        self._buffer += data
        events: list[StreamEvent] = []
        while (event := self._next_event()) is not None:
            events.append(event)
            if isinstance(event, FramingError):
                self._broken = True
                self._buffer.clear()
                break
        return events

    def _next_event(self) -> StreamEvent | None:
        if self._message_size is None:
            if self._buffer.startswith(_CRLF):
                return self._keep_alive()
            problem = self._find_message_size()
            if problem is not None:
                return FramingError(problem)
        size = self._message_size
        if size is None or len(self._buffer) < size:
            return None
        frame = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._message_size = None
        self._scanned = 0
        return MessageReceived(try_parse_message(frame)) if self._parse else FrameReceived(frame)

    def _keep_alive(self) -> StreamEvent | None:
        if self._buffer.startswith(_DOUBLE_CRLF):
            del self._buffer[:4]
            return KeepAlivePing()
        if _DOUBLE_CRLF.startswith(self._buffer):
            return None  # maybe the first half of a ping: wait for more bytes
        del self._buffer[:2]
        return KeepAlivePong()

    def _find_message_size(self) -> str | None:
        end = self._buffer.find(_DOUBLE_CRLF, self._scanned)
        if end < 0:
            self._scanned = max(0, len(self._buffer) - 3)
            too_big = len(self._buffer) > self._max_header
            return "header section too large" if too_big else None
        if end > self._max_header:
            return "header section too large"
        length = _content_length(bytes(self._buffer[:end]))
        if isinstance(length, str):
            return length
        if length > self._max_body:
            return "body too large"
        self._message_size = end + 4 + length
        return None


def _content_length(head: bytes) -> int | str:
    """The Content-Length of a header section, or why it is unusable for framing."""
    values = []
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.rstrip(b" \t").lower() in (b"content-length", b"l"):
            values.append(value.strip(b" \t"))
    if len(values) != 1:
        return "Content-Length missing or repeated on a stream"
    if not values[0].isdigit() or len(values[0]) > 10:
        return "bad Content-Length on a stream"
    return int(values[0])
