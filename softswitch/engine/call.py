"""One call through the B2BUA (SPEC §3.3 steps 4–7): the caller's leg "a", gateway legs "b".

The caller's INVITE is answered on its own dialog (our To tag). The call takes a line of its
origin and reserves its money, then hands routing to its `GatewayRouting` (`call_routing.py`:
gateway legs, timeouts, CANCEL, failover), which reports provisional responses, the answer or
the last failure back here to be relayed to the caller. Once answered, a `DialogRelay`
(`call_relay.py`) relays BYE, re-INVITE and the other in-dialog requests side to side and
carries the end-to-end ACK. Whatever ends the call, `end()` runs once: lines released,
counters updated, the CDR journaled. The calls in progress are `call_manager.py`'s.
"""

from __future__ import annotations

from collections.abc import Coroutine
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.choices import CurrentCallOriginChoices, CurrentCallStateChoices
from softswitch.engine.call_relay import DialogRelay, copy_content
from softswitch.engine.call_routing import GatewayRouting, Leg
from softswitch.engine.capacity import CapacityTracker
from softswitch.engine.clock import Clock, Timer
from softswitch.engine.gateways import GatewayMonitor
from softswitch.engine.money import MoneyReserver, Reservation
from softswitch.engine.resolver import HostResolver
from softswitch.engine.sip_layer import ServerTransaction
from softswitch.engine.store import timestamp_to_datetime
from softswitch.rules.cdr import CallRecord
from softswitch.rules.charging import CallCharges, MoneyCheck, longest_call
from softswitch.rules.domain import Origin, PhoneAccount
from softswitch.rules.routing import RoutePlan
from softswitch.sip.dialog import Dialog, DialogId, incoming_dialog_id
from softswitch.sip.message import Request, Response, build_response

if TYPE_CHECKING:
    from softswitch.engine.switch import Switch

State = CurrentCallStateChoices
INTERNAL_STATUS = {
    EndReason.GATEWAY_TIMEOUT: 408,
    EndReason.NO_ROUTE: 503,
    EndReason.NO_AVAILABLE_GATEWAY: 503,
    EndReason.NO_GATEWAY_WITHIN_COST: 503,
    EndReason.ORIGIN_CAPACITY: 503,
}
# The switch hangs up a call this much before the last second it may last (what its money
# buys, or the longest call allowed, which its reservation pays for), so that the hold time,
# rounded up to whole seconds and measured by a timer that fires a little late, is never one
# second (and one period's fee) too many.
CUT_MARGIN = 0.25


class CallHost(Protocol):
    """What a call, its routing and its relay need from the calls in progress
    (`call_manager.CallManager`): the switch, the clock and the resources calls share (lines,
    money, gateway status, name resolution), and the bookkeeping a call reports to."""

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


