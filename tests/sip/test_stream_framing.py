"""TCP framing: Content-Length delimits messages in any chunking; keep-alives; limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from softswitch.sip.message import Message
from softswitch.sip.parser import Malformed
from softswitch.sip.stream import (
    FrameReceived,
    FramingError,
    KeepAlivePing,
    KeepAlivePong,
    MessageReceived,
    StreamEvent,
    StreamFramer,
)
from tests.sip.samples import INVITE, REGISTER, RESPONSE_180

MESSAGES = [INVITE, REGISTER, RESPONSE_180]


def feed_all(framer: StreamFramer, *chunks: bytes) -> list[StreamEvent]:
    return [event for chunk in chunks for event in framer.feed(chunk)]


def received(events: list[StreamEvent]) -> list[Message | Malformed]:
    return [event.message for event in events if isinstance(event, MessageReceived)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*MESSAGES, b"\r\n\r\n"]), min_size=1, max_size=6),
    st.lists(st.integers(1, 400), max_size=40),
)
def test_any_chunking_yields_the_same_messages(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    chunks, position = [], 0
    for size in cuts:
        chunks.append(stream[position : position + size])
        position += size
    chunks.append(stream[position:])
    events = feed_all(StreamFramer(), *chunks)
    messages = received(events)
    assert [m.to_bytes() for m in messages] == [  # type: ignore[union-attr]
        part for part in parts if part != b"\r\n\r\n"
    ]
    assert sum(isinstance(event, KeepAlivePing) for event in events) == parts.count(b"\r\n\r\n")


def test_a_proxy_gets_the_messages_unparsed() -> None:
    """What the dispatcher routes (tcp_proxy.py): the same framing, the bytes as they came,
    garbage included."""
    events = feed_all(StreamFramer(parse=False), INVITE[:50], INVITE[50:] + b"\r\n\r\n" + REGISTER)
    assert events == [FrameReceived(INVITE), KeepAlivePing(), FrameReceived(REGISTER)]
    garbage = b"NOT SIP\r\nContent-Length: 2\r\n\r\nxy"
    assert StreamFramer(parse=False).feed(garbage) == [FrameReceived(garbage)]


def test_ping_is_reported_and_pong_after_a_message() -> None:
    framer = StreamFramer()
    assert feed_all(framer, b"\r\n\r\n") == [KeepAlivePing()]
    assert feed_all(framer, b"\r\n") == []  # could still become a ping
    events = feed_all(framer, INVITE)
    assert events[0] == KeepAlivePong()
    assert isinstance(events[1], MessageReceived)


def test_a_ping_split_in_two_is_still_a_ping() -> None:
    assert feed_all(StreamFramer(), b"\r\n", b"\r", b"\n") == [KeepAlivePing()]


def test_missing_content_length_breaks_the_stream() -> None:
    framer = StreamFramer()
    without_length = REGISTER.replace(b"Content-Length: 0\r\n", b"")
    events = feed_all(framer, without_length, INVITE)
    assert events == [FramingError("Content-Length missing or repeated on a stream")]
    assert framer.broken
    assert framer.feed(INVITE) == []


def test_bad_content_length_breaks_the_stream() -> None:
    events = StreamFramer().feed(REGISTER.replace(b"Content-Length: 0", b"l: x"))
    assert events == [FramingError("bad Content-Length on a stream")]


def test_header_section_limit() -> None:
    framer = StreamFramer(max_header_size=100)
    assert framer.feed(b"X" * 50) == []
    assert framer.feed(b"X" * 51) == [FramingError("header section too large")]
    assert StreamFramer(max_header_size=100).feed(REGISTER) == [
        FramingError("header section too large")
    ]


def test_body_limit() -> None:
    assert StreamFramer(max_body_size=10).feed(INVITE) == [FramingError("body too large")]


def test_a_malformed_but_framed_message_does_not_break_the_stream() -> None:
    framer = StreamFramer()
    bad = REGISTER.replace(b"CSeq: 2 REGISTER", b"CSeq: two REGISTER")
    messages = received(feed_all(framer, bad + INVITE))
    assert isinstance(messages[0], Malformed) and messages[0].can_reply
    assert isinstance(messages[1], Message)
    assert not framer.broken


def test_compact_content_length_frames_too() -> None:
    data = REGISTER.replace(b"Content-Length: 0", b"l: 4") + b"body"
    messages = received(StreamFramer().feed(data + INVITE))
    assert [type(m).__name__ for m in messages] == ["Request", "Request"]
    assert messages[0].body == b"body"  # type: ignore[union-attr]
