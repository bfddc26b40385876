"""The in-dialog relay of an answered call (SPEC §3.3 step 7): side "a" is the caller's dialog,
side "b" the answering gateway's.

A BYE from one side is answered and sent on to the other, and ends the call; re-INVITE,
UPDATE, INFO… are relayed to the other side and its answer relayed back. ACK for a 2xx is end
to end: a 2xx we send to a side is retransmitted until that side ACKs it (no ACK: the call is
hung up), and its ACK is what ACKs the other side's 2xx. Routing before the answer is
`call_routing.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.engine.clock import Timer
from softswitch.engine.sip_layer import ServerTransaction
from softswitch.engine.transport import Flow
from softswitch.sip.dialog import AnswerRetransmission, Dialog, DialogId
from softswitch.sip.message import Request, Response, build_response
from softswitch.sip.transaction import TIMER_C, SendMessage, TransactionTimeout

if TYPE_CHECKING:
    from softswitch.engine.call import CallHost

CONTENT_HEADERS = ("Content-Type", "Content-Disposition", "Content-Encoding")
# What a relayed in-dialog request carries over besides its body: the headers its method
# cannot do without (NOTIFY: RFC 6665 §8.2.1, §4.1.3; REFER: RFC 3515 §2.4.1; INFO: RFC 6086).
METHOD_HEADERS = ("Event", "Subscription-State", "Refer-To", "Referred-By", "Info-Package")


class RelayedCall(Protocol):
    """What the relay needs from its call (`call.Call`): whether it ended, and ending it."""

    @property
    def ended(self) -> bool: ...

    def hang_up(self, reason: int) -> None: ...

    def end(self, reason: int, direction: int, by_switch: bool = False) -> None: ...


@dataclass
class Answer:
    """A 2xx to an INVITE we retransmit until the ACK, and what to do when the ACK comes."""

    retransmission: AnswerRetransmission
    timer: Timer | None = None
    ack_other: tuple[str, int] | None = None  # (other side, its INVITE CSeq) to ACK on ACK


@dataclass
class Relay:
    """An in-dialog request relayed from one side to the other, waiting for the answer."""

    side: str
    server: ServerTransaction
    request: Request
    forwarded: Request
    answered: bool = False
    timer: Timer | None = None  # Timer C of a relayed re-INVITE
    provisional: bool = False  # a relayed re-INVITE got a provisional response: may be CANCELled
    given_up: bool = False  # a relayed re-INVITE CANCELled: a 2xx that crosses it is ACKed here


class DialogRelay:
    """The two dialogs of an answered call and what goes between them."""

    def __init__(
        self, call: RelayedCall, host: CallHost, dialogs: dict[str, Dialog], flows: dict[str, Flow]
    ) -> None:
        self.call = call
        self.clock = host.clock
        self.switch = host.switch
        self.dialogs = dialogs
        self.flows = flows
        self.answers: dict[str, Answer] = {}
        self.last_ack: dict[str, Request] = {}
        self.invite_pending: Relay | None = None  # a re-INVITE relayed, until its final answer

    @property
    def gateway_dialog_id(self) -> DialogId:
        return self.dialogs["b"].id

    # Requests from one side -------------------------------------------------------------

    def on_request(self, side: str, request: Request, server: ServerTransaction) -> None:
        """BYE, re-INVITE, UPDATE, INFO… from one side."""
        if not self.dialogs[side].receive_request(request):
            self.switch.respond(server, 500, [("Retry-After", "1")])
            return
        if request.method == "BYE":
            self.switch.respond(server, 200)
            self._hang_up_by(side)
        elif request.method == "INVITE" and self.invite_pending is not None:
            self._refuse_overlapping_invite(side, server, self.invite_pending)
        else:
            self._relay(side, request, server)

    def _refuse_overlapping_invite(
        self, side: str, server: ServerTransaction, pending: Relay
    ) -> None:
        """A re-INVITE while another is in progress (§14.2): 500 with Retry-After if it is the
        same side's, whose first is not answered yet; 491 if it crosses the one we relay to
        that side (glare)."""
        if pending.side == side:
            self.switch.respond(server, 500, [("Retry-After", "1")])
        else:
            self.switch.respond(server, 491)

    def _hang_up_by(self, side: str) -> None:
        self.bye(_other(side))
        self.call.end(200, EndDirection.CALLER if side == "a" else EndDirection.CALLEE)

    def bye(self, side: str) -> None:
        """Hang up on one side, ACKing first a 2xx of its that still waited for the other
        side's ACK: the switch ACKs every 2xx it receives (RFC 3261 §13.2.2.4)."""
        for answer in self.answers.values():
            if answer.ack_other is not None and answer.ack_other[0] == side:
                self._send_ack(side, answer.ack_other[1])
        request = self.dialogs[side].create_request("BYE", self.switch.ids)
        self.switch.layer.send_unanswered(request, self.flows[side])

    def _relay(self, side: str, request: Request, server: ServerTransaction) -> None:
        other = _other(side)
        forwarded = self.dialogs[other].create_request(
            request.method, self.switch.ids, body=request.body, **content_kwargs(request)
        )
        for name in METHOD_HEADERS:
            for value in request.headers.get_all(name):
                forwarded.headers.add(name, value)
        relay = Relay(side, server, request, forwarded)
        if request.method == "INVITE":
            self.invite_pending = relay
        self.switch.layer.send_request(
            forwarded,
            self.flows[other],
            lambda response: self._relay_response(relay, response),
            lambda reason: self._relay_failed(relay),
        )

    def _relay_response(self, relay: Relay, response: Response) -> None:
        code = response.status_code
        other = _other(relay.side)
        if code < 200 and relay is self.invite_pending:
            self._await_final(relay)
        if code == 100 or self.call.ended:
            return
        if relay.answered:  # a retransmitted 2xx to our re-INVITE: ACK it again
            if relay.given_up and 200 <= code < 300:  # a 2xx crossing our CANCEL: ACK it
                self._send_ack(other, relay.forwarded.cseq.number)
            else:
                self.resend_ack(other, response)
            return
        if code >= 200:
            self._answered(relay)
            self.dialogs[other].receive_response(response)
        reply = build_response(relay.request, code, response.reason)
        copy_content(response, reply)
        if 200 <= code < 300 and relay.request.method in ("INVITE", "UPDATE"):
            reply.headers.add("Contact", f"<{self.dialogs[relay.side].local_contact}>")
        relay.server.respond(reply)
        if relay.request.method == "INVITE" and 200 <= code < 300:
            self.expect_ack(relay.side, reply, ack_other=(other, relay.forwarded.cseq.number))

    def _relay_failed(self, relay: Relay) -> None:
        if not relay.answered and not self.call.ended:
            self._answered(relay)
            relay.server.respond(build_response(relay.request, 408))

    def _answered(self, relay: Relay) -> None:
        """A relayed request got its final answer: a re-INVITE is no longer in progress."""
        relay.answered = True
        if relay.timer is not None:
            relay.timer.cancel()
            relay.timer = None
        if self.invite_pending is relay:
            self.invite_pending = None

    def _await_final(self, relay: Relay) -> None:
        """(Re)start Timer C of a relayed re-INVITE: it got a provisional response."""
        relay.provisional = True
        if relay.timer is not None:
            relay.timer.cancel()
        relay.timer = self.clock.call_later(TIMER_C, self._no_final_response, relay)

    def _no_final_response(self, relay: Relay) -> None:
        """Timer C: the other side never ended the re-INVITE. CANCEL it (its transaction is
        dropped 64*T1 later) and answer 408 to the side that sent it."""
        relay.timer = None
        if relay is self.invite_pending:
            self._give_up(relay, 408)

    def cancel(self, side: str, invite_key: tuple[str, ...]) -> None:
        """`side` CANCELled its re-INVITE with that transaction key (the CANCEL is answered):
        487 to it, and the re-INVITE relayed to the other side is CANCELled (§9.2)."""
        pending = self.invite_pending
        if pending is not None and pending.side == side and pending.server.key == invite_key:
            self._give_up(pending, 487)

    def _give_up(self, relay: Relay, status: int) -> None:
        """CANCEL a relayed re-INVITE still in progress (once it got a provisional response,
        §9.1; else Timer B ends it) and answer `status` to its sender."""
        self._answered(relay)
        relay.given_up = True
        if relay.provisional:
            self.switch.layer.cancel(relay.forwarded, self.flows[_other(relay.side)])
        relay.server.respond(build_response(relay.request, status))

    # ACK and answer retransmission --------------------------------------------------------

    def on_ack(self, side: str, request: Request) -> None:
        """The ACK for a 2xx we sent to `side`: stop retransmitting, ACK the other side. An
        ACK of another 2xx (a late retransmission of an earlier one's) is not it."""
        answer = self.answers.get(side)
        if answer is None or request.cseq.number != answer.retransmission.response.cseq.number:
            return
        del self.answers[side]
        answer.retransmission.on_ack()
        if answer.timer is not None:
            answer.timer.cancel()
        if answer.ack_other is not None and not self.call.ended:
            other, cseq = answer.ack_other
            self._send_ack(other, cseq, request.body, **content_kwargs(request))

    def _send_ack(self, side: str, cseq: int, body: bytes = b"", **content: Any) -> None:
        """ACK the 2xx `side` sent to our INVITE of CSeq `cseq` (kept to ACK it again)."""
        ack = self.dialogs[side].create_ack(cseq, self.switch.ids, body=body, **content)
        self.last_ack[side] = ack
        self.switch.layer.send_stateless(ack, self.flows[side])

    def expect_ack(self, side: str, response: Response, ack_other: tuple[str, int]) -> None:
        """Retransmit a 2xx we sent to `side` until its ACK, which ACKs `ack_other`."""
        retransmission = AnswerRetransmission(response, self.clock.monotonic())
        answer = Answer(retransmission, ack_other=ack_other)
        self.answers[side] = answer
        self._schedule_answer(side, answer)

    def _schedule_answer(self, side: str, answer: Answer) -> None:
        deadline = answer.retransmission.next_deadline()
        if deadline is not None:
            answer.timer = self.clock.call_at(deadline, self._answer_timer, side, answer)

    def _answer_timer(self, side: str, answer: Answer) -> None:
        if self.answers.get(side) is not answer:
            return
        for action in answer.retransmission.on_timer(self.clock.monotonic()):
            if isinstance(action, SendMessage):
                self.switch.layer.send_stateless(action.message, self.flows[side])
            elif isinstance(action, TransactionTimeout):
                self.call.hang_up(EndReason.NO_ACK)  # the answer is still there to be ACKed
                self.answers.pop(side, None)
                return
        self._schedule_answer(side, answer)

    def resend_ack(self, side: str, response: Response) -> None:
        """A 2xx from `side` came again: send it the same ACK again."""
        ack = self.last_ack.get(side)
        if ack is not None and ack.cseq.number == response.cseq.number:
            self.switch.layer.send_stateless(ack, self.flows[side])

    # Ending -----------------------------------------------------------------------------

    def stop(self) -> None:
        """The call is over: no more retransmissions; a re-INVITE in progress is CANCELled
        and its sender gets 487 (§15.1.2)."""
        if self.invite_pending is not None:
            self._give_up(self.invite_pending, 487)
        for answer in self.answers.values():
            if answer.timer is not None:
                answer.timer.cancel()
        self.answers.clear()

    def dispose(self) -> None:
        """Drop the timers and dialogs (see `Call.dispose`)."""
        for answer in self.answers.values():
            answer.timer = None
        self.answers, self.dialogs, self.last_ack = {}, {}, {}
        self.invite_pending = None


def _other(side: str) -> str:
    return "b" if side == "a" else "a"


def copy_content(source: Response, target: Response) -> None:
    """Carry a response's body (SDP unchanged) and its content headers over to another."""
    if source.body:
        for name in CONTENT_HEADERS:
            value = source.headers.get(name)
            if value is not None:
                target.headers.add(name, value)
        target.body = source.body


def content_kwargs(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type")
    return {"content_type": content_type} if request.body and content_type else {}
