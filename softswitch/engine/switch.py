"""The switch: the transaction user of the SIP engine.

It gates sources (suspension), dispatches requests by method (REGISTER to the registrar,
INVITE and in-dialog requests to the B2BUA, OPTIONS answered here), applies the reply policy
for unknown or failed sources (SS_REPLY_UNAUTHORIZED and its trusted networks), and owns the
helpers every part uses to answer and to originate requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from softswitch.engine.answering import unsupported_options
from softswitch.engine.clock import Clock
from softswitch.engine.config import Config, ConfigCache
from softswitch.engine.counters import Counters
from softswitch.engine.overload import OverloadGuard
from softswitch.engine.registrar import account_of
from softswitch.engine.sip_layer import ServerTransaction, SipLayer, TransactionUser
from softswitch.engine.transport import Flow, flow_to
from softswitch.engine.workers import Peers
from softswitch.rules.domain import PhoneAccount
from softswitch.rules.security import SourceGuard, in_networks, parse_networks
from softswitch.sip.digest import (
    DigestAlgorithm,
    DigestAuthenticator,
    DigestCredentials,
    DigestResult,
    parse_credentials,
)
from softswitch.sip.fields import Via
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Message, Request, Response, build_response
from softswitch.sip.parser import Malformed, try_parse_message
from softswitch.sip.requests import new_request
from softswitch.sip.transaction import server_transaction_key
from softswitch.sip.uri import NameAddr, SipUri, parse_uri

if TYPE_CHECKING:
    from softswitch.engine.call_manager import CallManager
    from softswitch.engine.registrar import Registrar

logger = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO"
SILENCE_SECONDS = 32.0  # absorb retransmissions of a request we stay silent to (64 × T1)
IN_DIALOG = frozenset({"BYE", "UPDATE", "INFO", "PRACK", "NOTIFY", "REFER", "MESSAGE"})


class Switch:
    """Receives every message of the engine and decides who handles it.

    The SIP layer hands messages up to the switch, and the registrar and the call manager
    answer and originate through the switch's helpers, so the switch builds all three
    (`layer(self)` first, `registrar(self)`, `calls(self)` last) from the factories the
    process hands it; nothing is set on it or on them afterwards.
    """

    def __init__(
        self,
        *,
        cache: ConfigCache,
        layer: Callable[[TransactionUser], SipLayer],
        clock: Clock,
        counters: Counters,
        authenticator: DigestAuthenticator,
        realm: str,
        advertised: tuple[str, int],
        digest_algorithms: tuple[DigestAlgorithm, ...],
        close_tcp: Callable[[int | None, bool], None],
        close_tcp_from: Callable[[str, bool], None],
        registrar: Callable[[Switch], Registrar],
        calls: Callable[[Switch], CallManager],
        overload: OverloadGuard | None = None,
        ids: IdGenerator | None = None,
        peers: Peers | None = None,
    ) -> None:
        self.cache = cache
        self.layer = layer(self)
        self.clock = clock
        self.counters = counters
        self.authenticator = authenticator
        self.realm = realm
        self.digest_algorithms = digest_algorithms
        self.advertised = advertised
        self._close_tcp = close_tcp
        self._close_tcp_from = close_tcp_from
        self.overload = overload or OverloadGuard(clock)  # none given: nothing watched
        self.guard = SourceGuard()
        self.peers = peers or Peers.none()  # the other workers (workers.py), told of failures
        self.ids = ids or IdGenerator()
        self.silenced: dict[tuple[str, ...], float] = {}
        self._trusted_source: tuple[Any, tuple[Any, ...]] = (None, ())
        self.registrar = registrar(self)
        self.calls = calls(self)

    @property
    def config(self) -> Config:
        return self.cache.config

    def parameter(self, name: str) -> Any:
        return self.cache.config.parameters[name]

    # Entry points from the transports ---------------------------------------------------

    def on_datagram(self, data: bytes, remote: tuple[str, int]) -> None:
        """A UDP datagram: drop it if its source is suspended, else parse and route it."""
        if self._gate(remote[0]):
            self.layer.receive(try_parse_message(data), flow_to("udp", remote))

    def on_stream_message(self, message: Message | Malformed, flow: Flow) -> None:
        """A message framed from a TCP connection."""
        if self._gate(flow.ip):
            self.layer.receive(message, flow)
        else:
            self.close_connection(flow.connection_id)

    def on_peer(self, message: bytes) -> None:
        """A peer message from another worker (workers.Peers): a failed authentication it
        counted (so that every worker counts a source's failures towards its suspension), a
        success that cleared them, or a source it now knows or no longer knows (a registered
        phone's address)."""
        try:
            worker, kind, ip, value = message.decode().split(" ")
            if kind == "failure":
                self._record_failure(ip, float(value))
            elif kind == "success":
                self.guard.record_success(ip)
            elif kind == "source":
                self.registrar.bindings.peer_source(int(worker), ip, value == "1")
            else:
                raise ValueError(kind)
        except ValueError:
            logger.warning("a peer message not understood: %r", message[:200])

    def _gate(self, ip: str) -> bool:
        now = self.clock.now()
        if self.guard.is_suspended(ip, now):
            self.counters.security("unauthorized", now)
            return False
        return True

    # Transaction user ---------------------------------------------------------------------

    def on_request(self, request: Request, flow: Flow) -> None:
        """A request that is not a retransmission of an open transaction."""
        method = request.method
        if self._is_silenced(request):
            return
        if self.overload.sheds(request):
            self._shed(request, flow)
        elif method == "REGISTER":
            self.registrar.handle(request, flow)
        elif method == "INVITE" or method in IN_DIALOG or method == "CANCEL":
            self.calls.on_request(request, flow)
        elif method == "OPTIONS":
            self._options(request, flow)
        elif self.is_known_source(flow.ip):
            self.respond(self.layer.server_transaction(request, flow), 405, [("Allow", ALLOW)])
        else:
            self.refuse(request, flow, authentication_failed=False)

    def on_ack(self, request: Request, flow: Flow) -> None:
        """An ACK that matched no server transaction: the ACK for a 2xx, end to end."""
        self.calls.on_ack(request, flow)

    def on_stray_response(self, response: Response, flow: Flow) -> None:
        """A response without a transaction: a retransmitted 2xx to an INVITE must be ACKed."""
        self.calls.on_stray_response(response, flow)

    def on_malformed(self, message: Malformed | Request, flow: Flow, status: int) -> None:
        """Answer 400/505 when the request can be identified and the source may be answered."""
        logger.debug(
            "malformed message from %s: %s", flow.remote, getattr(message, "reason", status)
        )
        if not self.may_answer(flow.ip):
            return
        if isinstance(message, Malformed):
            if message.can_reply:
                self.layer.send_stateless(message.build_400(to_tag=self.ids.tag()), flow)
        else:
            self.layer.send_stateless(build_response(message, status, to_tag=self.ids.tag()), flow)

    def _shed(self, request: Request, flow: Flow) -> None:
        """The engine is behind: 503 with Retry-After, in a transaction that absorbs the
        request's retransmissions and its ACK, to whoever would get an answer otherwise (a
        source we answer, a REGISTER for an existing account); silence, as ever, to others."""
        account = account_of(request) if request.method == "REGISTER" else None
        if account in self.config.phones_by_number or self.may_answer(flow.ip):
            server = self.layer.server_transaction(request, flow)
            self.respond(server, 503, [self.overload.retry_after])
        else:
            self.silence(request)

    # Policy helpers ---------------------------------------------------------------------

    def trusted_networks(self) -> tuple[Any, ...]:
        """SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS, parsed once per value."""
        value = self.parameter("SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS")
        if self._trusted_source[0] is not value:
            self._trusted_source = (value, parse_networks(value))
        return self._trusted_source[1]

    def may_answer(self, ip: str) -> bool:
        """SS_REPLY_UNAUTHORIZED On, a trusted network, or a source we know."""
        return (
            self.parameter("SS_REPLY_UNAUTHORIZED")
            or in_networks(ip, self.trusted_networks())
            or self.is_known_source(ip)
        )

    def is_known_source(self, ip: str) -> bool:
        """A mapping gateway, a routing gateway (by IP or by the address its name resolves to)
        or a registered phone sends from this address."""
        return (
            self.config.is_gateway_ip(ip)
            or self.calls.resolver.knows_address(ip)
            or self.registrar.is_registered_ip(ip)
        )

    def refuse(
        self,
        request: Request,
        flow: Flow,
        *,
        authentication_failed: bool,
        count_failure: bool = True,
    ) -> None:
        """An unknown source or a failed authentication: count it, maybe suspend, 403 or silence.

        401/407 challenges are not refusals; an unknown account is refused, never challenged.
        """
        now = self.clock.now()
        self.counters.security("unauthorized", now)
        if authentication_failed:
            self.counters.security("register_failed", now)
        if count_failure:
            if self.parameter("SS_AUTHENTICATION_MAX_RETRY"):
                self.peers.tell("failure", flow.ip, repr(now))
            if self._record_failure(flow.ip, now):
                return
        if self.parameter("SS_REPLY_UNAUTHORIZED") or in_networks(flow.ip, self.trusted_networks()):
            self.respond(self.layer.server_transaction(request, flow), 403)
        else:
            self.silence(request)

    def _record_failure(self, ip: str, now: float) -> bool:
        """Count a failed authentication from `ip` (here or on another worker); True if it
        suspends the source, whose TCP connections are then closed."""
        suspended = self.guard.record_failure(
            ip,
            now,
            self.parameter("SS_AUTHENTICATION_MAX_RETRY"),
            self.parameter("SS_AUTHENTICATION_FAILED_SUSPEND"),
            self.parameter("SS_AUTHENTICATION_FAILED_WINDOW"),
        )
        if suspended:
            logger.warning("source %s suspended after repeated authentication failures", ip)
            self._close_tcp_from(ip, self.parameter("SS_TCP_CLOSE_RESET"))
        return suspended

    def silence(self, request: Request) -> None:
        """Stay silent to a request, and to its retransmissions for a while."""
        self.silenced[server_transaction_key(request)] = self.clock.monotonic() + SILENCE_SECONDS

    def _is_silenced(self, request: Request) -> bool:
        until = self.silenced.get(server_transaction_key(request)) if self.silenced else None
        return until is not None and self.clock.monotonic() < until

    def sweep(self, now: float) -> None:
        """Housekeeping: forget old silences, finished suspensions and stale failure counts."""
        monotonic = self.clock.monotonic()
        for key in [key for key, until in self.silenced.items() if until <= monotonic]:
            del self.silenced[key]
        self.guard.forget_expired(now, self.parameter("SS_AUTHENTICATION_FAILED_WINDOW"))

    # Answering and originating ----------------------------------------------------------

    def respond(
        self,
        server: ServerTransaction,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        reason: str | None = None,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> None:
        """Answer through a server transaction (a To tag is added when missing); a transaction
        already answered with a final response ignores a second answer."""
        if server.request is None:
            return
        server.respond(self._response(server.request, status, headers, reason, body, to_tag))

    def respond_statelessly(
        self, request: Request, flow: Flow, status: int, headers: list[tuple[str, str]]
    ) -> None:
        """Answer outside any transaction (RFC 3261 §8.2.7): a retransmission of the request
        is answered afresh, so nothing need hold it for 32 s (Timer J). For answers that are
        as good the second time, such as a digest challenge."""
        self.layer.send_stateless(self._response(request, status, headers), flow)

    def _response(
        self,
        request: Request,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        reason: str | None = None,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> Response:
        response = build_response(request, status, reason, to_tag=to_tag or self.ids.tag())
        for name, value in headers or []:
            response.headers.add(name, value)
        response.body = body
        return response

    def _options(self, request: Request, flow: Flow) -> None:
        if not self.is_known_source(flow.ip) and not in_networks(flow.ip, self.trusted_networks()):
            self.refuse(request, flow, authentication_failed=False, count_failure=False)
            return
        server = self.layer.server_transaction(request, flow)
        if not self.refuses_requirements(request, server):
            self.respond(server, 200, [("Allow", ALLOW), ("Accept", "application/sdp")])

    def refuses_requirements(self, request: Request, server: ServerTransaction) -> bool:
        """RFC 3261 §8.2.2.3: a request whose Require names an option tag the switch does not
        support gets 420 Bad Extension, the tags listed in Unsupported; True if it did."""
        unsupported = unsupported_options(request)
        if unsupported:
            self.respond(server, 420, [("Unsupported", ", ".join(unsupported))])
        return bool(unsupported)

    def authenticate(
        self, header_name: str, request: Request, phone: PhoneAccount, ip: str
    ) -> DigestResult | None:
        """Check a phone's digest credentials for a request (in its Authorization or
        Proxy-Authorization header): None without any for this realm. A source whose
        credentials pass stops counting towards its suspension."""
        credentials = credentials_for_realm(request.headers.get_all(header_name), self.realm)
        if credentials is None or isinstance(credentials, DigestResult):
            return credentials
        if credentials.username != phone.e164:
            return DigestResult.MALFORMED
        if (credentials.algorithm or DigestAlgorithm.MD5) not in self.digest_algorithms:
            return DigestResult.MALFORMED  # not offered (SIP_DIGEST_ALGORITHMS): refused
        verdict = self.authenticator.verify(
            credentials,
            method=request.method,
            realm=self.realm,
            request_uri=credentials.uri,  # not the Request-URI's: see README, "Digest"
            now=self.clock.now(),
            password=phone.password,
        )
        if verdict is DigestResult.OK and self.guard.record_success(ip):
            self.peers.tell("success", ip, "-")
        return verdict

    def challenges(self, stale: bool = False) -> list[str]:
        """WWW-/Proxy-Authenticate values, one per algorithm in SIP_DIGEST_ALGORITHMS order
        (many clients answer the first they see, so the first is the one they will use)."""
        now = self.clock.now()
        nonce = self.authenticator.make_nonce(self.realm, now)
        return [
            self.authenticator.challenge(
                self.realm, now, algorithm=algorithm, stale=stale, nonce=nonce
            )
            for algorithm in self.digest_algorithms
        ]

    def local_via(self, transport: str) -> Via:
        """Our sent-by for requests we originate on a transport."""
        return Via(transport.upper(), self.advertised[0], self.advertised[1])

    def local_uri(self, user: str | None = None, transport: str = "udp") -> SipUri:
        """A SIP URI naming this switch (Contact, From of probes)."""
        params = (("transport", transport),) if transport == "tcp" else ()
        return SipUri(host=self.advertised[0], user=user, port=self.advertised[1], params=params)

    def send_options(
        self,
        target: str,
        flow: Flow,
        on_response: Callable[[Response], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        """Probe a contact or a gateway with OPTIONS; any response means it is alive."""
        uri = parse_uri(target)
        request = new_request(
            "OPTIONS",
            uri,
            via=self.local_via(flow.transport),
            from_=NameAddr(self.local_uri("vosadmin")),
            to=NameAddr(uri),
            ids=self.ids,
        )
        self.layer.send_request(request, flow, on_response, on_failure or (lambda reason: None))

    def close_connection(self, connection_id: int | None) -> None:
        """Close a TCP connection the way SS_TCP_CLOSE_RESET says."""
        self._close_tcp(connection_id, self.parameter("SS_TCP_CLOSE_RESET"))


def credentials_for_realm(values: list[str], realm: str) -> DigestCredentials | DigestResult | None:
    """The credentials for `realm` among Authorization or Proxy-Authorization values; those
    for other realms belong to other servers (RFC 3261 §20.7, §20.28). None when there are
    none for `realm`, MALFORMED when there are none but a value could not be parsed."""
    malformed = False
    for value in values:
        credentials = parse_credentials(value)
        if credentials is not None and credentials.realm == realm:
            return credentials
        malformed = malformed or credentials is None
    return DigestResult.MALFORMED if malformed else None
