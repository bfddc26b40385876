"""Finding SDP in a message and reading connection address and direction (hold detection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitch.sip.message import Message
from softswitch.sip.parser import parse_message
from softswitch.sip.sdp import MediaDescription, has_sdp, parse_sdp, sdp_body
from tests.sip.samples import INVITE, REGISTER, SDP

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"


def with_body(content_type: str, body: bytes) -> Message:
    message = parse_message(REGISTER)
    message.headers.add("Content-Type", content_type)
    message.body = body
    return message


def multipart(boundary: bytes, *parts: tuple[bytes, bytes]) -> bytes:
    body = b""
    for content_type, content in parts:
        body += (
            b"--"
            + boundary
            + b"\r\nContent-Type: "
            + content_type
            + b"\r\n\r\n"
            + content
            + b"\r\n"
        )
    return body + b"--" + boundary + b"--\r\n"


def test_plain_sdp_body() -> None:
    message = parse_message(INVITE)
    assert has_sdp(message) and sdp_body(message) == SDP


def test_no_sdp_without_body_or_with_another_type() -> None:
    assert not has_sdp(parse_message(REGISTER))
    assert not has_sdp(with_body("application/sdp", b""))
    assert not has_sdp(with_body("text/plain", SDP))
    assert not has_sdp(parse_message((FIXTURES / "valid" / "mpart01.dat").read_bytes()))


def test_sdp_inside_multipart_mixed() -> None:
    body = multipart(
        b"b0und", (b"application/isup; version=itu-t92+", b"\x01\x02"), (b"application/SDP", SDP)
    )
    message = with_body('multipart/mixed; boundary="b0und"', body)
    assert sdp_body(message) == SDP


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/mixed", multipart(b"b", (b"application/sdp", SDP))),  # no boundary
        ("multipart/mixed;boundary=b", multipart(b"b", (b"application/sdp", b""))),
        ("multipart/mixed;boundary=b", multipart(b"b", (b"bad type", SDP))),
        ('multipart/mixed;boundary="open', SDP),
        ("application/ sdp junk;", SDP),
    ],
)
def test_unusable_bodies_have_no_sdp(content_type: str, body: bytes) -> None:
    assert sdp_body(with_body(content_type, body)) is None


def test_connection_address_and_direction() -> None:
    session = parse_sdp(SDP)
    assert session.connection_address == "198.51.100.7"
    assert session.media == (MediaDescription("audio", 40000, "198.51.100.7", "sendrecv"),)
    assert not session.on_hold


@pytest.mark.parametrize(
    ("change", "held"),
    [
        ((b"a=sendrecv", b"a=sendonly"), True),
        ((b"a=sendrecv", b"a=inactive"), True),
        ((b"a=sendrecv", b"a=recvonly"), False),
        ((b"c=IN IP4 198.51.100.7", b"c=IN IP4 0.0.0.0"), True),
        ((b"m=audio 40000", b"m=audio 0"), False),
    ],
)
def test_hold_detection(change: tuple[bytes, bytes], held: bool) -> None:
    assert parse_sdp(SDP.replace(*change)).on_hold is held


def test_session_level_direction_and_per_media_connection() -> None:
    sdp = (
        b"v=0\r\nc=IN IP4 192.0.2.1\r\na=sendonly\r\n"
        b"m=audio 5000/2 RTP/AVP 0\r\nc=IN IP4 192.0.2.2/127\r\n"
        b"m=video 5002 RTP/AVP 31\r\na=sendrecv\r\nm=\r\nm=image x\r\n"
    )
    session = parse_sdp(sdp)
    assert session.media[:2] == (
        MediaDescription("audio", 5000, "192.0.2.2", "sendonly"),
        MediaDescription("video", 5002, "192.0.2.1", "sendrecv"),
    )
    assert [m.port for m in session.media[2:]] == [0, 0]
    assert not session.on_hold
