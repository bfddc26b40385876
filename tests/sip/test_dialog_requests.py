"""Out-of-dialog requests built by the switch parse back with what was asked."""

from __future__ import annotations

import random

from softswitch.sip.fields import Via
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.requests import new_request
from softswitch.sip.uri import parse_name_addr, parse_uri


def test_new_request_round_trips() -> None:
    ids = IdGenerator(random.Random(3).randbytes)
    request = new_request(
        "INVITE",
        parse_uri("sip:8613800@192.0.2.50:5060"),
        via=Via("UDP", "127.0.0.1", 5060),
        from_=parse_name_addr("<sip:1001@127.0.0.1>"),
        to=parse_name_addr("<sip:8613800@192.0.2.50>"),
        ids=ids,
        cseq=7,
        contact=parse_uri("sip:b2bua@127.0.0.1:5060"),
        body=b"v=0\r\n",
        content_type="application/sdp",
    )
    parsed = parse_message(request.to_bytes())
    assert isinstance(parsed, Request) and parsed.validate() is None
    assert parsed.method == "INVITE" and str(parsed.uri) == "sip:8613800@192.0.2.50:5060"
    assert parsed.via.branch.startswith("z9hG4bK") and parsed.via.wants_rport
    assert parsed.from_.tag and parsed.to.tag is None
    assert (parsed.cseq.number, parsed.cseq.method) == (7, "INVITE")
    assert str(parsed.contact[0].uri) == "sip:b2bua@127.0.0.1:5060"
    assert parsed.body == b"v=0\r\n" and parsed.headers.get("content-length") == "5"


def test_each_request_gets_fresh_branch_tag_and_call_id() -> None:
    ids = IdGenerator()
    build = lambda: new_request(  # noqa: E731
        "OPTIONS",
        parse_uri("sip:1001@10.0.0.1"),
        via=Via("TCP", "127.0.0.1", 5060),
        from_=parse_name_addr("<sip:vosadmin@127.0.0.1>"),
        to=parse_name_addr("<sip:1001@10.0.0.1>"),
        ids=ids,
    )
    first, second = build(), build()
    assert first.via.branch != second.via.branch
    assert first.from_.tag != second.from_.tag and first.call_id != second.call_id
