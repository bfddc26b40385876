"""Routing a call across its gateway legs (SPEC §3.3 steps 5–6), before it is answered.

Each routing gateway of the plan is tried in turn on a new dialog (own Call-ID, tags, CSeq),
with a line of its capacity: the INVITE goes out, SS_MAPPING_GATEWAY_TIMEOUT runs until the
first response, then Timer C until a final one, and a failure (a timeout, a transport error, a
final error response) fails over to the next gateway — unless it was 486, or the gateway had
sent SDP and SS_SIP_STOP_SWITCH_AFTER_SDP is on. A leg given up on is CANCELled once it has
responded; a late 2xx from it is ACKed and BYEd. What a leg answers goes to the call
(`RoutedCall`); what happens after the answer is the in-dialog relay's (`call_relay.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.engine.clock import Timer
from softswitch.engine.sip_layer import ClientTransaction
from softswitch.engine.transport import Flow, flow_to
from softswitch.rules.cdr import CallRecord
from softswitch.rules.routing import RouteChoice
from softswitch.sip.dialog import Dialog
from softswitch.sip.message import Request, Response
from softswitch.sip.requests import new_request
from softswitch.sip.sdp import has_sdp
from softswitch.sip.transaction import TIMER_C
from softswitch.sip.uri import NameAddr, SipUri

if TYPE_CHECKING:
    from softswitch.engine.call import CallHost

logger = logging.getLogger(__name__)


class RoutedCall(Protocol):
    """What routing needs from its call (`call.Call`): the caller's INVITE and the call's
    record, whether it ended or is answered, and where a leg's outcome goes."""

    invite: Request
    record: CallRecord

    @property
    def ended(self) -> bool: ...

    @property
    def connected(self) -> bool: ...

    def progress(self, response: Response, early_media: bool) -> None: ...

    def leg_answered(self, leg: Leg, response: Response) -> None: ...

    def fail_to_caller(self, status: int, reason: int, source: Response | None = None) -> None: ...

    def supervise(self, step: Coroutine[Any, Any, None]) -> None: ...


@dataclass(eq=False, slots=True)
class Leg:
    """One attempt towards a routing gateway."""

    routing: GatewayRouting
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

    def on_response(self, response: Response) -> None:
        """The gateway's answer to this leg's INVITE (its client transaction's callback: a
        bound method, where two closures cost the cyclic collector six objects to scan for
        the 32 s the transaction lives, docs/adr/0009)."""
        self.routing.on_leg_response(self, response)

    def on_failure(self, reason: str) -> None:
        """The leg's INVITE timed out or could not be sent."""
        self.routing.on_leg_failure(self, reason)


