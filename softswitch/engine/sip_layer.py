"""The transaction layer's edge: match messages to transactions, run their timers, send.

`softswitch.sip.transaction` holds the state machines; this module keeps them in two tables,
turns their actions into sends and callbacks, and schedules each one's next deadline on the
event loop (one loop timer for all of them: `Deadlines`). Requests that start something new,
ACKs for 2xx, CANCELs and stray responses go to the transaction user (the `Switch`, which
builds its layer: `Switch(layer=…)`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from softswitch.engine.clock import Clock
from softswitch.engine.deadlines import Deadlines
from softswitch.engine.transport import Flow
from softswitch.sip.dialog import build_cancel
from softswitch.sip.message import Message, Request, Response, add_received_rport
from softswitch.sip.parser import Malformed
from softswitch.sip.transaction import (
    Action,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    DeliverResponse,
    SendMessage,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    TransactionState,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailure,
    client_transaction_key,
    server_transaction_key,
)

logger = logging.getLogger(__name__)


class TransactionUser(Protocol):
    """What the layer hands up (implemented by `softswitch.engine.switch.Switch`)."""

    def on_request(self, request: Request, flow: Flow) -> None: ...
    def on_ack(self, request: Request, flow: Flow) -> None: ...
    def on_stray_response(self, response: Response, flow: Flow) -> None: ...
    def on_malformed(self, message: Malformed | Request, flow: Flow, status: int) -> None: ...


class ServerTransaction:
    """A server transaction and the flow its responses go back on."""

    __slots__ = ("deadline", "flow", "key", "layer", "request", "transaction", "wait")

    def __init__(self, layer: SipLayer, request: Request, flow: Flow, key: tuple[str, ...]) -> None:
        reliable = flow.transport == "tcp"
        kind = ServerInviteTransaction if request.method == "INVITE" else ServerNonInviteTransaction
        self.layer = layer
        self.request: Request | None = request  # None once answered with a final response
        self.transaction: Any = kind(request, reliable=reliable)
        self.flow = flow
        self.key = key
        self.deadline: float | None = None  # kept by the layer's Deadlines
        self.wait = 0

    def respond(self, response: Response) -> None:
        """Send a response through the transaction (retransmissions included).

        The request is let go once answered with a final response: the transaction waits 32 s
        (Timer J, H or L) holding at most that response (see ServerNonInviteTransaction and
        ServerInviteTransaction), and a call keeps its own INVITE while it needs it.
        """
        self.layer.run(self, self.transaction.send_response(response, self.layer.now()))
        if self.request is not None and self.completed:
            self.request = None

    @property
    def completed(self) -> bool:
        return (
            self.transaction.state is not TransactionState.PROCEEDING
            and self.transaction.state is not TransactionState.TRYING
        )


class ClientTransaction:
    """A client transaction and whom to tell about its responses."""

    __slots__ = (
        "deadline", "flow", "key", "layer", "on_failure", "on_response", "transaction", "wait"
    )  # fmt: skip

    def __init__(
        self,
        layer: SipLayer,
        request: Request,
        flow: Flow,
        on_response: Callable[[Response], None],
        on_failure: Callable[[str], None],
    ) -> None:
        reliable = flow.transport == "tcp"
        kind = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        self.layer = layer
        self.transaction: Any = kind(request, reliable=reliable)
        self.flow = flow
        self.key = client_transaction_key(request)
        self.deadline: float | None = None  # kept by the layer's Deadlines
        self.wait = 0
        self.on_response = on_response
        self.on_failure = on_failure  # "timeout" or "transport"


Transaction = ServerTransaction | ClientTransaction


class SipLayer:
    """Transaction tables, timers and sending for one engine."""

    def __init__(
        self,
        send: Callable[[Flow, bytes, Callable[[], None]], None],
        clock: Clock,
        user: TransactionUser,
    ) -> None:
        self.send_bytes = send
        self.clock = clock
        self.user = user
        self.servers: dict[tuple[str, ...], ServerTransaction] = {}
        self.clients: dict[tuple[str, ...], ClientTransaction] = {}
        self.deadlines: Deadlines[Transaction] = Deadlines(clock, self._fire)

    def now(self) -> float:
        return self.clock.monotonic()

    # Incoming ---------------------------------------------------------------------------

    def receive(self, message: Message | Malformed, flow: Flow) -> None:
        """Route one received message (from the transports)."""
        if isinstance(message, Malformed):
            self.user.on_malformed(message, flow, 400)
        elif isinstance(message, Request):
            self._receive_request(message, flow)
        elif isinstance(message, Response):
            self._receive_response(message, flow)

    def _receive_request(self, request: Request, flow: Flow) -> None:
        add_received_rport(request, flow.remote[0], flow.remote[1])
        rejection = request.validate()
        if rejection is not None:
            self.user.on_malformed(request, flow, rejection.status_code)
            return
        existing = self.servers.get(server_transaction_key(request))
        if existing is not None:
            self.run(existing, existing.transaction.receive_request(request, self.now()))
        elif request.method == "ACK":
            self.user.on_ack(request, flow)
        else:
            self.user.on_request(request, flow)

    def _receive_response(self, response: Response, flow: Flow) -> None:
        if response.validate() is not None:
            return  # a broken response is dropped (§18.1.2)
        client = self.clients.get(client_transaction_key(response))
        if client is None:
            self.user.on_stray_response(response, flow)
            return
        self.run(client, client.transaction.receive_response(response, self.now()))

    # Outgoing ---------------------------------------------------------------------------

    def server_transaction(
        self, request: Request, flow: Flow, send_trying: bool = False
    ) -> ServerTransaction:
        """Open the server transaction for a new request; the TU answers through it."""
        server = ServerTransaction(self, request, flow, server_transaction_key(request))
        self.servers[server.key] = server
        if request.method == "INVITE":
            self.run(server, server.transaction.start(self.now(), send_trying=send_trying))
        else:
            self.run(server, server.transaction.start(self.now()))
        return server

    def send_request(
        self,
        request: Request,
        flow: Flow,
        on_response: Callable[[Response], None],
        on_failure: Callable[[str], None],
    ) -> ClientTransaction:
        """Send a request in a new client transaction."""
        client = ClientTransaction(self, request, flow, on_response, on_failure)
        self.clients[client.key] = client
        self.run(client, client.transaction.start(self.now()))
        return client

    def send_unanswered(self, request: Request, flow: Flow) -> None:
        """Send a request whose answer nobody waits for (BYE, CANCEL) in a client transaction."""
        self.send_request(request, flow, _ignore, _ignore)

    def cancel(self, invite: Request, flow: Flow) -> None:
        """CANCEL an INVITE we sent (§9.1); its transaction is destroyed if no final response
        comes within 64*T1."""
        self.send_unanswered(build_cancel(invite), flow)
        client = self.clients.get(client_transaction_key(invite))
        if client is not None:
            self.run(client, client.transaction.cancelled(self.now()))

    def send_stateless(self, message: Message, flow: Flow) -> None:
        """Send outside any transaction (ACK for 2xx, a 2xx retransmission, a stateless reply)."""
        self.send_bytes(flow, message.to_bytes(), lambda: None)

    # Actions and timers -----------------------------------------------------------------

    def run(self, holder: Transaction, actions: list[Action]) -> None:
        """Carry out a transaction's actions, then schedule its next deadline."""
        for action in actions:
            if isinstance(action, SendMessage):
                self._send(holder, action.message)
            elif isinstance(action, DeliverResponse) and isinstance(holder, ClientTransaction):
                holder.on_response(action.response)
            elif isinstance(action, TransactionTimeout) and isinstance(holder, ClientTransaction):
                holder.on_failure("timeout")
            elif isinstance(action, TransportFailure) and isinstance(holder, ClientTransaction):
                holder.on_failure("transport")
            elif isinstance(action, TransactionTerminated):
                self._forget(holder)
                return
        self._schedule(holder)

    def _send(self, holder: Transaction, message: Message) -> None:
        """Send; a send that raises (an address the socket cannot reach) is a transport error,
        reported from the next loop iteration so that the current actions finish first."""
        try:
            self.send_bytes(holder.flow, message.to_bytes(), lambda: self._transport_error(holder))
        except Exception as error:
            logger.warning("sending to %s failed: %s", holder.flow.remote, error)
            self.clock.call_later(0, self._transport_error, holder)

    def _schedule(self, holder: Transaction) -> None:
        self.deadlines.set(holder, holder.transaction.next_deadline())

    def _fire(self, holder: Transaction) -> None:
        self.run(holder, holder.transaction.on_timer(self.now()))

    def _transport_error(self, holder: Transaction) -> None:
        self.run(holder, holder.transaction.on_transport_error())

    def _forget(self, holder: Transaction) -> None:
        self.deadlines.set(holder, None)
        table: dict[Any, Any] = (
            self.servers if isinstance(holder, ServerTransaction) else self.clients
        )
        if table.get(holder.key) is holder:
            del table[holder.key]


def _ignore(outcome: object) -> None:
    """The callback of a request whose answer or failure does not matter."""
