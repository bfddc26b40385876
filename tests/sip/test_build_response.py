"""Responses built from requests (§8.2.6), Via stamping (RFC 3581) and serialisation."""

from __future__ import annotations

from softswitch.sip.fields import Via
from softswitch.sip.headers import Headers
from softswitch.sip.message import Request, Response, add_received_rport, build_response
from softswitch.sip.parser import parse_message
from softswitch.sip.uri import SipUri
from tests.sip.samples import INVITE, REGISTER, parse_request, reparse


def test_response_copies_via_from_to_call_id_cseq_and_adds_to_tag() -> None:
    request = parse_request(INVITE.replace(b"Via:", b"Via: SIP/2.0/UDP proxy;branch=z9hG4bKp,", 1))
    response = build_response(request, 486, to_tag="x1")
    assert response.start_line == "SIP/2.0 486 Busy Here"
    assert response.headers.get_all("via") == request.headers.get_all("via")
    assert len(response.vias) == 2
    assert response.headers.get("from") == request.headers.get("from")
    assert response.to.tag == "x1"
    assert response.call_id == request.call_id
    assert response.cseq == request.cseq
    assert response.body == b"" and b"Content-Length: 0\r\n" in response.to_bytes()
    assert response.validate() is None


def test_an_existing_to_tag_and_100_trying_keep_to_as_is() -> None:
    request = parse_request(INVITE)
    trying = build_response(request, 100, to_tag="x1")
    assert trying.to.tag is None
    tagged = parse_request(
        INVITE.replace(b"To: <sip:+4930123456@switch.example.net>", b"To: <sip:b@h>;tag=old")
    )
    assert build_response(tagged, 200, to_tag="new").to.tag == "old"


def test_100_trying_copies_timestamp() -> None:
    request = parse_request(REGISTER.replace(b"Expires:", b"Timestamp: 54.2\r\nExpires:"))
    assert build_response(request, 100).headers.get("timestamp") == "54.2"
    assert build_response(request, 200).headers.get("timestamp") is None


def test_received_is_added_when_the_source_differs_from_sent_by() -> None:
    request = parse_request(INVITE.replace(b";rport", b""))
    add_received_rport(request, "203.0.113.9", 4000)
    assert request.via.received == "203.0.113.9"
    assert request.via.response_address() == ("203.0.113.9", 5060)


def test_nothing_changes_when_the_source_is_sent_by_without_rport() -> None:
    data = INVITE.replace(b";rport", b"")
    request = parse_request(data)
    add_received_rport(request, "198.51.100.7", 5060)
    assert request.to_bytes() == data


def test_rport_gets_the_source_port_and_received_always() -> None:
    request = parse_request(INVITE)
    add_received_rport(request, "198.51.100.7", 61000)
    via = request.via
    assert (via.rport, via.received, via.branch) == (61000, "198.51.100.7", "z9hG4bK776asdhds")
    assert via.response_address() == ("198.51.100.7", 61000)
    assert reparse(request).via == via


def test_ipv6_source_is_stamped_without_brackets() -> None:
    request = parse_request(
        INVITE.replace(b"198.51.100.7:5060;branch", b"[2001:db8::7]:5060;branch")
    )
    add_received_rport(request, "[2001:DB8::7]", 5060)
    assert request.via.received == "2001:DB8::7"
    assert reparse(request).via == request.via  # the Via kept parsed is what the wire says
    other = parse_request(
        INVITE.replace(b";rport", b"").replace(b"198.51.100.7:5060;branch", b"[2001:db8::7];branch")
    )
    add_received_rport(other, "2001:db8:0::7", 5060)
    assert other.via.received is None


def test_only_the_top_via_value_changes() -> None:
    request = parse_request(
        INVITE.replace(b";rport\r\n", b";rport, SIP/2.0/UDP inner;branch=z9hG4bKi\r\n")
    )
    add_received_rport(request, "203.0.113.9", 4000)
    assert [via.host for via in request.vias] == ["198.51.100.7", "inner"]
    assert request.vias[1].received is None


def test_to_bytes_writes_one_correct_content_length() -> None:
    request = parse_request(INVITE)
    request.body = b"v=0\r\n"
    request.headers.add("l", "999")
    data = request.to_bytes()
    assert data.count(b"Content-Length:") == 1
    assert b"Content-Length: 5\r\n" in data
    assert parse_message(data).body == b"v=0\r\n"


def test_built_messages_get_a_content_length_and_reparse() -> None:
    headers = Headers(
        [
            ("Via", str(Via("UDP", "192.0.2.1", 5060, (("branch", "z9hG4bKb1"), ("rport", None))))),
            ("From", "<sip:a@example.com>;tag=f"),
            ("To", "<sip:b@example.com>"),
            ("Call-ID", "built-1"),
            ("CSeq", "1 OPTIONS"),
            ("Max-Forwards", "70"),
        ]
    )
    request = Request("OPTIONS", SipUri("example.com", "b"), headers)
    data = request.to_bytes()
    assert data.endswith(b"Content-Length: 0\r\n\r\n")
    reparsed = reparse(request)
    assert reparsed.validate() is None and reparsed.via.wants_rport
    assert Response(299).reason == "Unknown" and Response(180).reason == "Ringing"


def test_accessor_cache_follows_header_changes() -> None:
    request = parse_request(INVITE)
    assert request.call_id == "a84b4c76e66710@198.51.100.7"
    request.headers.set("Call-ID", "changed")
    assert request.call_id == "changed"


def test_stamping_the_via_keeps_the_other_parsed_headers() -> None:
    request = parse_request(INVITE)
    from_, cseq, via = request.from_, request.cseq, request.via
    add_received_rport(request, "203.0.113.9", 4000)
    assert request.from_ is from_ and request.cseq is cseq
    assert request.via is not via and request.via.rport == 4000
    assert request.validate() is None and request.vias == [request.via]


def test_accessors_follow_replaced_headers() -> None:
    request = parse_request(INVITE)
    assert request.call_id == "a84b4c76e66710@198.51.100.7"
    other = request.headers.copy()
    other.set("Call-ID", "other")
    request.headers = other
    assert request.call_id == "other"
    assert request.from_.tag == "1928301774"
