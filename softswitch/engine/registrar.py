"""The registrar (SPEC §3.2): digest-challenged REGISTER, one binding per phone, kept in memory
and mirrored to the `Registration` table; lightweight-registration probes; forced unregister."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from concurrent.futures import Executor
from typing import Any, Protocol

from softswitch.engine import store
from softswitch.engine.answering import Answering
from softswitch.engine.gateways import Prober
from softswitch.engine.transport import Flow
from softswitch.engine.workers import NodeShare, Peers
from softswitch.rules.domain import PhoneAccount
from softswitch.rules.registrar import Binding, Outcome, RegisterRequest, decide, granted_expiry
from softswitch.sip.digest import DigestResult
from softswitch.sip.message import Request
from softswitch.sip.uri import SipUri

logger = logging.getLogger(__name__)

RETRY_CHALLENGE = (DigestResult.STALE, DigestResult.REPLAY, DigestResult.BAD_NONCE)
REFUSALS = {  # the REGISTERs that change nothing: status and reason
    Outcome.REJECT: (403, "Already registered from another contact"),
    Outcome.INVALID: (400, "Contact * needs Expires: 0"),
    Outcome.OUT_OF_ORDER: (400, "CSeq out of order"),
    Outcome.TOO_LONG: (400, "Contact too long"),
}


def account_of(request: Request) -> str | None:
    """The account a REGISTER is for: the user part of the To URI (the address of record)."""
    uri = request.to.uri
    return uri.unescaped_user if isinstance(uri, SipUri) else None


def register_request(request: Request) -> RegisterRequest:
    """What the policy needs from a REGISTER."""
    order = (request.call_id, request.cseq.number)
    if request.contact_is_wildcard:
        return RegisterRequest(None, True, request.expires, *order)
    contacts = request.contact
    if not contacts:
        return RegisterRequest(None, False, request.expires, *order)
    first = contacts[0]
    expires = first.expires if first.expires is not None else request.expires
    return RegisterRequest(str(first.uri), False, expires, *order)


class BindingStore:
    """Bindings in memory, with their database mirror written in batches off the call path.

    It knows the addresses its phones register from, and those of the other workers' phones
    (SIP_WORKERS, workers.Peers): it tells them when an address becomes registered here or
    stops being so."""

    def __init__(
        self,
        node: str,
        executor: Executor,
        peers: Peers | None = None,
        share: NodeShare | None = None,
    ) -> None:
        self.node = node
        self.share = share or NodeShare(node)  # which phones' bindings it restores
        self.executor = executor
        self.peers = peers or Peers.none()
        self.bindings: dict[int, Binding] = {}
        self.ip_counts: Counter[str] = Counter()
        self.peer_ips: dict[str, set[int]] = {}  # address → the other workers it is bound on
        self._upserts: dict[int, Binding] = {}
        self._deletes: set[int] = set()

    def get(self, phone_id: int) -> Binding | None:
        return self.bindings.get(phone_id)

    def put(self, binding: Binding) -> None:
        old = self.bindings.get(binding.phone_id)
        if old is None or old.source[0] != binding.source[0]:
            self._forget_ip(old)
            self._count_ip(binding.source[0])
        self.bindings[binding.phone_id] = binding
        self._upserts[binding.phone_id] = binding
        self._deletes.discard(binding.phone_id)

    def remove(self, phone_id: int, persist: bool = True) -> Binding | None:
        binding = self.bindings.pop(phone_id, None)
        self._forget_ip(binding)
        self._upserts.pop(phone_id, None)
        if persist:
            self._deletes.add(phone_id)
        return binding

    def _count_ip(self, ip: str) -> None:
        self.ip_counts[ip] += 1
        if self.ip_counts[ip] == 1:
            self.peers.tell("source", ip, "1")

    def _forget_ip(self, binding: Binding | None) -> None:
        if binding is not None:
            ip = binding.source[0]
            self.ip_counts[ip] -= 1
            if self.ip_counts[ip] <= 0:
                del self.ip_counts[ip]
                self.peers.tell("source", ip, "0")

    def peer_source(self, worker: int, ip: str, bound: bool) -> None:
        """Another worker's phones now send from `ip`, or no longer do."""
        workers = self.peer_ips.setdefault(ip, set())
        if bound:
            workers.add(worker)
        else:
            workers.discard(worker)
            if not workers:
                del self.peer_ips[ip]

    def knows_ip(self, ip: str) -> bool:
        """Whether a phone registered here or on another worker sends from `ip`."""
        return ip in self.ip_counts or ip in self.peer_ips

    async def flush(self) -> None:
        """Write the pending changes; on a database error keep them for the next flush."""
        upserts, self._upserts = self._upserts, {}
        deletes, self._deletes = self._deletes, set()
        if not upserts and not deletes:
            return
        loop = asyncio.get_running_loop()
        rows = [self._row(binding) for binding in upserts.values()]
        try:
            await loop.run_in_executor(self.executor, store.save_registrations, rows)
            await loop.run_in_executor(
                self.executor, store.delete_registrations, sorted(deletes), self.node
            )
        except Exception as error:
            logger.warning("registrations not saved yet: %s", error)
            self._upserts = {**upserts, **self._upserts}
            self._deletes |= deletes - set(self._upserts)

    def _row(self, binding: Binding) -> dict[str, Any]:
        return {
            "phone_id": binding.phone_id,
            "contact": binding.contact,
            "source": f"{binding.source[0]}:{binding.source[1]}",
            "transport": binding.transport,
            "registered_at": store.timestamp_to_datetime(binding.registered_at),
            "expires_at": store.timestamp_to_datetime(binding.expires_at),
            "user_agent": binding.user_agent[:255],
            "call_id": binding.call_id[:255],
            "node": self.node,
        }

    async def restore(self, phones: dict[int, PhoneAccount]) -> int:
        """Load the unexpired bindings this node holds after a restart (its own, and those
        its engine's other nodes, or a different number of workers, left for its phones);
        returns how many."""
        rows = await asyncio.get_running_loop().run_in_executor(
            self.executor, store.load_registrations, self.node, self.share
        )
        for row in rows:
            phone = phones.get(row["phone_id"])
            if phone is not None:
                binding = binding_from_row(row, phone)
                self.bindings[phone.id] = binding
                self._count_ip(binding.source[0])
        return len(self.bindings)


