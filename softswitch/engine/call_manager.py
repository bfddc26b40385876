"""The registry of calls in progress: each new INVITE goes to admission (`admission.py`), each
admitted call to its `Call` (`call.py`, which routes it across gateway legs with
`call_routing.py` and relays in dialog with `call_relay.py`); in-dialog requests, CANCEL, ACK
and stray responses are routed to the call they belong to. The CDR of every call is rated and
journaled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from billing.choices import CdrEndDirectionChoices as EndDirection
from billing.choices import CdrEndReasonChoices as EndReason
from billing.flow_numbers import FlowNumberGenerator
from softswitch.engine import store
from softswitch.engine.admission import CallAdmission
from softswitch.engine.call import Call
from softswitch.engine.call_routing import Leg
from softswitch.engine.capacity import CapacityTracker
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.gateways import GatewayMonitor
from softswitch.engine.money import MoneyReserver
from softswitch.engine.resolver import HostResolver
from softswitch.engine.sip_layer import ServerTransaction
from softswitch.engine.transport import Flow
from softswitch.rules.cdr import CallRecord, cdr_row, should_record
from softswitch.rules.charging import CallCharges, MoneyCheck, rate_record
from softswitch.rules.domain import Origin, RoutingGatewayTarget
from softswitch.rules.routing import RoutePlan
from softswitch.sip.dialog import DialogId, incoming_dialog_id
from softswitch.sip.message import Request, Response
from softswitch.sip.transaction import cancel_target_key

if TYPE_CHECKING:
    from softswitch.engine.switch import Switch

logger = logging.getLogger(__name__)

# A finished call's legs stay known this long, so that a late 2xx of one is still ACKed and
# BYEd (64 × T1, the life of an INVITE client transaction). The call itself is let go at once.
FORGET_LEGS_SECONDS = 32.0


class CallManager:
    """The calls in progress: starts admitted ones, routes in-dialog traffic to them."""

    def __init__(
        self, switch: Switch, journal: CdrJournal, node: str, node_id: int, executor: Executor
    ) -> None:
        self.switch = switch
        self.clock = switch.clock
        self.journal = journal
        self.node = node
        self.executor = executor
        self.flow_numbers = FlowNumberGenerator(node_id)
        self.capacity = CapacityTracker(switch.counters.redis, node, self.clock)
        self.money = MoneyReserver(switch.counters.redis, node, self.clock)
        self.resolver = HostResolver(clock=self.clock)
        self.gateways = GatewayMonitor(switch, self.resolver, switch.counters.redis)
        self.admission = CallAdmission(switch, self.clock, self, switch.registrar)
        self.by_invite: dict[tuple[str, ...], Call] = {}
        self.by_request: dict[tuple[str, str, int], Call] = {}  # merged requests (§8.2.2.2)
        self.by_dialog: dict[DialogId, tuple[Call, str]] = {}
        self.legs_by_call_id: dict[str, Leg] = {}
        self._legs_to_forget: deque[tuple[float, list[Leg]]] = deque()  # in the order they end
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
            leg.routing.on_stray_2xx(leg, response)

    # New calls --------------------------------------------------------------------------

    def _new_invite(self, request: Request, flow: Flow) -> None:
        if request_key(request) in self.by_request:  # a merged request: not a second call
            self.switch.respond(self.switch.layer.server_transaction(request, flow), 482)
        elif self.accepting:
            self.admission.admit(request, flow)
        else:
            self.switch.respond(self.switch.layer.server_transaction(request, flow), 503)

    def start_call(
        self,
        server: ServerTransaction,
        record: CallRecord,
        origin: Origin,
        plan: RoutePlan,
        watched: bool,
        money: MoneyCheck | None,
    ) -> None:
        """Hand an admitted call to a `Call` (the B2BUA relay) and start routing it."""
        call = Call(self, server, record, origin, plan, watched, money)
        self.by_invite[server.key] = call
        self.by_request[request_key(call.invite)] = call
        self.calls.add(call)
        self.supervise(call, call.start())

    def gateway_available(self, gateway: RoutingGatewayTarget) -> bool:
        """A routing gateway with a free line that is not offline (OPTIONS probing)."""
        return self.capacity.available(
            f"routing_gateway:{gateway.id}", gateway.capacity
        ) and self.gateways.is_online(gateway)

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
        """CANCEL of a call in progress; of a re-INVITE (relayed to the call); of an INVITE
        already answered (a CANCEL crossing the final response), 200 without effect; of no
        INVITE transaction, 481 (§9.2)."""
        key = cancel_target_key(request)
        call = self.by_invite.get(key)
        if call is not None:
            server = self.switch.layer.server_transaction(request, flow)
            self.switch.respond(server, 200, to_tag=call.a_tag)
            call.cancel_from_caller()
        elif key in self.switch.layer.servers:
            to_tag = self._final_to_tag(self.switch.layer.servers[key])
            self.switch.respond(
                self.switch.layer.server_transaction(request, flow), 200, to_tag=to_tag
            )
            found = self.by_dialog.get(incoming_dialog_id(request))  # a re-INVITE's CANCEL
            if found is not None:
                found[0].cancel_in_dialog(found[1], key)
        else:
            self._no_dialog(request, flow)

    @staticmethod
    def _final_to_tag(invite: ServerTransaction) -> str | None:
        """The To tag of the final response an INVITE transaction keeps (none for a 2xx),
        which the 200 to its CANCEL should repeat (§9.2)."""
        response = invite.transaction.last_response
        return response.to.tag if response is not None else None

    # Bookkeeping for calls ----------------------------------------------------------------

    def supervise(self, call: Call, step: Coroutine[Any, Any, None]) -> None:
        """Run a step of a call (start, failover) as a task. Whatever it raises is logged once,
        with its traceback, and ends that call cleanly instead of leaving the caller waiting."""
        task = asyncio.get_running_loop().create_task(step)
        call.steps += 1
        task.add_done_callback(lambda done: self._step_done(call, done))

    def _step_done(self, call: Call, task: asyncio.Task[None]) -> None:
        call.steps -= 1
        if not task.cancelled() and task.exception() is not None:
            self._step_failed(call, task)
        self._dispose_when_idle(call)

    def _step_failed(self, call: Call, task: asyncio.Task[None]) -> None:
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

    def register_leg(self, leg: Leg) -> None:
        """A gateway leg whose late 2xx must still find its call."""
        self.legs_by_call_id[leg.call_id] = leg

    def changed(self, call: Call) -> None:
        """The call's state changed: mirror it to CurrentCall at the next sync."""
        self._changed.add(call)

    def finished(self, call: Call) -> None:
        """Forget a call that ended (its CDR is already journaled)."""
        self.calls.discard(call)
        self._changed.discard(call)
        self._ended.append(call.record.call_id)
        self.by_invite.pop(call.server.key, None)
        if self.by_request.get(request_key(call.invite)) is call:
            del self.by_request[request_key(call.invite)]
        for dialog_id in call.dialog_ids():
            self.by_dialog.pop(dialog_id, None)
        now = self.clock.monotonic()
        self._legs_to_forget.append((now + FORGET_LEGS_SECONDS, call.routing.legs))
        self.forget_legs(now)
        self._dispose_when_idle(call)

    def _dispose_when_idle(self, call: Call) -> None:
        """Let an ended call go once none of its steps runs: a step still waiting on Redis or
        a name lookup resumes on the call, finds it ended, and stops."""
        if call.ended and call.steps == 0:
            call.dispose()

    def forget_legs(self, now: float) -> None:
        """Forget the legs of calls that ended FORGET_LEGS_SECONDS ago (at each call's end and
        in the engine's housekeeping, each second). One queue in the order calls end, not a
        loop timer per call, whose handle, context, bound method and arguments the cyclic
        collector scanned for the 32 s (docs/adr/0009)."""
        waiting = self._legs_to_forget
        while waiting and waiting[0][0] <= now:
            for leg in waiting.popleft()[1]:
                if self.legs_by_call_id.get(leg.call_id) is leg:
                    del self.legs_by_call_id[leg.call_id]

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


def request_key(invite: Request) -> tuple[str, str, int]:
    """Call-ID, From tag and CSeq: what the same INVITE keeps on every branch it came by; one
    of a call in progress on another branch is a merged request (RFC 3261 §8.2.2.2)."""
    return (invite.call_id, invite.from_.tag or "", invite.cseq.number)
