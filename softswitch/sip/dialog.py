"""Dialog state of one B2BUA leg (RFC 3261 §12) and the requests sent inside it.

A Dialog is built from the INVITE and the response that creates it, on the UAC side (the leg
towards a gateway) or the UAS side (the leg from a caller). It makes BYE, re-INVITE, UPDATE and
the ACK for a 2xx with fresh branches; build_cancel() makes the CANCEL of a pending INVITE.
AnswerRetransmission retransmits a 2xx to an INVITE until its ACK comes (§13.3.1.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from softswitch.sip.fields import Via
from softswitch.sip.headers import Headers
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Message, Request, Response
from softswitch.sip.transaction import (
    T1,
    T2,
    SendMessage,
    TransactionTimeout,
    derive_from_invite,
)
from softswitch.sip.uri import NameAddr, SipUri, Uri

DialogId = tuple[str, str, str]
_TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


@dataclass
class Dialog:
    """Call-ID, tags, CSeqs, remote target and route set of one dialog (§12).

    The messages given to it must have passed validate().
    """

    call_id: str
    local_tag: str
    remote_tag: str
    local_address: NameAddr
    remote_address: NameAddr
    remote_target: Uri
    local_contact: Uri
    local_via: Via
    route_set: list[NameAddr] = field(default_factory=list)
    local_cseq: int = 0
    remote_cseq: int | None = None
    confirmed: bool = False

    @property
    def id(self) -> DialogId:
        """(Call-ID, local tag, remote tag), the dialog ID of §12."""
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uac(
        cls, invite: Request, response: Response, *, local_contact: Uri, local_via: Via
    ) -> Dialog:
        """The dialog a 1xx-with-tag or 2xx to our INVITE creates (§12.1.2)."""
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=response.to.tag or "",
            local_address=_without_tag(invite.from_),
            remote_address=_without_tag(response.to),
            remote_target=_contact_uri(response, fallback=invite.uri),
            local_contact=local_contact,
            local_via=local_via,
            route_set=list(reversed(response.record_route)),
            local_cseq=invite.cseq.number,
            confirmed=200 <= response.status_code < 300,
        )

    @classmethod
    def as_uas(
        cls, invite: Request, *, local_tag: str, local_contact: Uri, local_via: Via
    ) -> Dialog:
        """The dialog our response with local_tag to a received INVITE creates (§12.1.1)."""
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.from_.tag or "",
            local_address=_without_tag(invite.to),
            remote_address=_without_tag(invite.from_),
            remote_target=_contact_uri(invite, fallback=invite.from_.uri),
            local_contact=local_contact,
            local_via=local_via,
            route_set=list(invite.record_route),
            remote_cseq=invite.cseq.number,
        )

    def create_request(
        self, method: str, ids: IdGenerator, *, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """A new request in the dialog: BYE, re-INVITE, UPDATE, INFO… (§12.2.1.1)."""
        self.local_cseq += 1
        return self._request(method, self.local_cseq, ids, body, content_type)

    def create_ack(
        self,
        invite_cseq: int,
        ids: IdGenerator,
        *,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """The ACK for a 2xx to the INVITE with CSeq invite_cseq (§13.2.2.4)."""
        return self._request("ACK", invite_cseq, ids, body, content_type)

    def _request(
        self, method: str, cseq: int, ids: IdGenerator, body: bytes, content_type: str | None
    ) -> Request:
        uri, routes = self._request_target()
        headers = Headers()
        headers.add("Via", str(self.local_via.with_param("branch", ids.branch())))
        for route in routes:
            headers.add("Route", str(route))
        headers.add("Max-Forwards", "70")
        headers.add("From", str(self.local_address.with_param("tag", self.local_tag)))
        headers.add("To", str(self.remote_address.with_param("tag", self.remote_tag)))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        if method in _TARGET_REFRESH:
            headers.add("Contact", f"<{self.local_contact}>")
        if content_type is not None:
            headers.add("Content-Type", content_type)
        return Request(method, uri, headers, body)

    def _request_target(self) -> tuple[Uri, list[NameAddr]]:
        """Request-URI and Route headers, for a loose or a strict first hop (§12.2.1.1)."""
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0].uri
        if not isinstance(first, SipUri) or first.lr:
            return self.remote_target, list(self.route_set)
        return first, [*self.route_set[1:], NameAddr(self.remote_target)]

    def receive_request(self, request: Request) -> bool:
        """Take a request of the remote party; False means out of order: answer 500 (§12.2.2)."""
        number = request.cseq.number
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_cseq is not None and number < self.remote_cseq:
                return False
            self.remote_cseq = number
        if request.method in _TARGET_REFRESH and request.contact:
            self.remote_target = request.contact[0].uri
        return True

    def receive_response(self, response: Response) -> None:
        """Take a response to a request of this dialog: 2xx confirm it and refresh the target."""
        if not 200 <= response.status_code < 300:
            return
        if response.cseq.method in _TARGET_REFRESH and response.contact:
            self.remote_target = response.contact[0].uri
        if not self.confirmed and response.cseq.method == "INVITE":
            self.route_set = list(reversed(response.record_route))  # §13.2.2.4
            self.confirmed = True


def _without_tag(address: NameAddr) -> NameAddr:
    params = tuple(pair for pair in address.params if pair[0].lower() != "tag")
    # not dataclasses.replace: it costs ~5 µs, twice per dialog (docs/adr/0009)
    return NameAddr(address.uri, address.display_name, params)


def _contact_uri(message: Message, *, fallback: Uri) -> Uri:
    """The first Contact URI; a message without one keeps the fallback target."""
    contacts = message.contact
    return contacts[0].uri if contacts else fallback


def build_cancel(invite: Request) -> Request:
    """The CANCEL of a pending INVITE we sent (§9.1): same Via branch, Route, To, From."""
    return derive_from_invite(invite, "CANCEL", invite.headers.get("to") or "")


def incoming_dialog_id(message: Message) -> DialogId:
    """The ID of the dialog a received in-dialog request or response belongs to (§12)."""
    if isinstance(message, Request):
        return (message.call_id, message.to.tag or "", message.from_.tag or "")
    return (message.call_id, message.from_.tag or "", message.to.tag or "")


class AnswerRetransmission:
    """The UAS core's retransmission of a 2xx to INVITE until the ACK (§13.3.1.4).

    It runs whatever the transport, because the ACK is end to end. TransactionTimeout("2xx")
    after 64*T1 without ACK means the session should be ended with a BYE.
    """

    def __init__(self, response: Response, now: float, *, t1: float = T1, t2: float = T2) -> None:
        self.response = response
        self._t2 = t2
        self._interval = t1
        self._next: float | None = now + t1
        self._give_up = now + 64 * t1

    def next_deadline(self) -> float | None:
        """When on_timer() must next be called, or None once stopped."""
        return None if self._next is None else min(self._next, self._give_up)

    def on_ack(self) -> None:
        """The ACK arrived: stop."""
        self._next = None

    def on_timer(self, now: float) -> list[SendMessage | TransactionTimeout]:
        """Retransmit when due, or report the missing ACK."""
        if self._next is None or now < min(self._next, self._give_up):
            return []
        if now >= self._give_up:
            self._next = None
            return [TransactionTimeout("2xx")]
        self._interval = min(2 * self._interval, self._t2)
        self._next = now + self._interval
        return [SendMessage(self.response)]