def binding_from_row(row: dict[str, Any], phone: PhoneAccount) -> Binding:
    """A Binding from a `Registration` row."""
    host, _, port = row["source"].rpartition(":")
    return Binding(
        phone_id=phone.id,
        e164=phone.e164,
        contact=row["contact"],
        source=(host.strip("[]"), int(port or 5060)),
        transport=row["transport"],
        registered_at=row["registered_at"].timestamp(),
        expires_at=row["expires_at"].timestamp(),
        user_agent=row["user_agent"],
        call_id=row["call_id"],
    )


class RegistrarSwitch(Answering, Prober, Protocol):
    """What the registrar needs from the switch (`switch.Switch`): what answering a request
    takes, OPTIONS to probe a contact (as the gateway monitor does), and closing a phone's TCP
    connection."""

    def close_connection(self, connection_id: int | None) -> None: ...


class Registrar:
    """Handles REGISTER for the switch and keeps the bindings alive or removes them."""

    def __init__(self, switch: RegistrarSwitch, bindings: BindingStore) -> None:
        self.switch = switch
        self.bindings = bindings

    # REGISTER ---------------------------------------------------------------------------

    def handle(self, request: Request, flow: Flow) -> None:
        """Authenticate a REGISTER and apply SPEC §3.2 to the account's binding."""
        switch = self.switch
        account = account_of(request)
        phone = switch.config.phones_by_number.get(account) if account else None
        if phone is None:
            switch.refuse(request, flow, authentication_failed=False)
            return
        verdict = switch.authenticate("authorization", request, phone, flow.ip)
        if verdict is None:
            return self._challenge(request, flow, stale=False)
        if verdict in RETRY_CHALLENGE:
            return self._challenge(request, flow, stale=verdict is DigestResult.STALE)
        if verdict is not DigestResult.OK:
            switch.refuse(request, flow, authentication_failed=True)
            return
        self._register(request, flow, phone)

    def _challenge(self, request: Request, flow: Flow, stale: bool) -> None:
        """401 without a transaction, as Kamailio's registrars challenge: a retransmitted
        REGISTER gets a fresh nonce, as good as the first, and half of a registration's
        transactions need not wait 32 s (Timer J) to absorb retransmissions."""
        challenges = self.switch.challenges(stale=stale)
        headers = [("WWW-Authenticate", value) for value in challenges]
        self.switch.respond_statelessly(request, flow, 401, headers)

    def _register(self, request: Request, flow: Flow, phone: PhoneAccount) -> None:
        switch = self.switch
        server = switch.layer.server_transaction(request, flow)
        if switch.refuses_requirements(request, server):  # §10.3 step 2
            return
        now = switch.clock.now()
        wanted = register_request(request)
        existing = self.bindings.get(phone.id)
        outcome = decide(existing, wanted, switch.parameter("SS_ENDPOINT_REGISTER_REPLACE"), now)
        if outcome in REFUSALS:
            status, reason = REFUSALS[outcome]
            switch.respond(server, status, reason=reason)
            return
        if outcome is Outcome.REMOVE:
            if existing and (wanted.wildcard or existing.contact == wanted.contact):
                self.unbind(phone.id, close=False)
            switch.respond(server, 200, self._contact_headers(self.bindings.get(phone.id), now))
            return
        if outcome is Outcome.QUERY:
            switch.respond(server, 200, self._contact_headers(existing, now))
            return
        binding = self._bind(request, flow, phone, wanted, now)
        if outcome is Outcome.KICK and existing is not None:
            self._kick(existing, binding)
        switch.respond(server, 200, self._contact_headers(binding, now))

    def _bind(
        self, request: Request, flow: Flow, phone: PhoneAccount, wanted: RegisterRequest, now: float
    ) -> Binding:
        granted = granted_expiry(
            wanted.requested_expires, self.switch.parameter("SS_ENDPOINT_EXPIRE")
        )
        existing = self.bindings.get(phone.id)
        kept = existing if existing is not None and existing.contact == wanted.contact else None
        binding = Binding(
            phone_id=phone.id,
            e164=phone.e164,
            contact=wanted.contact or "",
            source=flow.remote,
            transport=flow.transport,
            registered_at=kept.registered_at if kept else now,
            expires_at=now + granted,
            user_agent=request.user_agent or "",
            call_id=request.call_id,
            cseq=request.cseq.number,
            connection_id=flow.connection_id,
            next_probe_at=kept.next_probe_at if kept else now + self._probe_interval(),
        )
        self.bindings.put(binding)
        return binding

    def _kick(self, old: Binding, new: Binding) -> None:
        """SS_ENDPOINT_REGISTER_REPLACE On: the new contact replaced the old one."""
        self.switch.counters.security("register_replaced", self.switch.clock.now())
        if old.connection_id is not None and old.connection_id != new.connection_id:
            self.switch.close_connection(old.connection_id)

    @staticmethod
    def _contact_headers(binding: Binding | None, now: float) -> list[tuple[str, str]]:
        if binding is None:
            return []
        remaining = max(int(binding.expires_at - now), 0)
        return [
            ("Contact", f"<{binding.contact}>;expires={remaining}"),
            ("Expires", str(remaining)),
        ]

    # Housekeeping -----------------------------------------------------------------------

    def unbind(self, phone_id: int, close: bool, persist: bool = True) -> None:
        """Remove a phone's binding (un-REGISTER, expiry, probes, console); maybe close its TCP."""
        binding = self.bindings.remove(phone_id, persist=persist)
        if binding is not None and close and binding.connection_id is not None:
            self.switch.close_connection(binding.connection_id)

    def sweep(self, now: float) -> None:
        """Expire bindings, and run the lightweight-registration probes (SS_ENDPOINTTIMETOLIVE)."""
        interval = self._probe_interval()
        for binding in list(self.bindings.bindings.values()):
            if not binding.alive(now):
                self.unbind(binding.phone_id, close=False)
            elif interval and self._probe_due(binding, now, interval):
                self._probe(binding, now, interval)

    def _probe_interval(self) -> int:
        interval: int = self.switch.parameter("SS_ENDPOINTTIMETOLIVE")
        return interval

    @staticmethod
    def _probe_due(binding: Binding, now: float, interval: int) -> bool:
        """Whether the binding's next probe is due; a period lowered since it was scheduled
        applies at once (its probe comes no later than one new period from now)."""
        binding.next_probe_at = min(binding.next_probe_at, now + interval)
        return now >= binding.next_probe_at

    def _probe(self, binding: Binding, now: float, interval: int) -> None:
        """Two checks in a row without any response remove the binding."""
        if binding.probe_pending:
            binding.missed_probes += 1
            if binding.missed_probes >= 2:
                logger.info("phone %s stopped answering OPTIONS: binding removed", binding.e164)
                self.unbind(binding.phone_id, close=True)
                return
        binding.probe_pending = True
        binding.next_probe_at = now + interval
        self.switch.send_options(
            binding.contact, self._flow_of(binding), lambda response: self._alive(binding)
        )

    def _alive(self, binding: Binding) -> None:
        binding.probe_pending = False
        binding.missed_probes = 0

    @staticmethod
    def _flow_of(binding: Binding) -> Flow:
        """Reach a phone where its REGISTER came from (NAT-safe), on its TCP connection if any."""
        return Flow(binding.transport, binding.source, binding.connection_id)

    def contact_flow(self, phone_id: int) -> tuple[Binding, Flow] | None:
        """A registered phone's binding and the flow to reach it, for calls to it."""
        binding = self.bindings.get(phone_id)
        return None if binding is None else (binding, self._flow_of(binding))

    def bound_connections(self) -> set[int]:
        """The TCP connections that carry a live binding (kept open)."""
        return {b.connection_id for b in self.bindings.bindings.values() if b.connection_id}

    def is_registered_ip(self, ip: str) -> bool:
        """Whether a registered phone sends from this address."""
        return self.bindings.knows_ip(ip)
