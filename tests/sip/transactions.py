"""Requests and responses for the transaction tests."""

from __future__ import annotations

from softswitch.sip.fields import Via
from softswitch.sip.headers import Headers
from softswitch.sip.message import Request, Response, build_response
from softswitch.sip.uri import SipUri


def make_request(method: str = "INVITE", branch: str = "z9hG4bKclient1") -> Request:
    """A request as the engine would send it to a gateway."""
    headers = Headers(
        [
            ("Via", str(Via("UDP", "192.0.2.1", 5060, (("branch", branch), ("rport", None))))),
            ("Route", "<sip:edge.example.net;lr>"),
            ("Max-Forwards", "70"),
            ("From", "<sip:4930999@switch.example.net>;tag=local1"),
            ("To", "<sip:4930123456@gw.example.net>"),
            ("Call-ID", "tx-call-1"),
            ("CSeq", f"7 {method}"),
            ("Contact", "<sip:switch@192.0.2.1:5060>"),
        ]
    )
    return Request(method, SipUri("gw.example.net", "4930123456"), headers)


def respond(request: Request, status_code: int, to_tag: str = "remote1") -> Response:
    """The gateway's response."""
    return build_response(request, status_code, to_tag=to_tag)
