"""Header fields: names, compact forms, repetition, lists, folding (RFC 3261 §7.3)."""

from __future__ import annotations

import pytest

from softswitch.sip.headers import Headers
from tests.sip.samples import INVITE, parse_request


def request_with(*header_lines: bytes) -> bytes:
    """A minimal valid OPTIONS request carrying extra header lines."""
    return (
        b"OPTIONS sip:bob@example.net SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"From: <sip:alice@example.com>;tag=1\r\n"
        b"To: <sip:bob@example.net>\r\n"
        b"Call-ID: c1\r\n"
        b"CSeq: 1 OPTIONS\r\n" + b"".join(line + b"\r\n" for line in header_lines) + b"\r\n"
    )


def test_names_are_case_insensitive_and_canonical_on_the_wire() -> None:
    request = parse_request(request_with(b"cOnTeNt-TyPe: text/plain", b"mAx-FoRwArDs: 5"))
    assert request.headers.get("content-type") == "text/plain"
    assert request.max_forwards == 5
    assert b"Content-Type: text/plain\r\n" in request.to_bytes()
    assert b"Max-Forwards: 5\r\n" in request.to_bytes()


@pytest.mark.parametrize(
    ("compact", "canonical"),
    [
        (b"i", "Call-ID"),
        (b"m", "Contact"),
        (b"f", "From"),
        (b"t", "To"),
        (b"v", "Via"),
        (b"l", "Content-Length"),
        (b"c", "Content-Type"),
        (b"k", "Supported"),
        (b"s", "Subject"),
        (b"e", "Content-Encoding"),
        (b"o", "Event"),
        (b"u", "Allow-Events"),
        (b"r", "Refer-To"),
        (b"x", "Session-Expires"),
    ],
)
def test_compact_forms_become_canonical_names(compact: bytes, canonical: str) -> None:
    headers = Headers([(compact.decode(), "x")])
    assert headers.get(canonical) == "x"
    assert list(headers) == [(canonical, "x")]


def test_compact_and_long_forms_of_one_header_are_one_header() -> None:
    request = parse_request(
        b"OPTIONS sip:bob@example.net SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n"
        b"f: <sip:alice@example.com>;tag=1\r\n"
        b"t: <sip:bob@example.net>\r\n"
        b"i: compact-1\r\n"
        b"CSeq: 1 OPTIONS\r\n"
        b"m: <sip:alice@192.0.2.1>\r\n"
        b"l: 0\r\n\r\n"
    )
    assert request.call_id == "compact-1"
    assert [via.host for via in request.vias] == ["192.0.2.1", "192.0.2.2"]
    assert request.contact[0].uri.host == "192.0.2.1"  # type: ignore[union-attr]
    assert b"\r\nCall-ID: compact-1\r\n" in request.to_bytes()


def test_repeated_headers_are_kept_in_order() -> None:
    request = parse_request(request_with(b"Route: <sip:p1;lr>", b"X-A: 1", b"Route: <sip:p2;lr>"))
    assert request.headers.get_all("route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert [str(route.uri) for route in request.route] == ["sip:p1;lr", "sip:p2;lr"]
    names = [name for name, _ in request.headers]
    assert names.index("X-A") == names.index("Route") + 1


def test_list_headers_split_on_commas_outside_quotes_and_angle_brackets() -> None:
    request = parse_request(
        request_with(
            b'Contact: "Doe, John" <sip:j,k@192.0.2.1>;q=0.5, <sip:j@192.0.2.2>',
            b"Allow: INVITE,ACK , BYE",
        )
    )
    assert request.headers.values("allow") == ["INVITE", "ACK", "BYE"]
    contacts = request.contact
    assert [contact.display_name for contact in contacts] == ["Doe, John", None]
    assert contacts[0].param("q") == "0.5"
    assert contacts[0].uri.user == "j,k"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name",
    [b"WWW-Authenticate", b"Authorization", b"Proxy-Authenticate", b"Proxy-Authorization"],
)
def test_credentials_headers_are_never_split(name: bytes) -> None:
    value = b'Digest realm="a", nonce="b", qop="auth,auth-int", algorithm=MD5'
    request = parse_request(request_with(name + b": " + value))
    assert request.headers.values(name.decode()) == [value.decode()]


