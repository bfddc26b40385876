"""RFC 3261 §17 transactions as sans-IO state machines, with RFC 6026's Accepted state.

Every transaction is fed events (start, a received message, a response to send, the clock)
with the current time and answers with a list of actions; it never sleeps or schedules.
The engine calls on_timer(now) when now reaches next_deadline(). Timers that last zero on a
reliable transport (D, I, J, K) fire within the call that starts them. The engine keeps the
transactions in dicts under the keys computed by the *_transaction_key functions.

RFC 6026 replaces "Terminated on 2xx" of INVITE transactions by an Accepted state (Timers L
and M, 64*T1): retransmitted 2xx responses still reach the TU, which must ACK each one, and a
retransmitted INVITE is absorbed instead of looking like a new call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from softswitch.sip.fields import BRANCH_MAGIC_COOKIE
from softswitch.sip.headers import Headers, split_values
from softswitch.sip.message import Message, Request, Response, build_response

T1 = 0.5
T2 = 4.0
T4 = 5.0
TIMER_D = 32.0  # §17.1.1.2: at least 32 s on unreliable transports
# §16.6 step 11, "larger than 3 minutes": the longest wait for the final response to an INVITE
# we sent once it got a provisional response, from the last one (the TU runs it).
TIMER_C = 181.0

TransactionKey = tuple[str, ...]


class TransactionState(enum.Enum):
    """The states of §17.1 and §17.2, plus Accepted (RFC 6026 §7.1)."""

    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Pass this request or response to the transport, towards the transaction's peer."""

    message: Message


@dataclass(frozen=True, slots=True)
class DeliverResponse:
    """Hand this response to the transaction user."""

    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTimeout:
    """The peer did not answer in time: Timer B, F or H fired."""

    timer: str


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """The transport could not send a message of this transaction (§17.1.4, §17.2.4)."""


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    """The transaction is over: drop it from the engine's table."""


Action = (
    SendMessage | DeliverResponse | TransactionTimeout | TransportFailure | TransactionTerminated
)
_State = TransactionState


class _Transaction:
    """Timer bookkeeping shared by the four transaction kinds."""

    _INITIAL_STATE: ClassVar[TransactionState]
    # Whether the transaction needs its request after start(): clients send it again, an
    # INVITE server answers it with 100 Trying; a non-INVITE server never reads it.
    _KEEPS_REQUEST: ClassVar[bool] = True
    request: Request

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool = False,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
    ) -> None:
        if self._KEEPS_REQUEST:
            self.request = request
        self.reliable = reliable
        self.t1, self.t2, self.t4 = t1, t2, t4
        self.state = self._INITIAL_STATE
        self._deadlines: dict[str, float] = {}
        self._interval = t1  # current retransmission interval of Timer A, E or G

    def next_deadline(self) -> float | None:
        """When on_timer() must next be called, or None."""
        return min(self._deadlines.values(), default=None)

    def on_timer(self, now: float) -> list[Action]:
        """Fire every timer due at now, earliest first."""
        actions: list[Action] = []
        while self._deadlines:
            name, when = min(self._deadlines.items(), key=lambda item: item[1])
            if when > now:
                break
            del self._deadlines[name]
            actions += self._fire(name, now)
        return actions

    def on_transport_error(self) -> list[Action]:
        """The transport failed to send for this transaction: it ends (§17.1.4, §17.2.4)."""
        if self.state is _State.TERMINATED:
            return []
        return [TransportFailure(), *self._terminate()]

    def _fire(self, name: str, now: float) -> list[Action]:
        raise NotImplementedError

    def _start_timer(self, name: str, now: float, delay: float) -> None:
        self._deadlines[name] = now + delay

    def _retransmit_later(self, name: str, now: float) -> None:
        if not self.reliable:  # §17.1.1.2, §17.1.2.2, §17.2.1: only unreliable transports
            self._start_timer(name, now, self._interval)

    def _enter(self, state: TransactionState, timer: str, now: float, delay: float) -> None:
        """Leave the current state's timers behind and wait in state for timer."""
        self.state = state
        self._deadlines.clear()
        self._start_timer(timer, now, delay)

    def _terminate(self) -> list[Action]:
        self.state = _State.TERMINATED
        self._deadlines.clear()
        return [TransactionTerminated()]

    def _wait(self, unreliable_delay: float) -> float:
        return 0.0 if self.reliable else unreliable_delay


