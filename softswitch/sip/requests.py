"""Out-of-dialog requests the switch originates: an INVITE towards a gateway, OPTIONS probes."""

from __future__ import annotations

from softswitch.sip.fields import Via
from softswitch.sip.headers import Headers
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Request
from softswitch.sip.uri import NameAddr, Uri


def new_request(
    method: str,
    uri: Uri,
    *,
    via: Via,
    from_: NameAddr,
    to: NameAddr,
    ids: IdGenerator,
    call_id: str | None = None,
    cseq: int = 1,
    contact: Uri | None = None,
    body: bytes = b"",
    content_type: str | None = None,
) -> Request:
    """A request starting a new transaction outside any dialog (§8.1.1).

    `via` is our sent-by (a branch and rport are added); `from_` gets a fresh tag.
    """
    headers = Headers()
    headers.add("Via", str(via.with_param("branch", ids.branch()).with_param("rport")))
    headers.add("Max-Forwards", "70")
    headers.add("From", str(from_.with_param("tag", ids.tag())))
    headers.add("To", str(to))
    headers.add("Call-ID", call_id or ids.call_id(via.host))
    headers.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        headers.add("Contact", f"<{contact}>")
    if content_type is not None:
        headers.add("Content-Type", content_type)
    return Request(method, uri, headers, body)
