"""Call admission (SPEC §3.3 steps 1–4) and the registry of calls in progress.

For every new INVITE: identify the source (phone by digest, mapping gateway by address, else an
illegal call), count the attempt for the dynamic blacklist, screen the numbers, enforce lock and
line limit, plan the route, and hand the call to a `Call` (the B2BUA relay, `call.py`). In-dialog
requests, CANCEL, ACK and stray responses are routed to the call they belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from billing.choices import CdrBillingModeChoices as BillingMode
from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.choices import CdrEndReasonChoices as EndReason
from billing.flow_numbers import FlowNumberGenerator
from softswitch.engine import store
from softswitch.engine.call import Call, Leg
from softswitch.engine.capacity import CapacityTracker
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.gateways import GatewayMonitor
from softswitch.engine.money import MoneyReserver
from softswitch.engine.resolver import HostResolver
from softswitch.engine.transport import Flow
from softswitch.rules.cdr import CallRecord, cdr_row, should_record
from softswitch.rules.charging import CallCharges, MoneyCheck, check_money, rate_record
from softswitch.rules.domain import Origin, PhoneAccount
from softswitch.rules.routing import plan_route, route_pricing
from softswitch.rules.screening import screen_call
from softswitch.sip.dialog import DialogId, incoming_dialog_id
from softswitch.sip.digest import DigestResult, parse_credentials
from softswitch.sip.message import Request, Response
from softswitch.sip.transaction import cancel_target_key
from softswitch.sip.uri import SipUri

if TYPE_CHECKING:
    from softswitch.engine.switch import Switch

logger = logging.getLogger(__name__)

# A finished call's legs stay known this long, so that a late 2xx of one is still ACKed and
# BYEd (64 × T1, the life of an INVITE client transaction).
FORGET_LEGS_SECONDS = 32.0
REJECTION_STATUS = {  # what the caller gets for a decision of the switch
    EndReason.NOT_REGISTERED: 403,
    EndReason.ORIGIN_LOCKED: 403,
    EndReason.ORIGIN_CAPACITY: 503,
    EndReason.NO_ROUTE: 503,
    EndReason.NO_AVAILABLE_GATEWAY: 503,
}


def user_of(uri: Any) -> str:
    """The user part of a SIP URI (the number), or ""."""
    return (uri.unescaped_user or "") if isinstance(uri, SipUri) else ""


def dialled_number(request: Request) -> str:
    """The callee as dialled: the Request-URI's user, else the To user."""
    return user_of(request.uri) or user_of(request.to.uri)