class ClientInviteTransaction(_Transaction):
    """INVITE client transaction (§17.1.1, RFC 6026 §8.4)."""

    _INITIAL_STATE = _State.CALLING
    ack: Request | None = None

    def start(self, now: float) -> list[Action]:
        """Send the INVITE and start Timers A and B."""
        self._retransmit_later("A", now)
        self._start_timer("B", now, 64 * self.t1)
        return [SendMessage(self.request)]

    def receive_response(self, response: Response, now: float) -> list[Action]:
        """Process a response matched to this transaction."""
        code = response.status_code
        if self.state in (_State.CALLING, _State.PROCEEDING):
            return self._first_responses(response, now)
        if self.state is _State.COMPLETED and code >= 300 and self.ack is not None:
            return [SendMessage(self.ack)]  # §17.1.1.2: a retransmitted final is re-ACKed
        if self.state is _State.ACCEPTED and 200 <= code < 300:
            return [DeliverResponse(response)]  # RFC 6026 §8.4: the TU ACKs every 2xx
        return []

    def cancelled(self, now: float) -> list[Action]:
        """The TU sent a CANCEL of this INVITE: without a final response 64*T1 later, the
        transaction is destroyed (§9.1); a gateway that never ends it must not keep it."""
        if self.state in (_State.CALLING, _State.PROCEEDING):
            self._start_timer("cancelled", now, 64 * self.t1)
        return []

    def _first_responses(self, response: Response, now: float) -> list[Action]:
        code = response.status_code
        if code < 200:
            self.state = _State.PROCEEDING
            self._deadlines.pop("A", None)
            self._deadlines.pop("B", None)
            return [DeliverResponse(response)]
        if code < 300:
            self._enter(_State.ACCEPTED, "M", now, 64 * self.t1)
            return [DeliverResponse(response)]
        self.ack = build_ack_for_failure(self.request, response)
        self._enter(_State.COMPLETED, "D", now, self._wait(TIMER_D))
        return [DeliverResponse(response), SendMessage(self.ack), *self.on_timer(now)]

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "A" and self.state is _State.CALLING:
            self._interval *= 2  # §17.1.1.2: Timer A doubles, without the T2 cap
            self._retransmit_later("A", now)
            return [SendMessage(self.request)]
        if name == "B" and self.state is _State.CALLING:
            return [TransactionTimeout("B"), *self._terminate()]
        return self._terminate() if name in ("D", "M", "cancelled") else []


class ClientNonInviteTransaction(_Transaction):
    """Non-INVITE client transaction (§17.1.2)."""

    _INITIAL_STATE = _State.TRYING

    def start(self, now: float) -> list[Action]:
        """Send the request and start Timers E and F."""
        self._retransmit_later("E", now)
        self._start_timer("F", now, 64 * self.t1)
        return [SendMessage(self.request)]

    def receive_response(self, response: Response, now: float) -> list[Action]:
        """Process a response matched to this transaction."""
        if self.state not in (_State.TRYING, _State.PROCEEDING):
            return []  # Completed absorbs retransmitted finals
        if response.status_code < 200:
            self.state = _State.PROCEEDING
            return [DeliverResponse(response)]
        self._enter(_State.COMPLETED, "K", now, self._wait(self.t4))
        return [DeliverResponse(response), *self.on_timer(now)]

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "E" and self.state in (_State.TRYING, _State.PROCEEDING):
            # §17.1.2.2: doubling up to T2 while Trying, T2 once Proceeding.
            trying = self.state is _State.TRYING
            self._interval = min(2 * self._interval, self.t2) if trying else self.t2
            self._retransmit_later("E", now)
            return [SendMessage(self.request)]
        if name == "F" and self.state in (_State.TRYING, _State.PROCEEDING):
            return [TransactionTimeout("F"), *self._terminate()]
        return self._terminate() if name == "K" else []


class _ServerTransaction(_Transaction):
    """What both server transactions share: the responses already sent."""

    last_response: Response | None = None

    def _resend_last(self) -> list[Action]:
        return [] if self.last_response is None else [SendMessage(self.last_response)]

    def _send(self, response: Response) -> list[Action]:
        self.last_response = response
        return [SendMessage(response)]