class GatewayRouting:
    """The gateway legs of one call: which gateway is tried next, and what each one answers."""

    def __init__(self, call: RoutedCall, host: CallHost, choices: Iterable[RouteChoice]) -> None:
        self.call = call
        self.host = host
        self.switch = host.switch
        self.clock = host.clock
        self.legs: list[Leg] = []
        self.leg: Leg | None = None  # the leg in use: the last one tried
        # (status for the caller, end reason, the gateway's response if it gave that status)
        self.last_failure: tuple[int, int, Response | None] | None = None
        self.over = False  # the call ended: what a leg still says is late (see stop())
        self._choices = iter(choices)

    # Trying gateways ----------------------------------------------------------------------

    async def try_next(self) -> None:
        """Send the INVITE to the next usable gateway; the caller gets the last failure (or 503)
        when none is left."""
        call = self.call
        for choice in self._choices:
            if await self._try_gateway(choice) or call.ended:
                return
        if not call.ended:
            call.fail_to_caller(*(self.last_failure or (503, EndReason.NO_AVAILABLE_GATEWAY, None)))

    async def _try_gateway(self, choice: RouteChoice) -> bool:
        """Try one gateway: False if it is offline, full, does not resolve, or sending to it
        failed (the next one is tried); True once its INVITE is out."""
        gateway, host, call = choice.gateway, self.host, self.call
        if not host.gateways.is_online(gateway):
            return False
        address = await host.resolver.resolve(gateway.host)
        if address is None:
            call.record.routing_gateway = gateway.name
            self.last_failure = (503, EndReason.GATEWAY_UNRESOLVED, None)
            return False
        key = f"routing_gateway:{gateway.id}"
        if call.ended or not await host.capacity.acquire(key, gateway.capacity):
            return False
        if call.ended:
            host.capacity.release(key)
            return False
        legs = len(self.legs)
        try:
            self._send_leg(choice, key, address)
        except Exception:
            logger.exception(
                "call %s: sending to routing gateway %s failed", call.invite.call_id, gateway.name
            )
            self._drop_unsent_leg(key, legs)
            self.last_failure = (503, EndReason.INTERNAL_ERROR, None)
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
            self.host.capacity.release(capacity_key)

    def _send_leg(self, choice: RouteChoice, capacity_key: str, address: str) -> None:
        gateway, switch, call = choice.gateway, self.switch, self.call
        params = (("transport", "tcp"),) if gateway.transport == "tcp" else ()
        target = SipUri(host=gateway.host, user=choice.dialled, port=gateway.port, params=params)
        invite = new_request(
            "INVITE",
            target,
            via=switch.local_via(gateway.transport),
            from_=NameAddr(SipUri(host=switch.advertised[0], user=call.record.caller)),
            to=NameAddr(SipUri(host=gateway.host, user=choice.dialled, port=gateway.port)),
            ids=switch.ids,
            contact=switch.local_uri("b2bua", gateway.transport),
            body=call.invite.body,
            content_type=call.invite.headers.get("content-type"),
        )
        max_forwards = call.invite.max_forwards
        if max_forwards is not None:
            invite.headers.set("Max-Forwards", str(min(max_forwards - 1, 70)))
        leg = Leg(
            self,
            choice,
            invite,
            flow_to(gateway.transport, (address, gateway.port)),
            capacity_key,
        )
        self.legs.append(leg)
        self.leg = leg
        self.host.register_leg(leg)
        record = call.record
        record.routing_gateway = gateway.name
        record.callee_ip = f"{address}:{gateway.port}"
        record.clearing_account_id = gateway.clearing_account_id
        record.dialled = choice.dialled
        leg.client = switch.layer.send_request(
            invite,
            leg.flow,
            leg.on_response,
            leg.on_failure,
        )
        timeout = switch.parameter("SS_MAPPING_GATEWAY_TIMEOUT")
        leg.timer = self.clock.call_later(timeout, self._on_gateway_timeout, leg)

    # Gateway responses ------------------------------------------------------------------

    def on_leg_response(self, leg: Leg, response: Response) -> None:
        code = response.status_code
        self._first_response(leg, final=code >= 200)
        if leg.abandoned or self.over:
            self._late_response(leg, response)
        elif code < 200:
            self._provisional(leg, response)
        elif code < 300:
            self.call.leg_answered(leg, response)
        else:
            self._leg_failed(leg, code, code, response)

    def _first_response(self, leg: Leg, final: bool) -> None:
        """A response stops the leg's timer; the first one releases a CANCEL waiting for it,
        unless it is final: then there is nothing to cancel (§9.1)."""
        if leg.timer is not None:
            leg.timer.cancel()
            leg.timer = None
        leg.responded = True
        if leg.cancel_pending:
            leg.cancel_pending = False
            if not final:
                self._send_cancel(leg)

    def _late_response(self, leg: Leg, response: Response) -> None:
        """A gateway we gave up on answers after all: cancel it, or ACK and BYE its 2xx."""
        code = response.status_code
        if code < 200 and not leg.cancel_sent:
            self._send_cancel(leg)
        elif 200 <= code < 300:
            self.on_stray_2xx(leg, response)

    def _provisional(self, leg: Leg, response: Response) -> None:
        leg.timer = self.clock.call_later(TIMER_C, self._on_no_final_response, leg)
        if response.status_code == 100:
            return
        sdp = has_sdp(response)
        leg.sent_sdp = leg.sent_sdp or sdp
        self.call.progress(response, early_media=sdp)

    def _leg_failed(
        self, leg: Leg, status: int, reason: int, source: Response | None = None
    ) -> None:
        """A gateway failed (`source`: with that failure response): fail over unless 486, SDP
        seen (if so configured), or none left."""
        self._release_leg(leg)
        self.last_failure = (status, reason, source)
        stop = status == 486 or (
            leg.sent_sdp and self.switch.parameter("SS_SIP_STOP_SWITCH_AFTER_SDP")
        )
        if stop:
            self.call.fail_to_caller(status, reason, source)
        else:
            self.call.supervise(self.try_next())

    def on_leg_failure(self, leg: Leg, reason: str) -> None:
        """The transaction timed out (Timer B) or the transport failed."""
        if leg.abandoned or self.over or leg is not self.leg:
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
        if leg.responded or leg.abandoned or self.over:
            return
        leg.abandoned = True
        self._leg_failed(leg, 408, EndReason.GATEWAY_TIMEOUT)

    def _on_no_final_response(self, leg: Leg) -> None:
        """Timer C: the gateway responded but sent no final response in TIMER_C seconds.
        CANCEL it and fail (over) as on a 408 (RFC 3261 §16.8): it must not hold the caller
        and the lines for ever."""
        leg.timer = None
        if leg.abandoned or self.over:
            return
        leg.abandoned = True
        self._send_cancel(leg)
        self._leg_failed(leg, 408, EndReason.GATEWAY_TIMEOUT)

    def on_stray_2xx(self, leg: Leg, response: Response) -> None:
        """A 2xx from a leg we do not use (or a retransmission after the transaction ended)."""
        if leg is self.leg and not self.over and self.call.connected:
            self.call.leg_answered(leg, response)  # the answer again: ACKed again
            return
        self.ack_and_bye(leg, response)

    def ack_and_bye(self, leg: Leg, response: Response) -> None:
        """End the dialog a 2xx of `leg` set up and the call does not use: ACK it, BYE it."""
        switch = self.switch
        dialog = self.dialog(leg, response)
        switch.layer.send_stateless(dialog.create_ack(leg.invite.cseq.number, switch.ids), leg.flow)
        switch.layer.send_unanswered(dialog.create_request("BYE", switch.ids), leg.flow)

    def dialog(self, leg: Leg, response: Response) -> Dialog:
        """The dialog a leg's 2xx sets up with its gateway (we are its UAC)."""
        return Dialog.as_uac(
            leg.invite,
            response,
            local_contact=self.switch.local_uri("b2bua", leg.flow.transport),
            local_via=self.switch.local_via(leg.flow.transport),
        )

    # Ending -----------------------------------------------------------------------------

    def stop(self, connected: bool) -> None:
        """The call is over: stop the legs' timers, CANCEL every leg still ringing (all but
        the answered one if the call was `connected`) and give their lines back. From now on
        a leg's responses are late ones, answered here without the call."""
        self.over = True
        for leg in self.legs:
            if leg.timer is not None:
                leg.timer.cancel()
        for leg in self.legs:
            if leg is not self.leg or not connected:
                self._abandon(leg)
            self._release_leg(leg)

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
        self.switch.layer.cancel(leg.invite, leg.flow)

    def _release_leg(self, leg: Leg) -> None:
        if leg.holds_line:
            leg.holds_line = False
            self.host.capacity.release(leg.capacity_key)

    def dispose(self) -> None:
        """Drop the legs and the call (see `Call.dispose`). A leg's INVITE transaction may
        still deliver a late response for 32 s: it reaches `over` and the switch only."""
        for leg in self.legs:
            leg.client = None
            leg.timer = None
        self.legs, self.leg = [], None
        del self.call


def _pending(leg: Leg) -> bool:
    """Whether the gateway's INVITE is still waiting for its final response."""
    client = leg.client
    return client is not None and client.transaction.state.value in ("calling", "proceeding")