class CallManager:
    """Admits new calls and routes in-dialog traffic to the calls in progress."""

    def __init__(
        self, switch: Switch, journal: CdrJournal, node: str, node_id: int, executor: Executor
    ) -> None:
        self.switch = switch
        self.clock = switch.clock
        self.journal = journal
        self.node = node
        self.executor = executor
        self.flow_numbers = FlowNumberGenerator(node_id)
        self.capacity = CapacityTracker(switch.counters.redis, node)
        self.money = MoneyReserver(switch.counters.redis, node, self.clock)
        self.resolver = HostResolver(clock=self.clock)
        self.gateways = GatewayMonitor(switch, self.resolver)
        self.by_invite: dict[tuple[str, ...], Call] = {}
        self.by_dialog: dict[DialogId, tuple[Call, str]] = {}
        self.legs_by_call_id: dict[str, Leg] = {}
        self.calls: set[Call] = set()
        self._changed: set[Call] = set()
        self._ended: list[str] = []
        self.accepting = True

    # Entry points -----------------------------------------------------------------------

    def on_request(self, request: Request, flow: Flow) -> None:
        """INVITE (new or in dialog), CANCEL, BYE and other in-dialog requests."""
        if request.method == "CANCEL":
            self._cancel(request, flow)
        elif request.to.tag:
            self._in_dialog(request, flow)
        elif request.method == "INVITE":
            self._new_invite(request, flow)
        else:
            self._no_dialog(request, flow)

    def on_ack(self, request: Request, flow: Flow) -> None:
        """An ACK for a 2xx (ours to the caller, or a re-INVITE's)."""
        found = self.by_dialog.get(incoming_dialog_id(request))
        if found is not None:
            call, side = found
            call.on_ack(side, request)

    def on_stray_response(self, response: Response, flow: Flow) -> None:
        """A 2xx for a gateway leg whose transaction is gone: ACK it (and BYE it if abandoned)."""
        leg = self.legs_by_call_id.get(response.call_id)
        if leg is not None and 200 <= response.status_code < 300:
            leg.call.on_stray_2xx(leg, response)

    # New calls --------------------------------------------------------------------------

    def _new_invite(self, request: Request, flow: Flow) -> None:
        switch = self.switch
        if not self.accepting:
            switch.respond(switch.layer.server_transaction(request, flow), 503)
            return
        caller, callee = user_of(request.from_.uri), dialled_number(request)
        phone = switch.config.phones_by_number.get(caller)
        gateway = switch.config.mapping_gateway_for(flow.remote[0], flow.remote[1])
        if phone is not None and (gateway is None or self._registered_from(phone, flow)):
            self._phone_invite(request, flow, phone, caller, callee)
        elif gateway is not None:
            self._admit(request, flow, gateway, BillingMode.MAPPING_GATEWAY, caller, callee)
        else:
            self._illegal(request, flow, caller, callee, EndReason.ILLEGAL_SOURCE)

    def _registered_from(self, phone: PhoneAccount, flow: Flow) -> bool:
        found = self.switch.registrar.contact_flow(phone.id)
        return found is not None and found[0].source[0] == flow.remote[0]

    def _phone_invite(
        self, request: Request, flow: Flow, phone: PhoneAccount, caller: str, callee: str
    ) -> None:
        """Phones are digest-challenged (407) and must be registered."""
        switch = self.switch
        header = request.headers.get("proxy-authorization")
        if header is None:
            return self._challenge(request, flow, stale=False)
        credentials = parse_credentials(header)
        verdict = DigestResult.MALFORMED
        if credentials is not None and credentials.username == phone.e164:
            verdict = switch.authenticator.verify(
                credentials,
                method="INVITE",
                realm=switch.realm,
                request_uri=credentials.uri,
                now=self.clock.now(),
                password=phone.password,
            )
        if verdict in (DigestResult.STALE, DigestResult.REPLAY, DigestResult.BAD_NONCE):
            return self._challenge(request, flow, stale=verdict is DigestResult.STALE)
        if verdict is not DigestResult.OK:
            self._illegal(request, flow, caller, callee, EndReason.AUTHENTICATION_FAILED)
            return
        switch.guard.record_success(flow.ip)
        if switch.registrar.contact_flow(phone.id) is None:
            self._reject_before_routing(
                request, flow, phone, BillingMode.PHONE, caller, callee, EndReason.NOT_REGISTERED
            )
            return
        self._admit(request, flow, phone, BillingMode.PHONE, caller, callee)

    def _challenge(self, request: Request, flow: Flow, stale: bool) -> None:
        switch = self.switch
        challenges = switch.challenges(stale=stale)
        switch.respond(
            switch.layer.server_transaction(request, flow),
            407,
            [("Proxy-Authenticate", value) for value in challenges],
        )

    def _illegal(
        self, request: Request, flow: Flow, caller: str, callee: str, reason: EndReason
    ) -> None:
        """An unknown source or a failed authentication: CDR (−2) if recorded, then 403 or
        silence. Only failed authentications count towards suspending the source."""
        record = self._record(request, flow, BillingMode.ILLEGAL_CALL, caller, callee)
        record.end_reason = reason
        self.write_cdr(record)
        authentication = reason is EndReason.AUTHENTICATION_FAILED
        self.switch.refuse(
            request, flow, authentication_failed=authentication, count_failure=authentication
        )

    def _admit(
        self, request: Request, flow: Flow, origin: Origin, mode: int, caller: str, callee: str
    ) -> None:
        """Count, screen, check lock and capacity, plan the route, start relaying."""
        if request.max_forwards is not None and request.max_forwards <= 0:  # a loop (§16.3)
            return self._reject_before_routing(request, flow, origin, mode, caller, callee, 483)
        switch, now = self.switch, self.clock.now()
        watched = (
            switch.parameter("SS_BLACK_LIST_DYNAMIC_RUN_MODE") == "Global"
            or origin.dynamic_blacklist
        )
        if watched:
            switch.counters.call_attempt(caller, callee, self._windows(), now)
        config = switch.config
        reason = screen_call(caller, callee, origin, config.lists, config.dynamic, now)
        if reason is None and origin.locked:
            reason = EndReason.ORIGIN_LOCKED
        if reason is not None:
            return self._reject_before_routing(request, flow, origin, mode, caller, callee, reason)
        money = self._money_check(origin, callee, now)
        if money is not None and money.refusal is not None:
            return self._reject_before_routing(
                request, flow, origin, mode, caller, callee, money.refusal
            )
        plan = plan_route(
            callee,
            config.routing_gateways.values(),
            self._gateway_available,
            switch.parameter("SS_GATEWAY_SWITCH_LIMIT"),
            route_pricing(origin, callee, now, config.rate_table_for_account),
        )
        server = switch.layer.server_transaction(request, flow, send_trying=True)
        record = self._record(request, flow, mode, caller, callee, origin)
        call = Call(self, server, record, origin, plan, watched, money)
        self.by_invite[server.key] = call
        self.calls.add(call)
        self.supervise(call, call.start())

    def _money_check(self, origin: Origin, callee: str, now: float) -> MoneyCheck | None:
        """Whether the origin's account may pay for the call (SPEC §8.3); None when the
        origin has no account (its calls are not rated)."""
        if origin.account_id is None:
            return None
        config = self.switch.config
        return check_money(
            config.account(origin.account_id),
            config.rate_table_for_account(origin.account_id),
            callee,
            store.timestamp_to_datetime(now),
            self.switch.parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL"),
            config.parameters["SERVER_BILLING_FEE_PRECISTION"],
        )

    def _windows(self) -> tuple[int, int]:
        parameter = self.switch.parameter
        return (
            parameter("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_CHECK_INTERVAL"),
            parameter("SS_BLACK_LIST_MALICIOUS_CALL_CHECK_INTERVAL"),
        )

    def _gateway_available(self, gateway: Any) -> bool:
        return self.capacity.available(
            f"routing_gateway:{gateway.id}", gateway.capacity
        ) and self.gateways.is_online(gateway)

    def _reject_before_routing(
        self,
        request: Request,
        flow: Flow,
        origin: Origin,
        mode: int,
        caller: str,
        callee: str,
        reason: int,
    ) -> None:
        """Answer before any gateway was tried: an internal reason's status, or a SIP status."""
        status = reason if reason > 0 else REJECTION_STATUS.get(reason, 403)
        self.switch.respond(self.switch.layer.server_transaction(request, flow), status)
        record = self._record(request, flow, mode, caller, callee, origin)
        record.end_reason = reason
        self.write_cdr(record)

    def _record(
        self,
        request: Request,
        flow: Flow,
        mode: int,
        caller: str,
        callee: str,
        origin: Origin | None = None,
    ) -> CallRecord:
        now = self.clock.now()
        record = CallRecord(
            call_id=request.call_id,
            caller=caller,
            callee=callee,
            caller_ip=f"{flow.remote[0]}:{flow.remote[1]}",
            billing_mode=mode,
            start_time=now,
            stop_time=now,
        )
        if mode == BillingMode.PHONE and origin is not None:
            record.phone = origin.name
        elif mode == BillingMode.MAPPING_GATEWAY and origin is not None:
            record.mapping_gateway = origin.name
        if origin is not None:
            record.account_id = origin.account_id
        return record

    # In-dialog --------------------------------------------------------------------------

    def _in_dialog(self, request: Request, flow: Flow) -> None:
        found = self.by_dialog.get(incoming_dialog_id(request))
        if found is None:
            self._no_dialog(request, flow)
            return
        call, side = found
        call.on_in_dialog(side, request, self.switch.layer.server_transaction(request, flow))

    def _no_dialog(self, request: Request, flow: Flow) -> None:
        """A request for a dialog we do not have: 481, to known sources only."""
        if self.switch.may_answer(flow.ip):
            self.switch.respond(self.switch.layer.server_transaction(request, flow), 481)
        else:
            self.switch.silence(request)

    def _cancel(self, request: Request, flow: Flow) -> None:
        call = self.by_invite.get(cancel_target_key(request))
        if call is None:
            self._no_dialog(request, flow)
            return
        server = self.switch.layer.server_transaction(request, flow)
        self.switch.respond(server, 200, to_tag=call.a_tag)
        call.cancel_from_caller()

    # Bookkeeping for calls ----------------------------------------------------------------

    def supervise(self, call: Call, step: Coroutine[Any, Any, None]) -> None:
        """Run a step of a call (start, failover) as a task. Whatever it raises is logged once,
        with its traceback, and ends that call cleanly instead of leaving the caller waiting."""
        task = asyncio.get_running_loop().create_task(step)
        task.add_done_callback(lambda done: self._step_done(call, done))

    def _step_done(self, call: Call, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        logger.error(
            "call %s failed in %s; ending it",
            call.record.call_id,
            task.get_coro().__qualname__,  # type: ignore[union-attr]
            exc_info=error,
        )
        try:
            call.crashed()
        except Exception:
            logger.exception("call %s could not be ended cleanly; dropping it", call.record.call_id)
            with contextlib.suppress(Exception):
                call.end(EndReason.INTERNAL_ERROR, EndDirection.SERVER)
            self.finished(call)

    def register_dialog(self, dialog_id: DialogId, call: Call, side: str) -> None:
        self.by_dialog[dialog_id] = (call, side)

    def changed(self, call: Call) -> None:
        """The call's state changed: mirror it to CurrentCall at the next sync."""
        self._changed.add(call)

    def finished(self, call: Call) -> None:
        """Forget a call that ended (its CDR is already journaled)."""
        self.calls.discard(call)
        self._changed.discard(call)
        self._ended.append(call.record.call_id)
        self.by_invite.pop(call.server.key, None)
        for dialog_id in call.dialog_ids():
            self.by_dialog.pop(dialog_id, None)
        self.clock.call_later(FORGET_LEGS_SECONDS, self._forget_legs, call)

    def _forget_legs(self, call: Call) -> None:
        for leg in call.legs:
            if self.legs_by_call_id.get(leg.call_id) is leg:
                del self.legs_by_call_id[leg.call_id]
        call.dispose()

    def answered(self, record: CallRecord) -> None:
        """The call is answered: fix its flow number and keep it in the open-call log until
        its CDR is journaled, so that a killed engine's successor can bill it."""
        assert record.connect_time is not None
        record.flow_no = self.flow_numbers.next(int(record.connect_time * 1000))
        self.journal.open_calls.opened(record)

    def write_cdr(self, record: CallRecord) -> CallCharges | None:
        """Journal the call's CDR if the recording rules say so; its charges, if journaled."""
        charges = None
        if should_record(record, self.switch.config.parameters):
            charges = self._journal_cdr(record)
        if record.flow_no is not None:
            self.journal.open_calls.closed(record.flow_no)
        return charges

    def _journal_cdr(self, record: CallRecord) -> CallCharges:
        flow_no = record.flow_no or self.flow_numbers.next(int(record.stop_time * 1000))
        charges = self.charges(record)
        self.journal.append(cdr_row(record, flow_no, charges))
        return charges

    def charges(self, record: CallRecord) -> CallCharges:
        """The call's fee and cost, rated with the cached rate tables (SPEC §8.2)."""
        config = self.switch.config
        precision = config.parameters["SERVER_BILLING_FEE_PRECISTION"]
        return rate_record(record, config.rate_table_for_account, precision)

    def bill_calls_left_open(self) -> int:
        """At start: a CDR for each answered call the previous process died with, ended by
        the server ("engine restart") at the last moment that process was known alive.
        Answered calls are always billed, whatever the recording parameters say."""
        records = self.journal.calls_left_open()
        last_alive = self.journal.open_calls.last_alive
        for record in records:
            assert record.connect_time is not None
            record.stop_time = max(last_alive, record.connect_time)
            record.end_reason = int(EndReason.ENGINE_RESTART)
            record.end_direction = int(EndDirection.SERVER)
            self._journal_cdr(record)
        self.journal.forget_calls_left_open()
        if records:
            logger.warning(
                "%d answered calls were up when the previous engine process died: billed as "
                "ended by the server at %s (its last heartbeat)",
                len(records),
                store.timestamp_to_datetime(last_alive),
            )
        return len(records)

    async def sync_current_calls(self) -> None:
        """Mirror calls in progress to the CurrentCall table (about once a second)."""
        changed, self._changed = [call for call in self._changed if call in self.calls], set()
        ended, self._ended = self._ended, []
        if not changed and not ended:
            return
        rows = [call.current_call_row() for call in changed]
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.executor, store.sync_current_calls, self.node, rows, ended
            )
        except Exception as error:
            logger.warning("current calls not synced: %s", error)
            self._changed |= set(changed)
            self._ended = ended + self._ended

    def disconnect(self, call_id: str) -> bool:
        """End the call `call_id` on an operator's request (BYE to both sides, a CDR ended by
        the server); False if this node does not hold it (another node may)."""
        call = next((call for call in self.calls if call.record.call_id == call_id), None)
        if call is None:
            return False
        logger.info("call %s disconnected by an operator", call_id)
        call.hang_up(EndReason.DISCONNECTED_BY_OPERATOR)
        return True

    def connections_in_use(self) -> set[int]:
        """TCP connections carrying a call (kept open)."""
        return {connection for call in self.calls for connection in call.connections()}

    async def shutdown(self) -> None:
        """Stop taking calls and end those in progress (BYE both sides, a CDR each)."""
        self.accepting = False
        self.gateways.stop()
        for call in list(self.calls):
            call.hang_up(EndReason.SHUTDOWN)
        if self.calls or any(True for _ in self.switch.layer.clients):
            await asyncio.sleep(0.5)  # let the BYEs and final responses go out
