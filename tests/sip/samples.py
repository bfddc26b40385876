"""Typical messages shared by the SIP core tests."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Protocol

from softswitch.sip.message import Message, Request, Response
from softswitch.sip.parser import parse_message

SDP = (
    b"v=0\r\n"
    b"o=- 3547439529 3547439529 IN IP4 198.51.100.7\r\n"
    b"s=-\r\n"
    b"c=IN IP4 198.51.100.7\r\n"
    b"t=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 0 101\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\n"
)

INVITE = (
    b"INVITE sip:+4930123456@switch.example.net SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:+4930999@switch.example.net>;tag=1928301774\r\n'
    b"To: <sip:+4930123456@switch.example.net>\r\n"
    b"Call-ID: a84b4c76e66710@198.51.100.7\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:+4930999@198.51.100.7:5060>\r\n"
    b"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n"
    b"Supported: timer, 100rel\r\n"
    b"User-Agent: Example Phone 1.0\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)

REGISTER = (
    b"REGISTER sip:switch.example.net SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKnashds7;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"From: <sip:4930999@switch.example.net>;tag=a73kszlfl\r\n"
    b"To: <sip:4930999@switch.example.net>\r\n"
    b"Call-ID: 1j9FpLxk3uxtm8tn@198.51.100.7\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b"Contact: <sip:4930999@198.51.100.7:5060>;expires=3600\r\n"
    b'Authorization: Digest username="4930999", realm="switch.example.net", '
    b'nonce="AAAAAGVkZQDq8wCy1e5w4a8lL7qFQrE4jWU0nC3o", uri="sip:switch.example.net", '
    b'response="0b2ac8d2de6bd10b9e6f3ac7bc0b0f4d", algorithm=MD5, cnonce="0a4f113b", '
    b"nc=00000001, qop=auth\r\n"
    b"Expires: 3600\r\n"
    b"User-Agent: Example Phone 1.0\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

RESPONSE_180 = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbranch1\r\n"
    b"From: <sip:alice@example.com>;tag=ft\r\n"
    b"To: <sip:bob@example.net>;tag=tt\r\n"
    b"Call-ID: call-1@192.0.2.10\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:bob@203.0.113.5>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def parse_request(data: bytes) -> Request:
    """Parse bytes that must be a request."""
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def parse_response(data: bytes) -> Response:
    """Parse bytes that must be a response."""
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def reparse(message: Message) -> Message:
    """Serialise and parse again."""
    return parse_message(message.to_bytes())


class Timed(Protocol):
    """Anything driven by the clock: transactions and AnswerRetransmission."""

    def next_deadline(self) -> float | None: ...

    def on_timer(self, now: float) -> Sequence[object]: ...


def run_clock(machine: Timed, until: float) -> list[tuple[float, object]]:
    """Call on_timer() at every deadline up to until, as the engine's timer loop would."""
    fired: list[tuple[float, object]] = []
    while (deadline := machine.next_deadline()) is not None and deadline <= until:
        fired += [(deadline, action) for action in machine.on_timer(deadline)]
    return fired


def attribute_values(instance: object) -> list[object]:
    """The values an object's attributes hold, whether its class is compiled by mypyc (no
    `__dict__`: the collector's referents are the attributes) or not (they are in the dict)."""
    held = gc.get_referents(instance)
    return held + [value for part in held if isinstance(part, dict) for value in part.values()]