def test_unknown_headers_are_not_split_either() -> None:
    request = parse_request(request_with(b"Date: Sat, 13 Nov 2010 23:29:00 GMT"))
    assert request.headers.values("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]


def test_folded_lines_are_unfolded() -> None:
    request = parse_request(
        request_with(b"Subject: first\r\n  second\r\n\tthird", b"Route:\r\n <sip:p1;lr>")
    )
    assert request.headers.get("subject") == "first second third"
    assert str(request.route[0].uri) == "sip:p1;lr"


def test_whitespace_before_the_colon_is_allowed() -> None:
    request = parse_request(request_with(b"Subject  \t: spaced"))
    assert request.headers.get("subject") == "spaced"


def test_ipv6_hosts_in_via_and_contact() -> None:
    request = parse_request(
        b"OPTIONS sip:[2001:db8::10]:5070 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bK1;received=2001:db8::9:255\r\n"
        b"From: <sip:alice@[2001:db8::9:1]>;tag=1\r\n"
        b"To: <sip:bob@[2001:db8::10]>\r\n"
        b"Call-ID: v6\r\n"
        b"CSeq: 1 OPTIONS\r\n"
        b"Contact: <sip:alice@[2001:db8::9:1]:5060;transport=udp>\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert (request.via.host, request.via.port) == ("[2001:db8::9:1]", 5060)
    assert request.via.response_address() == ("2001:db8::9:255", 5060)
    contact = request.contact[0].uri
    assert (contact.host, contact.port) == ("[2001:db8::9:1]", 5060)  # type: ignore[union-attr]
    assert request.uri.port == 5070  # type: ignore[union-attr]


def test_typical_invite_accessors() -> None:
    request = parse_request(INVITE)
    assert request.method == "INVITE"
    assert request.call_id == "a84b4c76e66710@198.51.100.7"
    assert (request.cseq.number, request.cseq.method) == (314159, "INVITE")
    assert request.from_.display_name == "Alice"
    assert request.from_.tag == "1928301774"
    assert request.to.tag is None
    assert request.via.branch == "z9hG4bK776asdhds"
    assert request.via.wants_rport and request.via.rport is None
    assert request.max_forwards == 70
    assert request.content_type is not None and request.content_type.mime == "application/sdp"
    assert request.user_agent == "Example Phone 1.0"
    assert request.headers.values("supported") == ["timer", "100rel"]


def test_contact_wildcard_and_expires() -> None:
    request = parse_request(request_with(b"Contact: *", b"Expires: 0"))
    assert request.contact_is_wildcard
    assert request.contact == []
    assert request.expires == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(b"120", 120), (b"abc", 3600), (b"99999999999999999999", 3600)],
)
def test_expires_values_that_cannot_be_used_count_as_3600(value: bytes, seconds: int) -> None:
    request = parse_request(
        request_with(b"Expires: " + value, b"Contact: <sip:a@h>;expires=" + value)
    )
    assert request.expires == seconds
    assert request.contact[0].expires == seconds


def test_headers_container_edits() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b"), ("To", "<sip:x>")])
    headers.prepend("v", "SIP/2.0/TCP c")
    headers.replace_first_value("Via", "SIP/2.0/TCP d")
    assert headers.values("via") == [
        "SIP/2.0/TCP d",
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b",
    ]
    headers.set("to", "<sip:y>")
    headers.add("X-Custom", "1")
    headers.remove("x-custom")
    assert list(headers)[-1] == ("To", "<sip:y>")
    assert "TO" in headers and "X-Custom" not in headers
    assert len(headers.copy()) == 3


def test_header_values_cannot_carry_line_breaks() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        Headers().add("Subject", "x\r\nInjected: yes")
