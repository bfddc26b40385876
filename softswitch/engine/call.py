"""One call through the B2BUA (SPEC §3.3 steps 4–7): the caller's leg "a", gateway legs "b".

The caller's INVITE is answered on its own dialog (our To tag); each routing gateway is tried
on a new dialog (own Call-ID, tags, CSeq). Provisional responses (with SDP) and the final answer
are relayed; ACK for 2xx is end to end (the gateway is ACKed when the caller ACKs); BYE, CANCEL,
re-INVITE and UPDATE are relayed. Failover follows SPEC §3.3 step 6. Whatever ends the call,
`end()` runs once: lines released, counters updated, the CDR journaled.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.choices import CurrentCallOriginChoices, CurrentCallStateChoices
from softswitch.engine.capacity import CapacityTracker
from softswitch.engine.clock import Clock, Timer
from softswitch.engine.gateways import GatewayMonitor
from softswitch.engine.money import MoneyReserver, Reservation
from softswitch.engine.resolver import HostResolver
from softswitch.engine.sip_layer import ClientTransaction, ServerTransaction
from softswitch.engine.store import timestamp_to_datetime
from softswitch.engine.transport import Flow
from softswitch.rules.cdr import CallRecord
from softswitch.rules.charging import CallCharges, MoneyCheck, longest_call
from softswitch.rules.domain import Origin, PhoneAccount
from softswitch.rules.routing import RouteChoice, RoutePlan
from softswitch.sip.dialog import AnswerRetransmission, Dialog, DialogId, build_cancel
from softswitch.sip.message import Request, Response, build_response
from softswitch.sip.requests import new_request
from softswitch.sip.sdp import has_sdp
from softswitch.sip.transaction import SendMessage, TransactionTimeout
from softswitch.sip.uri import NameAddr, SipUri

if TYPE_CHECKING:
    from softswitch.engine.switch import Switch

logger = logging.getLogger(__name__)
State = CurrentCallStateChoices
INTERNAL_STATUS = {
    EndReason.GATEWAY_TIMEOUT: 408,
    EndReason.NO_ROUTE: 503,
    EndReason.NO_AVAILABLE_GATEWAY: 503,
    EndReason.NO_GATEWAY_WITHIN_COST: 503,
    EndReason.ORIGIN_CAPACITY: 503,
}
CONTENT_HEADERS = ("Content-Type", "Content-Disposition", "Content-Encoding")
# The switch hangs up a call whose money runs out this much before the last second it paid
# for, so that the hold time, rounded up to whole seconds, is never one second too many.
BALANCE_CUT_MARGIN = 0.25


class CallHost(Protocol):
    """What a call needs from the calls in progress (`calls.CallManager`): the switch, the
    clock and the resources calls share (lines, money, gateway status, name resolution), and
    the bookkeeping a call reports to."""

    switch: Switch
    clock: Clock
    capacity: CapacityTracker
    money: MoneyReserver
    gateways: GatewayMonitor
    resolver: HostResolver

    def register_dialog(self, dialog_id: DialogId, call: Call, side: str) -> None: ...

    def register_leg(self, leg: Leg) -> None: ...

    def supervise(self, call: Call, step: Coroutine[Any, Any, None]) -> None: ...

    def changed(self, call: Call) -> None: ...

    def answered(self, record: CallRecord) -> None: ...

    def write_cdr(self, record: CallRecord) -> CallCharges | None: ...

    def finished(self, call: Call) -> None: ...


@dataclass(eq=False)
class Leg:
    """One attempt towards a routing gateway."""

    call: Call
    choice: RouteChoice
    invite: Request
    flow: Flow
    capacity_key: str
    client: ClientTransaction | None = None
    responded: bool = False
    sent_sdp: bool = False
    abandoned: bool = False  # failed over or cancelled: a late 2xx is ACKed and BYEd
    cancel_pending: bool = False
    cancel_sent: bool = False
    holds_line: bool = True
    timer: Timer | None = None

    @property
    def call_id(self) -> str:
        return self.invite.call_id


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


class Call:
    """A call in progress and its B2BUA state."""

    def __init__(
        self,
        manager: CallHost,
        server: ServerTransaction,
        record: CallRecord,
        origin: Origin,
        plan: RoutePlan,
        watched: bool,
        money: MoneyCheck | None = None,
    ) -> None:
        self.manager = manager
        self.switch = manager.switch
        self.clock = manager.clock
        self.server = server
        assert server.request is not None  # an INVITE transaction keeps its request
        self.invite: Request = server.request
        self.a_flow = server.flow
        self.record = record
        self.origin = origin
        self.plan = plan
        self.watched = watched
        self.a_tag = self.switch.ids.tag()
        self.state = State.ROUTING
        self.legs: list[Leg] = []
        self.leg: Leg | None = None
        self.dialogs: dict[str, Dialog] = {}
        self.answers: dict[str, Answer] = {}
        self.last_ack: dict[str, Request] = {}
        self.last_failure: tuple[int, int] | None = None  # (status for the caller, end reason)
        self.origin_key: str | None = None
        self.cancelled = False
        self.ended = False
        self.started_concurrency = False
        self.max_duration_timer: Timer | None = None
        self.money = money
        self.reservation: Reservation | None = None
        self.paid_seconds: int | None = None  # what the reserved money buys, if less than allowed
        self._choices = iter(plan.choices)
        manager.register_dialog(self._a_dialog_id(), self, "a")

    # Routing ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Take a line of the origin, then try the first gateway."""
        kind = "phone" if isinstance(self.origin, PhoneAccount) else "mapping_gateway"
        key = f"{kind}:{self.origin.id}"
        if not await self.manager.capacity.acquire(key, self.origin.capacity):
            return self._fail_to_caller(503, EndReason.ORIGIN_CAPACITY)
        self.origin_key = key
        if self.ended:
            return self._release_origin()
        if not await self._reserve_money():
            return self._fail_to_caller(403, EndReason.INSUFFICIENT_BALANCE)
        if self.watched:
            self.switch.counters.call_started(self.record.caller)
            self.started_concurrency = True
        if self.plan.failure is not None:
            return self._fail_to_caller(INTERNAL_STATUS[self.plan.failure], self.plan.failure)
        self.manager.changed(self)
        await self._try_next()

    async def _reserve_money(self) -> bool:
        """Reserve what the call may spend (SPEC §8.3); False if the account cannot pay for
        the first period. Unrated calls and clearing accounts reserve nothing."""
        money = self.money
        if money is None or money.unlimited or money.rate is None:
            return True
        account = self.switch.config.account(self.origin.account_id)
        if account is None:
            return False
        reservation = await self.manager.money.reserve(
            account.id, account.spendable, money.minimum, money.wanted
        )
        if reservation is None:
            return False
        if self.ended:  # the caller gave up meanwhile
            self.manager.money.release(reservation)
            return True
        self.reservation = reservation
        longest = self.switch.parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL")
        precision = self.switch.parameter("SERVER_BILLING_FEE_PRECISTION")
        paid = longest_call(reservation.amount, money.rate, longest, precision)
        self.paid_seconds = paid if paid < longest else None
        return True

    async def _try_next(self) -> None:
        """Send the INVITE to the next usable gateway; the caller gets the last failure (or 503)
        when none is left."""
        for choice in self._choices:
            if await self._try_gateway(choice) or self.ended:
                return
        if not self.ended:
            status, reason = self.last_failure or (503, EndReason.NO_AVAILABLE_GATEWAY)
            self._fail_to_caller(status, reason)

    async def _try_gateway(self, choice: RouteChoice) -> bool:
        """Try one gateway: False if it is offline, full, does not resolve, or sending to it
        failed (the next one is tried); True once its INVITE is out."""
        gateway = choice.gateway
        if not self.manager.gateways.is_online(gateway):
            return False
        address = await self.manager.resolver.resolve(gateway.host)
        if address is None:
            self.record.routing_gateway = gateway.name
            self.last_failure = (503, EndReason.GATEWAY_UNRESOLVED)
            return False
        key = f"routing_gateway:{gateway.id}"
        if self.ended or not await self.manager.capacity.acquire(key, gateway.capacity):
            return False
        if self.ended:
            self.manager.capacity.release(key)
            return False
        legs = len(self.legs)
        try:
            self._send_leg(choice, key, address)
        except Exception:
            logger.exception(
                "call %s: sending to routing gateway %s failed", self.invite.call_id, gateway.name
            )
            self._drop_unsent_leg(key, legs)
            self.last_failure = (503, EndReason.INTERNAL_ERROR)
            return False
        return True

    def _drop_unsent_leg(self, capacity_key: str, legs_before: int) -> None:
        """Give back the line of an attempt whose INVITE could not be sent."""
        if len(self.legs) > legs_before:
            leg = self.legs[-1]
            leg.abandoned = True
            if leg.timer is not None:
                leg.timer.cancel()
                leg.timer = None
            self._release_leg(leg)
        else:
            self.manager.capacity.release(capacity_key)

    def _send_leg(self, choice: RouteChoice, capacity_key: str, address: str) -> None:
        gateway, switch = choice.gateway, self.switch
        params = (("transport", "tcp"),) if gateway.transport == "tcp" else ()
        target = SipUri(host=gateway.host, user=choice.dialled, port=gateway.port, params=params)
        invite = new_request(
            "INVITE",
            target,
            via=switch.local_via(gateway.transport),
            from_=NameAddr(SipUri(host=switch.advertised[0], user=self.record.caller)),
            to=NameAddr(SipUri(host=gateway.host, user=choice.dialled, port=gateway.port)),
            ids=switch.ids,
            contact=switch.local_uri("b2bua", gateway.transport),
            body=self.invite.body,
            content_type=self.invite.headers.get("content-type"),
        )
        max_forwards = self.invite.max_forwards
        if max_forwards is not None:
            invite.headers.set("Max-Forwards", str(min(max_forwards - 1, 70)))
        leg = Leg(
            self,
            choice,
            invite,
            Flow(gateway.transport, (address, gateway.port)),
            capacity_key,
        )
        self.legs.append(leg)
        self.leg = leg
        self.manager.register_leg(leg)
        self.record.routing_gateway = gateway.name
        self.record.callee_ip = f"{address}:{gateway.port}"
        self.record.clearing_account_id = gateway.clearing_account_id
        self.record.dialled = choice.dialled
        leg.client = switch.layer.send_request(
            invite,
            leg.flow,
            lambda response: self._on_leg_response(leg, response),
            lambda reason: self._on_leg_failure(leg, reason),
        )
        timeout = switch.parameter("SS_MAPPING_GATEWAY_TIMEOUT")
        leg.timer = self.clock.call_later(timeout, self._on_gateway_timeout, leg)

    # Gateway responses ------------------------------------------------------------------

    def _on_leg_response(self, leg: Leg, response: Response) -> None:
        code = response.status_code
        self._first_response(leg)
        if leg.abandoned or self.ended:
            self._late_response(leg, response)
        elif code < 200:
            self._provisional(leg, response)
        elif code < 300:
            self._answered(leg, response)
        else:
            self._leg_failed(leg, code, code)

    def _first_response(self, leg: Leg) -> None:
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        leg.responded = True
        if leg.cancel_pending:
            self._send_cancel(leg)

    def _late_response(self, leg: Leg, response: Response) -> None:
        """A gateway we gave up on answers after all: cancel it, or ACK and BYE its 2xx."""
        code = response.status_code
        if code < 200 and not leg.cancel_sent:
            self._send_cancel(leg)
        elif 200 <= code < 300:
            self.on_stray_2xx(leg, response)

    def _provisional(self, leg: Leg, response: Response) -> None:
        if response.status_code == 100:
            return
        self.record.progressed(self.clock.now())
        sdp = has_sdp(response)
        leg.sent_sdp = leg.sent_sdp or sdp
        self.server.respond(self._a_response(response.status_code, response))
        self.state = State.EARLY_MEDIA if sdp else State.RINGING
        self.manager.changed(self)

    def _answered(self, leg: Leg, response: Response) -> None:
        if self.state == State.CONNECTED:
            self._resend_ack("b", response)  # a retransmitted 2xx: ACK it again
            return
        switch, now = self.switch, self.clock.now()
        self.state = State.CONNECTED
        self.record.connect_time = now
        self.record.progressed(now)
        self.manager.answered(self.record)
        b_dialog = Dialog.as_uac(
            leg.invite,
            response,
            local_contact=switch.local_uri("b2bua", leg.flow.transport),
            local_via=switch.local_via(leg.flow.transport),
        )
        self.dialogs["b"] = b_dialog
        self.manager.register_dialog(b_dialog.id, self, "b")
        self.dialogs["a"] = Dialog.as_uas(
            self.invite,
            local_tag=self.a_tag,
            local_via=switch.local_via(self.a_flow.transport),
            local_contact=switch.local_uri("b2bua", self.a_flow.transport),
        )
        answer = self._a_response(200, response)
        self.server.respond(answer)
        self._expect_ack("a", answer, ack_other=("b", leg.invite.cseq.number))
        if self.watched:
            switch.counters.call_answered(self.record.callee)
        limit, reason = self._duration_limit()
        self.max_duration_timer = self.clock.call_later(limit, self.hang_up, reason)
        self.manager.changed(self)

    def _duration_limit(self) -> tuple[float, int]:
        """How long the answered call may last, and the end reason when it reaches that: what
        its reserved money buys (balance exhausted), or SS_SIP_NO_TIMER_REINVITE_INTERVAL."""
        if self.paid_seconds is not None:
            return max(self.paid_seconds - BALANCE_CUT_MARGIN, 0), EndReason.BALANCE_EXHAUSTED
        return self.switch.parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL"), EndReason.MAX_DURATION

    def _leg_failed(self, leg: Leg, status: int, reason: int) -> None:
        """A gateway failed: fail over unless 486, SDP seen (if so configured), or none left."""
        self._release_leg(leg)
        self.last_failure = (status, reason)
        stop = status == 486 or (
            leg.sent_sdp and self.switch.parameter("SS_SIP_STOP_SWITCH_AFTER_SDP")
        )
        if stop:
            self._fail_to_caller(status, reason)
        else:
            self.manager.supervise(self, self._try_next())

    def _on_leg_failure(self, leg: Leg, reason: str) -> None:
        """The transaction timed out (Timer B) or the transport failed."""
        if leg.abandoned or self.ended or leg is not self.leg:
            return
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        if reason == "timeout":
            self._leg_failed(leg, 408, EndReason.GATEWAY_TIMEOUT)
        else:
            self._leg_failed(leg, 503, EndReason.GATEWAY_TIMEOUT)

    def _on_gateway_timeout(self, leg: Leg) -> None:
        """SS_MAPPING_GATEWAY_TIMEOUT without any response: give up on this gateway."""
        leg.timer = None
        if leg.responded or leg.abandoned or self.ended:
            return
        leg.abandoned = True
        self._leg_failed(leg, 408, EndReason.GATEWAY_TIMEOUT)

    def on_stray_2xx(self, leg: Leg, response: Response) -> None:
        """A 2xx from a leg we do not use (or a retransmission after the transaction ended)."""
        if leg is self.leg and self.state == State.CONNECTED and not self.ended:
            self._resend_ack("b", response)
            return
        switch = self.switch
        dialog = Dialog.as_uac(
            leg.invite,
            response,
            local_contact=switch.local_uri("b2bua", leg.flow.transport),
            local_via=switch.local_via(leg.flow.transport),
        )
        switch.layer.send_stateless(dialog.create_ack(leg.invite.cseq.number, switch.ids), leg.flow)
        self._send_in_dialog(dialog.create_request("BYE", switch.ids), leg.flow)

    # Caller side ------------------------------------------------------------------------

    def cancel_from_caller(self) -> None:
        """CANCEL while ringing: 487 to the caller, CANCEL to the gateway, the call ends."""
        if self.state == State.CONNECTED or self.ended:
            return
        self.cancelled = True
        self.server.respond(build_response(self.invite, 487, to_tag=self.a_tag))
        self.end(487, EndDirection.CALLER)

    def on_ack(self, side: str, request: Request) -> None:
        """The ACK for a 2xx we sent to `side`: stop retransmitting, ACK the other side."""
        answer = self.answers.pop(side, None)
        if answer is None:
            return
        answer.retransmission.on_ack()
        if answer.timer is not None:
            answer.timer.cancel()
        if answer.ack_other is not None and not self.ended:
            other, cseq = answer.ack_other
            dialog = self.dialogs[other]
            content = _content_kwargs(request)
            ack = dialog.create_ack(cseq, self.switch.ids, body=request.body, **content)
            self.last_ack[other] = ack
            self.switch.layer.send_stateless(ack, self._flow(other))

    def on_in_dialog(self, side: str, request: Request, server: ServerTransaction) -> None:
        """BYE, re-INVITE, UPDATE, INFO… from one side."""
        dialog = self.dialogs.get(side)
        if dialog is None:  # the caller hangs up before the answer: treat it as a CANCEL
            self.switch.respond(server, 200 if request.method == "BYE" else 481)
            if request.method == "BYE" and side == "a":
                self.cancel_from_caller()
            return
        if not dialog.receive_request(request):
            self.switch.respond(server, 500, [("Retry-After", "1")])
            return
        if request.method == "BYE":
            self.switch.respond(server, 200)
            self._hang_up_by(side)
        else:
            self._relay(side, request, server)

    def _hang_up_by(self, side: str) -> None:
        other = "b" if side == "a" else "a"
        self._send_in_dialog(
            self.dialogs[other].create_request("BYE", self.switch.ids), self._flow(other)
        )
        self.end(200, EndDirection.CALLER if side == "a" else EndDirection.CALLEE)

    def crashed(self) -> None:
        """A step of this call raised (the manager logged it): end the call as the switch
        would, 503 to the caller (BYE both sides if answered), lines released, a CDR."""
        self.hang_up(EndReason.INTERNAL_ERROR)

    def hang_up(self, reason: int) -> None:
        """The switch ends the call (maximum duration, missing ACK, shutdown): BYE to both."""
        if self.ended:
            return
        if self.state == State.CONNECTED:
            for side in ("a", "b"):
                request = self.dialogs[side].create_request("BYE", self.switch.ids)
                self._send_in_dialog(request, self._flow(side))
        elif not self.cancelled:
            self.server.respond(build_response(self.invite, 503, to_tag=self.a_tag))
        self.end(reason, EndDirection.SERVER, by_switch=True)

    # In-dialog relay --------------------------------------------------------------------

    def _relay(self, side: str, request: Request, server: ServerTransaction) -> None:
        other = "b" if side == "a" else "a"
        forwarded = self.dialogs[other].create_request(
            request.method, self.switch.ids, body=request.body, **_content_kwargs(request)
        )
        relay = Relay(side, server, request, forwarded)
        self.switch.layer.send_request(
            forwarded,
            self._flow(other),
            lambda response: self._relay_response(relay, response),
            lambda reason: self._relay_failed(relay),
        )

    def _relay_response(self, relay: Relay, response: Response) -> None:
        code = response.status_code
        other = "b" if relay.side == "a" else "a"
        if code == 100 or self.ended:
            return
        if relay.answered:  # a retransmitted 2xx to our re-INVITE: ACK it again
            self._resend_ack(other, response)
            return
        if code >= 200:
            relay.answered = True
            self.dialogs[other].receive_response(response)
        reply = build_response(relay.request, code, response.reason)
        self._copy_content(response, reply)
        if 200 <= code < 300 and relay.request.method in ("INVITE", "UPDATE"):
            reply.headers.add("Contact", f"<{self.dialogs[relay.side].local_contact}>")
        relay.server.respond(reply)
        if relay.request.method == "INVITE" and 200 <= code < 300:
            self._expect_ack(relay.side, reply, ack_other=(other, relay.forwarded.cseq.number))

    def _relay_failed(self, relay: Relay) -> None:
        if not relay.answered and not self.ended:
            relay.answered = True
            relay.server.respond(build_response(relay.request, 408))

    # Answer retransmission ----------------------------------------------------------------

    def _expect_ack(self, side: str, response: Response, ack_other: tuple[str, int]) -> None:
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
                self.switch.layer.send_stateless(action.message, self._flow(side))
            elif isinstance(action, TransactionTimeout):
                self.answers.pop(side, None)
                self.hang_up(EndReason.NO_ACK)
                return
        self._schedule_answer(side, answer)

    def _resend_ack(self, side: str, response: Response) -> None:
        ack = self.last_ack.get(side)
        if ack is not None and ack.cseq.number == response.cseq.number:
            self.switch.layer.send_stateless(ack, self._flow(side))

    # Ending -----------------------------------------------------------------------------

    def _fail_to_caller(self, status: int, reason: int) -> None:
        """Nothing (more) to try: the caller gets the last failure."""
        if self.ended:
            return
        self.server.respond(build_response(self.invite, status, to_tag=self.a_tag))
        direction = EndDirection.CALLEE if reason > 0 else EndDirection.SERVER
        self.end(reason, direction)

    def end(self, reason: int, direction: int, by_switch: bool = False) -> None:
        """The call is over: release lines, update counters, journal the CDR — exactly once."""
        if self.ended:
            return
        self.ended = True
        record = self.record
        record.stop_time = self.clock.now()
        record.end_reason, record.end_direction = int(reason), int(direction)
        record.ended_by_switch = by_switch and record.connect_time is not None
        self._stop_timers()
        for leg in self.legs:
            if leg is not self.leg or self.state != State.CONNECTED:
                self._abandon(leg)
            self._release_leg(leg)
        self._release_origin()
        self._count_end()
        charges = self.manager.write_cdr(record)
        self._settle_money(charges.fee if charges is not None else Decimal(0))
        self.manager.finished(self)

    def _settle_money(self, fee: Decimal) -> None:
        """Release the call's reservation: once its CDR is in the database if it charged a
        fee (until then the money is in neither the balance nor free), else now."""
        if self.reservation is not None:
            flow_no = self.record.flow_no if fee > 0 else None
            self.manager.money.settle(self.reservation, flow_no, fee)
            self.reservation = None

    def _count_end(self) -> None:
        counters = self.switch.counters
        if self.started_concurrency:
            counters.call_ended(self.record.caller)
        if self.watched and self.legs and self.record.connect_time is None:
            counters.call_unanswered(self.record.callee)

    def _abandon(self, leg: Leg) -> None:
        leg.abandoned = True
        if leg.responded and not leg.cancel_sent and _pending(leg):
            self._send_cancel(leg)
        elif not leg.responded:
            leg.cancel_pending = True

    def _send_cancel(self, leg: Leg) -> None:
        leg.cancel_pending = False
        if leg.cancel_sent:
            return
        leg.cancel_sent = True
        self._send_in_dialog(build_cancel(leg.invite), leg.flow)

    def _send_in_dialog(self, request: Request, flow: Flow) -> None:
        """Send a request whose answer we do not wait for (BYE, CANCEL)."""
        self.switch.layer.send_request(request, flow, lambda response: None, lambda reason: None)

    def _release_leg(self, leg: Leg) -> None:
        if leg.holds_line:
            leg.holds_line = False
            self.manager.capacity.release(leg.capacity_key)

    def _release_origin(self) -> None:
        if self.origin_key is not None:
            self.manager.capacity.release(self.origin_key)
            self.origin_key = None

    def _stop_timers(self) -> None:
        timers = [
            self.max_duration_timer,
            *(leg.timer for leg in self.legs),
            *(answer.timer for answer in self.answers.values()),
        ]
        for timer in timers:
            if timer is not None:
                timer.cancel()
        self.answers.clear()

    # Helpers ----------------------------------------------------------------------------

    def _a_response(self, status: int, source: Response) -> Response:
        """A response to the caller's INVITE carrying the gateway's body (SDP unchanged)."""
        response = build_response(self.invite, status, source.reason, to_tag=self.a_tag)
        response.headers.add(
            "Contact", f"<{self.switch.local_uri('b2bua', self.a_flow.transport)}>"
        )
        self._copy_content(source, response)
        return response

    @staticmethod
    def _copy_content(source: Response, target: Response) -> None:
        if source.body:
            for name in CONTENT_HEADERS:
                value = source.headers.get(name)
                if value is not None:
                    target.headers.add(name, value)
            target.body = source.body

    def _flow(self, side: str) -> Flow:
        if side == "a":
            return self.a_flow
        assert self.leg is not None
        return self.leg.flow

    def _a_dialog_id(self) -> tuple[str, str, str]:
        return (self.invite.call_id, self.a_tag, self.invite.from_.tag or "")

    def dialog_ids(self) -> list[tuple[str, str, str]]:
        """Every dialog id under which the manager knows this call."""
        return [self._a_dialog_id(), *(d.id for side, d in self.dialogs.items() if side == "b")]

    def connections(self) -> set[int]:
        """TCP connections the call uses."""
        flows = [self.a_flow, *(leg.flow for leg in self.legs[-1:])]
        return {flow.connection_id for flow in flows if flow.connection_id}

    def dispose(self) -> None:
        """Break the call's reference cycles once nothing will use it again.

        Legs point at their call, transactions' callbacks and timers at the call or its legs:
        left as they are, a finished call is freed only by a full cyclic collection, which the
        engine's collector thresholds (runsipengine.GC_THRESHOLDS) make rare, and memory grows
        with every call (`make soak` measured +321 MB a minute at 250 calls/s).
        """
        for leg in self.legs:
            leg.client = None
            leg.timer = None
        for answer in self.answers.values():
            answer.timer = None
        self.legs, self.leg, self.answers, self.dialogs, self.last_ack = [], None, {}, {}, {}
        self.max_duration_timer = None

    def current_call_row(self) -> dict[str, Any]:
        """This call as a CurrentCall row."""
        record = self.record
        origin_type = (
            CurrentCallOriginChoices.PHONE
            if record.phone
            else CurrentCallOriginChoices.MAPPING_GATEWAY
        )
        return {
            "call_id": record.call_id[:255],
            "caller": record.caller,
            "callee": record.callee,
            "caller_ip": record.caller_ip,
            "origin_type": origin_type,
            "origin": record.phone or record.mapping_gateway,
            "routing_gateway": record.routing_gateway,
            "state": self.state,
            "started_at": timestamp_to_datetime(record.start_time),
            "connected_at": timestamp_to_datetime(record.connect_time)
            if record.connect_time
            else None,
        }


def _pending(leg: Leg) -> bool:
    """Whether the gateway's INVITE is still waiting for its final response."""
    client = leg.client
    return client is not None and client.transaction.state.value in ("calling", "proceeding")


def _content_kwargs(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type")
    return {"content_type": content_type} if request.body and content_type else {}