class Call:
    """A call in progress: the caller's side, its state, its lines and money, and its end."""

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
        self.routing = GatewayRouting(self, manager, plan.choices)
        self.relay: DialogRelay | None = None  # once answered
        self.origin_key: str | None = None
        self.cancelled = False
        self.ended = False
        self.steps = 0  # its steps (start, failovers) running as tasks (CallManager.supervise)
        self.disposed = False
        self.started_concurrency = False
        self.max_duration_timer: Timer | None = None
        self.expiry_timer: Timer | None = None  # the INVITE's Expires
        self.money = money
        self.reservation: Reservation | None = None
        self.paid_seconds: int | None = None  # what the reserved money buys, at most the longest
        manager.register_dialog(self._a_dialog_id(), self, "a")

    # Starting ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Take a line of the origin, then try the first gateway. An INVITE with Expires that
        is still unanswered when it expires is given up on as if CANCELled (RFC 3261
        §13.3.1): 487 to the caller, CANCEL to the gateway, whichever it is by then."""
        expires = self.invite.expires
        if expires is not None:
            self.expiry_timer = self.clock.call_later(expires, self.cancel_from_caller)
        kind = "phone" if isinstance(self.origin, PhoneAccount) else "mapping_gateway"
        key = f"{kind}:{self.origin.id}"
        if not await self.manager.capacity.acquire(key, self.origin.capacity):
            return self.fail_to_caller(503, EndReason.ORIGIN_CAPACITY)
        self.origin_key = key
        if self.ended:
            return self._release_origin()
        if not await self._reserve_money():
            return self.fail_to_caller(403, EndReason.INSUFFICIENT_BALANCE)
        if self.watched:
            self.switch.counters.call_started(self.record.caller)
            self.started_concurrency = True
        if self.plan.failure is not None:
            return self.fail_to_caller(INTERNAL_STATUS[self.plan.failure], self.plan.failure)
        self.manager.changed(self)
        await self.routing.try_next()

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
        self.paid_seconds = longest_call(
            reservation.amount, money.rate, money.longest, money.precision
        )
        return True

    # What routing reports (call_routing.RoutedCall) ----------------------------------------

    @property
    def connected(self) -> bool:
        return self.state == State.CONNECTED

    def supervise(self, step: Coroutine[Any, Any, None]) -> None:
        """Run a step of this call (failover) as a task of the call manager's."""
        self.manager.supervise(self, step)

    def progress(self, response: Response, early_media: bool) -> None:
        """A gateway rings (or sends early media): relay its provisional response."""
        self.record.progressed(self.clock.now())
        self.server.respond(self._a_response(response.status_code, response))
        self.state = State.EARLY_MEDIA if early_media else State.RINGING
        self.manager.changed(self)

    def leg_answered(self, leg: Leg, response: Response) -> None:
        """The leg in use answered: connect the caller and start relaying in dialog. The same
        2xx again (a retransmission) is ACKed again; a 2xx of another dialog (forked behind the
        gateway) is ACKed and BYEd (RFC 3261 §13.2.2.4)."""
        if self.relay is not None:
            if incoming_dialog_id(response) == self.relay.gateway_dialog_id:
                self.relay.resend_ack("b", response)
            else:
                self.routing.ack_and_bye(leg, response)
            return
        switch, now = self.switch, self.clock.now()
        self.state = State.CONNECTED
        self.record.connect_time = now
        self.record.progressed(now)
        self.manager.answered(self.record)
        b_dialog = self.routing.dialog(leg, response)
        self.manager.register_dialog(b_dialog.id, self, "b")
        a_dialog = Dialog.as_uas(
            self.invite,
            local_tag=self.a_tag,
            local_via=switch.local_via(self.a_flow.transport),
            local_contact=switch.local_uri("b2bua", self.a_flow.transport),
        )
        self.relay = DialogRelay(
            self, self.manager, {"a": a_dialog, "b": b_dialog}, {"a": self.a_flow, "b": leg.flow}
        )
        answer = self._a_response(200, response)
        self.server.respond(answer)
        self.relay.expect_ack("a", answer, ack_other=("b", leg.invite.cseq.number))
        if self.watched:
            switch.counters.call_answered(self.record.callee)
        limit, reason = self._duration_limit()
        self.max_duration_timer = self.clock.call_later(limit, self.hang_up, reason)
        self.manager.changed(self)

    def _duration_limit(self) -> tuple[float, int]:
        """How long the answered call may last, and the end reason when it reaches that: what
        its reserved money buys (balance exhausted), or SS_SIP_NO_TIMER_REINVITE_INTERVAL (for
        a rated call, as it was when the call reserved the fee of that long a call)."""
        if self.paid_seconds is None:  # not rated: nothing reserved
            seconds = self.switch.parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL")
            reason = EndReason.MAX_DURATION
        else:
            seconds = self.paid_seconds
            exhausted = self.money is not None and seconds < self.money.longest
            reason = EndReason.BALANCE_EXHAUSTED if exhausted else EndReason.MAX_DURATION
        return max(seconds - CUT_MARGIN, 0), reason

    def fail_to_caller(self, status: int, reason: int, source: Response | None = None) -> None:
        """Nothing (more) to try: the caller gets the last failure, with the gateway's reason
        phrase and Reason headers (RFC 3326: the Q.850 cause) when a gateway's response gave
        it (`source`)."""
        if self.ended:
            return
        response = build_response(
            self.invite, status, source.reason if source else None, to_tag=self.a_tag
        )
        if source is not None:
            for value in source.headers.get_all("reason"):
                response.headers.add("Reason", value)
        self.server.respond(response)
        direction = EndDirection.CALLEE if reason > 0 else EndDirection.SERVER
        self.end(reason, direction)

    # Requests from the sides ------------------------------------------------------------

    def cancel_from_caller(self) -> None:
        """CANCEL while ringing (or the INVITE expired): 487 to the caller, CANCEL to the
        gateway, the call ends."""
        if self.state == State.CONNECTED or self.ended:
            return
        self.cancelled = True
        self.server.respond(build_response(self.invite, 487, to_tag=self.a_tag))
        self.end(487, EndDirection.CALLER)

    def cancel_in_dialog(self, side: str, invite_key: tuple[str, ...]) -> None:
        """`side` CANCELled a re-INVITE of its (the CANCEL is answered): relayed if pending."""
        if self.relay is not None:
            self.relay.cancel(side, invite_key)

    def on_ack(self, side: str, request: Request) -> None:
        """The ACK for a 2xx we sent to `side` (the answer, or a relayed re-INVITE's)."""
        if self.relay is not None:
            self.relay.on_ack(side, request)

    def on_in_dialog(self, side: str, request: Request, server: ServerTransaction) -> None:
        """BYE, re-INVITE, UPDATE, INFO… from one side: relayed once the call is answered."""
        if self.relay is not None:
            self.relay.on_request(side, request, server)
            return
        # Not answered: the caller hanging up is a CANCEL; anything else has no dialog yet.
        self.switch.respond(server, 200 if request.method == "BYE" else 481)
        if request.method == "BYE" and side == "a":
            self.cancel_from_caller()

    # Ending -----------------------------------------------------------------------------

    def crashed(self) -> None:
        """A step of this call raised (the manager logged it): end the call as the switch
        would, 503 to the caller (BYE both sides if answered), lines released, a CDR."""
        self.hang_up(EndReason.INTERNAL_ERROR)

    def hang_up(self, reason: int) -> None:
        """The switch ends the call (maximum duration, missing ACK, shutdown): BYE to both."""
        if self.ended:
            return
        if self.relay is not None:
            self.relay.bye("a")
            self.relay.bye("b")
        elif not self.cancelled:
            self.server.respond(build_response(self.invite, 503, to_tag=self.a_tag))
        self.end(reason, EndDirection.SERVER, by_switch=True)

    def end(self, reason: int, direction: int, by_switch: bool = False) -> None:
        """The call is over: release lines, update counters, journal the CDR — exactly once."""
        if self.ended:
            return
        self.ended = True
        record = self.record
        record.stop_time = self.clock.now()
        record.end_reason, record.end_direction = int(reason), int(direction)
        record.ended_by_switch = by_switch
        for timer in (self.max_duration_timer, self.expiry_timer):
            if timer is not None:
                timer.cancel()
        self.routing.stop(connected=self.connected)
        if self.relay is not None:
            self.relay.stop()
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
        if self.watched and self.routing.legs and self.record.connect_time is None:
            counters.call_unanswered(self.record.callee)

    def _release_origin(self) -> None:
        if self.origin_key is not None:
            self.manager.capacity.release(self.origin_key)
            self.origin_key = None

    # Helpers ----------------------------------------------------------------------------

    def _a_response(self, status: int, source: Response) -> Response:
        """A response to the caller's INVITE carrying the gateway's body (SDP unchanged). It
        makes the caller's (early) dialog, so it copies the INVITE's Record-Route (§12.1.1)."""
        response = build_response(self.invite, status, source.reason, to_tag=self.a_tag)
        for route in self.invite.headers.get_all("record-route"):
            response.headers.add("Record-Route", route)
        response.headers.add(
            "Contact", f"<{self.switch.local_uri('b2bua', self.a_flow.transport)}>"
        )
        copy_content(source, response)
        return response

    def _a_dialog_id(self) -> DialogId:
        return (self.invite.call_id, self.a_tag, self.invite.from_.tag or "")

    def dialog_ids(self) -> list[DialogId]:
        """Every dialog id under which the manager knows this call."""
        relay = self.relay
        return [self._a_dialog_id(), *([relay.gateway_dialog_id] if relay is not None else [])]

    def connections(self) -> set[int]:
        """TCP connections the call uses."""
        flows = [self.a_flow, *(leg.flow for leg in self.routing.legs[-1:])]
        return {flow.connection_id for flow in flows if flow.connection_id}

    def dispose(self) -> None:
        """Break the call's reference cycles once it has ended and none of its steps runs
        (`CallManager.finished`), so that reference counting frees it there and then.

        Legs point at their routing, the routing and the relay at the call, transactions'
        callbacks and timers at them: left as they are, a finished call is freed only by a full
        cyclic collection, which the engine's collector thresholds
        (runsipengine.GC_THRESHOLDS) make rare, and memory grows with every call (`make soak`
        measured +321 MB a minute at 250 calls/s). Kept whole for the 32 s its legs' INVITE
        transactions live, finished calls were most of what the collector scanned (ADR 0009).
        So the routing drops its legs and the call, the relay its dialogs and timers, and the
        call both of them; a leg's late 2xx needs only the leg and the switch.
        """
        if self.disposed:
            return
        self.disposed = True
        self.routing.dispose()
        del self.routing
        if self.relay is not None:
            self.relay.dispose()
            self.relay = None
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
