"""Parsing one datagram: start lines, Content-Length, and what happens to bad input."""

from __future__ import annotations

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import Malformed, parse_message, try_parse_message
from tests.sip.samples import INVITE, RESPONSE_180, SDP, parse_request, parse_response

HEAD = (
    b"MESSAGE sip:bob@example.net SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm1\r\n"
    b"From: <sip:alice@example.com>;tag=1\r\n"
    b"To: <sip:bob@example.net>\r\n"
    b"Call-ID: m1\r\n"
    b"CSeq: 1 MESSAGE\r\n"
    b"Max-Forwards: 70\r\n"
)


def malformed(data: bytes) -> Malformed:
    result = try_parse_message(data)
    assert isinstance(result, Malformed), result
    return result


def test_request_and_response_start_lines() -> None:
    assert parse_request(INVITE).uri.user == "+4930123456"  # type: ignore[union-attr]
    response = parse_response(RESPONSE_180)
    assert (response.status_code, response.reason, response.version) == (180, "Ringing", "SIP/2.0")


def test_body_longer_than_content_length_is_truncated() -> None:
    message = parse_message(HEAD + b"Content-Length: 5\r\n\r\nHello, trailing junk")
    assert message.body == b"Hello"


def test_body_shorter_than_content_length_is_malformed_but_answerable() -> None:
    result = malformed(HEAD + b"Content-Length: 50\r\n\r\nHello")
    assert "shorter than Content-Length" in result.reason
    assert result.can_reply


def test_without_content_length_the_body_is_the_rest_of_the_datagram() -> None:
    assert parse_message(HEAD + b"\r\nwhole rest\r\n").body == b"whole rest\r\n"


@pytest.mark.parametrize("value", [b"-1", b"12abc", b"", b"99999999999"])
def test_bad_content_length_is_malformed(value: bytes) -> None:
    assert malformed(HEAD + b"Content-Length: " + value + b"\r\n\r\n").can_reply


def test_crlf_before_the_start_line_is_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + INVITE).body == SDP


def test_a_datagram_may_end_right_after_its_last_header() -> None:
    message = parse_message(HEAD + b"Content-Length: 0\r\n")
    assert isinstance(message, Request) and message.body == b""


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"garbage",
        HEAD[:-2],  # ends inside a header line: a truncated datagram
        b"INVITE sip:bob@example.net SIP/2.0 extra" + HEAD[HEAD.index(b"\r\n") :] + b"\r\n",
        HEAD.replace(b"\r\nFrom", b"\nFrom") + b"\r\n",
        HEAD.replace(b"\r\nFrom", b"\rFrom") + b"\r\n",
    ],
)
def test_unframeable_datagrams_cannot_be_answered(data: bytes) -> None:
    result = malformed(data)
    assert not result.can_reply
    with pytest.raises(ValueError, match="cannot be identified"):
        result.build_400()


def test_parse_message_raises_sip_parse_error() -> None:
    with pytest.raises(SipParseError, match="no end of the header section"):
        parse_message(b"INVITE")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"INV ITE sip:bob@example.net SIP/2.0", "bad request line"),
        (b"INVITE bob@example.net SIP/2.0", "bad URI"),
        (b"INVITE sip:bob@example.net SIP/two", "bad request line"),
        (b"INVITE sip:bob@exa mple.net SIP/2.0", "bad request line"),
        (b"INVITE sip:bob@example.net:99999 SIP/2.0", "port out of range"),
    ],
)
def test_bad_request_lines_are_answerable(line: bytes, problem: str) -> None:
    result = malformed(line + HEAD[HEAD.index(b"\r\n") :] + b"\r\n")
    assert problem in result.reason
    assert result.can_reply and result.method == line.split()[0].decode()


@pytest.mark.parametrize(
    "line", [b"SIP/2.0 99 Low", b"SIP/2.0 700 High", b"SIP/2.0 2OO OK", b"SIP/2.0 1000 x"]
)
def test_bad_status_lines_are_dropped(line: bytes) -> None:
    result = malformed(line + RESPONSE_180[RESPONSE_180.index(b"\r\n") :])
    assert result.method is None and not result.can_reply


def test_response_without_reason_phrase() -> None:
    response = parse_response(b"SIP/2.0 100" + RESPONSE_180[RESPONSE_180.index(b"\r\n") :])
    assert (response.status_code, response.reason) == (100, "")


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"Call-ID", "missing Call-ID"),
        (b"From", "missing From"),
        (b"To", "missing To"),
        (b"CSeq", "missing CSeq"),
        (b"Via", "missing Via"),
    ],
)
def test_missing_mandatory_header_is_malformed(header: bytes, problem: str) -> None:
    lines = [line for line in HEAD.split(b"\r\n") if not line.startswith(header + b":")]
    result = malformed(b"\r\n".join(lines) + b"\r\n")
    assert problem in result.reason
    assert not result.can_reply


def test_duplicated_single_valued_header_is_malformed_but_answerable() -> None:
    result = malformed(HEAD + b"Call-ID: m2\r\n\r\n")
    assert result.reason == "more than one Call-ID header"
    response = result.build_400(to_tag="srv1")
    assert response.status_code == 400
    assert response.headers.get_all("call-id") == ["m1"]
    assert response.to.tag == "srv1"


@pytest.mark.parametrize(
    "line",
    [b"Max-Forwards: 256", b"Max-Forwards: ten", b"No colon here", b"Bad Name: x", b" folded"],
)
def test_bad_header_lines_are_malformed(line: bytes) -> None:
    data = HEAD.replace(b"Max-Forwards: 70\r\n", b"")
    if line.startswith(b" "):  # a continuation line with nothing to continue
        data = data.split(b"\r\n", 1)[0] + b"\r\n" + line + b"\r\n" + data.split(b"\r\n", 1)[1]
    else:
        data += line + b"\r\n"
    assert malformed(data + b"\r\n").can_reply


def test_malformed_400_copies_the_request_as_recovered() -> None:
    broken = HEAD.replace(b"<sip:bob@example.net>", b'"unterminated <sip:b@x>')
    result = malformed(broken.replace(b"Max-Forwards: 70", b"Max-Forwards: seventy") + b"\r\n")
    response = result.build_400()
    assert isinstance(response, Response) and response.reason == "Bad Request"
    assert response.headers.get("to") == '"unterminated <sip:b@x>'
    assert response.headers.get("via") == "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm1"
    assert response.headers.get("cseq") == "1 MESSAGE"


def test_responses_are_never_answered() -> None:
    result = malformed(RESPONSE_180.replace(b"CSeq: 1 INVITE", b"CSeq: x INVITE"))
    assert result.method is None and not result.can_reply


def test_non_utf8_bytes_survive_a_round_trip() -> None:
    data = HEAD + b"Subject: caf\xe9\r\nContent-Length: 0\r\n\r\n"
    message = parse_message(data)
    assert message.to_bytes() == data