class ServerInviteTransaction(_ServerTransaction):
    """INVITE server transaction (§17.2.1, RFC 6026 §8.5-8.7).

    It needs its INVITE only to start (the 100 Trying), and keeps no 2xx: while Accepted the
    TU retransmits its 2xx itself. An answered call's transaction waits 32 s (Timer L)
    holding neither, so a finished call's parsed INVITE is not kept alive by it.
    """

    _INITIAL_STATE = _State.PROCEEDING
    _KEEPS_REQUEST = False

    def __init__(
        self,
        request: Request,
        *,
        reliable: bool = False,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
    ) -> None:
        super().__init__(request, reliable=reliable, t1=t1, t2=t2, t4=t4)
        self._invite: Request | None = request  # until start()

    def start(self, now: float, *, send_trying: bool = True) -> list[Action]:
        """Take the INVITE; answer 100 Trying unless the TU answers within 200 ms (§17.2.1)."""
        invite, self._invite = self._invite, None
        if not send_trying or invite is None:
            return []
        return self._send(build_response(invite, 100))

    def receive_request(self, request: Request, now: float) -> list[Action]:
        """Process a retransmitted INVITE or the ACK for a non-2xx final."""
        if request.method != "ACK":
            in_progress = self.state in (_State.PROCEEDING, _State.COMPLETED)
            return self._resend_last() if in_progress else []
        if self.state is not _State.COMPLETED:
            return []
        self._enter(_State.CONFIRMED, "I", now, self._wait(self.t4))
        return self.on_timer(now)

    def send_response(self, response: Response, now: float) -> list[Action]:
        """Send a response from the TU; 2xx retransmissions are passed on while Accepted."""
        code = response.status_code
        if self.state is _State.ACCEPTED and 200 <= code < 300:
            return [SendMessage(response)]
        if self.state is not _State.PROCEEDING:
            return []
        if code >= 300:
            self._enter(_State.COMPLETED, "H", now, 64 * self.t1)
            self._retransmit_later("G", now)
        elif code >= 200:
            self._enter(_State.ACCEPTED, "L", now, 64 * self.t1)
            self.last_response = None  # nothing resends it: INVITE retransmissions are absorbed
            return [SendMessage(response)]
        return self._send(response)

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "G" and self.state is _State.COMPLETED:
            self._interval = min(2 * self._interval, self.t2)  # §17.2.1
            self._retransmit_later("G", now)
            return self._resend_last()
        if name == "H" and self.state is _State.COMPLETED:
            return [TransactionTimeout("H"), *self._terminate()]
        return self._terminate() if name in ("I", "L") else []


class ServerNonInviteTransaction(_ServerTransaction):
    """Non-INVITE server transaction (§17.2.2).

    It keeps only its last response: thousands of REGISTERs a second each wait 32 s in
    Completed (Timer J) on UDP, and the parsed request would triple their memory.
    """

    _INITIAL_STATE = _State.TRYING
    _KEEPS_REQUEST = False

    def start(self, now: float) -> list[Action]:
        """Take the request; the TU answers it through send_response()."""
        return []

    def receive_request(self, request: Request, now: float) -> list[Action]:
        """Process a retransmission of the request: resend the last response, if any."""
        return self._resend_last() if self.state is not _State.TERMINATED else []

    def send_response(self, response: Response, now: float) -> list[Action]:
        """Send a response from the TU."""
        if self.state not in (_State.TRYING, _State.PROCEEDING):
            return []
        if response.status_code < 200:
            self.state = _State.PROCEEDING
            return self._send(response)
        self._enter(_State.COMPLETED, "J", now, self._wait(64 * self.t1))
        return [*self._send(response), *self.on_timer(now)]

    def _fire(self, name: str, now: float) -> list[Action]:
        return self._terminate() if name == "J" else []


def build_ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 300-699 response (§17.1.1.3)."""
    return derive_from_invite(invite, "ACK", response.headers.get("to") or "")


def derive_from_invite(invite: Request, method: str, to: str) -> Request:
    """A request sharing the INVITE's top Via, Route, From, Call-ID and CSeq number.

    That is the ACK for a non-2xx (§17.1.1.3) and the CANCEL (§9.1).
    """
    headers = Headers()
    headers.add("Via", split_values(invite.headers.get("via") or "")[0])
    for route in invite.headers.get_all("route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("from") or "")
    headers.add("To", to)
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} {method}")
    return Request(method, invite.uri, headers)


def client_transaction_key(message: Message) -> TransactionKey:
    """Branch of the top Via and CSeq method: what a response matches on (§17.1.3)."""
    return (message.via.branch or "", message.cseq.method)


def server_transaction_key(request: Request) -> TransactionKey:
    """The server transaction a request belongs to; ACK maps to its INVITE (§17.2.3)."""
    return _server_key(request, "INVITE" if request.method == "ACK" else request.method)


def cancel_target_key(cancel: Request) -> TransactionKey:
    """The key of the INVITE server transaction a CANCEL refers to (§9.2)."""
    return _server_key(cancel, "INVITE")


def _server_key(request: Request, method: str) -> TransactionKey:
    via = request.via
    branch = via.branch or ""
    if branch.startswith(BRANCH_MAGIC_COOKIE) and len(branch) > len(BRANCH_MAGIC_COOKIE):
        host, port = via.sent_by
        return ("3261", branch, host, str(port), method)
    # RFC 2543 peers, and a bare magic cookie (RFC 4475 §3.2.1): the §17.2.3 fallback, without
    # the To tag, which differs between an INVITE and its ACK.
    top_via = split_values(request.headers.get("via") or "")[0]
    from_tag = request.from_.tag or ""
    number = str(request.cseq.number)
    return ("2543", str(request.uri), from_tag, request.call_id, number, top_via, method)
