"""The B2BUA in memory: the engine's switch wired to fake callers and gateways, no sockets.

h11's tests/helpers.py is the model: endpoints exchange parsed messages with the real switch
(`Switch`, `CallManager`, `Call`, the SIP layer and its transactions, the registrar), whose
clock is a `FakeClock` — a test moves time with `advance()` instead of sleeping. The parts
outside the call logic are the real ones too: the configuration is loaded from the test
database by the engine's own `store` functions, lines, counters and money are held in the
test Redis, and CDRs are appended to a real journal (read back with `cdrs()`).

Each step (a message sent to the switch, time advanced) runs the engine's event loop until
nothing is left to do, so a test reads as the exchange it checks:

    caller = b2bua.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000001")
    gateway_invite = vendor.take("INVITE")
    vendor.answer(gateway_invite, 486)
    assert caller.take(486)
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis.asyncio
from django.conf import settings

from billing.ingest import CDR_COLUMNS
from softswitch.engine import store
from softswitch.engine.call_manager import CallManager
from softswitch.engine.cdr_journal import CdrJournal
from softswitch.engine.config import Config, ConfigCache
from softswitch.engine.counters import Counters
from softswitch.engine.registrar import BindingStore, Registrar
from softswitch.engine.sip_layer import SipLayer
from softswitch.engine.switch import Switch
from softswitch.engine.transport import Flow
from softswitch.engine.workers import Peers
from softswitch.sip.dialog import Dialog, build_cancel
from softswitch.sip.digest import (
    DigestAlgorithm,
    DigestAuthenticator,
    DigestChallenge,
    build_authorization,
    parse_challenge,
)
from softswitch.sip.fields import Via
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Message, Request, Response, build_response
from softswitch.sip.parser import try_parse_message
from softswitch.sip.requests import new_request
from softswitch.sip.transaction import build_ack_for_failure
from softswitch.sip.uri import NameAddr, SipUri
from tests.engine.virtual_time import FakeClock

NODE = "in-memory"
SWITCH = ("192.0.2.1", 5060)
OTHER_WORKER = ("127.0.0.1", 1)  # the switch is worker 0 of two: what it tells is in `told`
SDP = (
    b"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\na={direction}\r\n"
)


def load_config() -> Config:
    """The engine's configuration as `ConfigCache.load_all` builds it, by the same `store`
    functions, read in the test's own transaction (so that `django_db` tests need not commit
    their data): without `fresh_connection`, which would close that transaction's connection."""
    config = Config()
    config.parameters = store.load_parameters.__wrapped__()
    config.set_phones(store.load_phones.__wrapped__())
    config.set_mapping_gateways(store.load_mapping_gateways.__wrapped__())
    config.set_routing_gateways(store.load_routing_gateways.__wrapped__())
    config.lists = store.load_lists.__wrapped__()
    config.dynamic = store.load_dynamic_entries.__wrapped__()
    config.accounts = store.load_accounts.__wrapped__()
    config.rate_tables = store.load_rate_tables.__wrapped__()
    return config


def sdp(ip: str, direction: str = "sendrecv") -> bytes:
    return SDP.replace(b"{ip}", ip.encode()).replace(b"{direction}", direction.encode())


class Endpoint:
    """A SIP peer of the switch at one address: what it received, and how it answers."""

    def __init__(self, b2bua: B2bua, address: tuple[str, int]) -> None:
        self.b2bua = b2bua
        self.address = address
        self.ids = IdGenerator()
        self.inbox: list[Message] = []
        self.dialogs: dict[str, Dialog] = {}  # by Call-ID

    @property
    def via(self) -> Via:
        return Via("UDP", *self.address)

    def contact(self, user: str | None = None) -> SipUri:
        return SipUri(host=self.address[0], user=user, port=self.address[1])

    def send(self, message: Message) -> None:
        """Hand a message to the switch as a datagram from this endpoint, and let it work."""
        self.b2bua.step(lambda: self.b2bua.switch.on_datagram(message.to_bytes(), self.address))

    def take(self, wanted: str | int) -> Any:
        """The first message received that is a request of method `wanted` or a response of
        status `wanted` (removed from the inbox); fails if there is none."""
        for index, message in enumerate(self.inbox):
            if _is(message, wanted):
                return self.inbox.pop(index)
        raise AssertionError(f"{self.address}: no {wanted} among {self.summary()}")

    def received(self, wanted: str | int) -> list[Message]:
        """Every message received that is `wanted` (left in the inbox)."""
        return [message for message in self.inbox if _is(message, wanted)]

    def summary(self) -> list[str]:
        return [_describe(message) for message in self.inbox]

    def answer_probes(self) -> int:
        """Answer every OPTIONS received with 200 (a peer that is alive); how many."""
        probes = self.received("OPTIONS")
        for probe in probes:
            self.inbox.remove(probe)
            assert isinstance(probe, Request)
            self.send(build_response(probe, 200, to_tag=self.ids.tag()))
        return len(probes)

    def bye(self, call_id: str) -> Request:
        """Hang up the dialog of `call_id` (established by `ack` or `answer`)."""
        request = self.dialogs[call_id].create_request("BYE", self.ids)
        self.send(request)
        return request


class Caller(Endpoint):
    """A phone or a customer's gateway placing calls to the switch."""

    def invite(
        self,
        callee: str,
        caller: str = "2125550100",
        max_forwards: int = 70,
        *,
        after: Request | None = None,
        authorization: str | list[str] | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        """Call `callee`; `after` a challenged INVITE, again with its Call-ID and the next CSeq
        (`authorization`: the Proxy-Authorization value, or a list of them in order); with
        extra `headers` (name, value) if given."""
        switch = SipUri(host=SWITCH[0], user=callee, port=SWITCH[1])
        request = new_request(
            "INVITE",
            switch,
            via=self.via,
            from_=NameAddr(SipUri(host=self.address[0], user=caller)),
            to=NameAddr(switch),
            ids=self.ids,
            call_id=after.call_id if after else None,
            cseq=after.cseq.number + 1 if after else 1,
            contact=self.contact(caller),
            body=sdp(self.address[0]),
            content_type="application/sdp",
        )
        request.headers.set("Max-Forwards", str(max_forwards))
        values = [authorization] if isinstance(authorization, str) else authorization or []
        for value in values:
            request.headers.add("Proxy-Authorization", value)
        for name, value in headers:
            request.headers.add(name, value)
        self.send(request)
        return request

    def ack(self, invite: Request, response: Response) -> None:
        """ACK a final response: end to end for a 2xx (the dialog is kept for `bye`), in the
        INVITE's transaction for a failure."""
        if response.status_code >= 300:
            self.send(build_ack_for_failure(invite, response))
            return
        dialog = Dialog.as_uac(invite, response, local_contact=self.contact(), local_via=self.via)
        self.dialogs[invite.call_id] = dialog
        self.send(dialog.create_ack(invite.cseq.number, self.ids))

    def cancel(self, invite: Request) -> None:
        self.send(build_cancel(invite))

    def reinvite(self, call_id: str, direction: str) -> Request:
        """Put the call on hold (or back): a re-INVITE with SDP `a=<direction>`."""
        dialog = self.dialogs[call_id]
        body = sdp(self.address[0], direction)
        request = dialog.create_request(
            "INVITE", self.ids, body=body, content_type="application/sdp"
        )
        self.send(request)
        return request


class Phone(Caller):
    """A phone: registers and calls with digest authentication (SPEC §3.2, §3.3 step 1)."""

    def call(self, callee: str, e164: str, password: str) -> Request:
        """INVITE, answer the 407 challenge; the INVITE that carries the credentials."""
        first = self.invite(callee, e164)
        challenge = self.take(407)
        self.ack(first, challenge)
        parsed = parse_challenge(challenge.headers.get_all("proxy-authenticate")[0])
        assert parsed is not None
        authorization = build_authorization(
            parsed,
            method="INVITE",
            uri=str(first.uri),
            username=e164,
            password=password,
            cnonce=self.ids.tag(),
        )
        return self.invite(callee, e164, after=first, authorization=authorization)

    def register(
        self, e164: str, password: str, expires: int | None = 3600, **options: Any
    ) -> int | None:
        """REGISTER, answer the challenge; the final status (None: the switch kept silent)."""
        final = self.registration(e164, password, expires, **options)
        return None if final is None else final.status_code

    def registration(
        self,
        e164: str,
        password: str,
        expires: int | None = 3600,
        *,
        contact: str | None = None,
        call_id: str | None = None,
        cseq: int = 1,
        require: str | None = None,
        algorithm: DigestAlgorithm | None = None,
    ) -> Response | None:
        """REGISTER at `cseq`, answer a 401 at the next CSeq; the final response (None: the
        switch kept silent). `expires` None sends no Expires header; `contact` is the Contact
        header's value instead of this phone's address ("" sends none); `require` is a Require
        header's value; `algorithm` answers the challenge with that one instead of its own."""
        request = self._register(e164, expires, cseq, call_id, contact=contact, require=require)
        challenge = self._final(request)
        if challenge is None or challenge.status_code != 401:
            return challenge
        parsed = parse_challenge(challenge.headers.get_all("www-authenticate")[0])
        assert parsed is not None
        if algorithm is not None:
            parsed = DigestChallenge(
                parsed.realm, parsed.nonce, algorithm, parsed.qop, parsed.opaque, parsed.stale
            )
        authorization = build_authorization(
            parsed,
            method="REGISTER",
            uri=str(request.uri),
            username=e164,
            password=password,
            cnonce=self.ids.tag(),
        )
        retry = self._register(
            e164, expires, cseq + 1, request.call_id, authorization, contact, require
        )
        return self._final(retry)

    def _register(
        self,
        e164: str,
        expires: int | None,
        cseq: int,
        call_id: str | None = None,
        authorization: str | None = None,
        contact: str | None = None,
        require: str | None = None,
    ) -> Request:
        account = SipUri(host=SWITCH[0], user=e164)
        request = new_request(
            "REGISTER",
            SipUri(host=SWITCH[0], port=SWITCH[1]),
            via=self.via,
            from_=NameAddr(account),
            to=NameAddr(account),
            ids=self.ids,
            call_id=call_id,
            cseq=cseq,
            contact=self.contact(e164),
        )
        if contact is not None:
            request.headers.remove("Contact")
            if contact:
                request.headers.add("Contact", contact)
        if expires is not None:
            request.headers.add("Expires", str(expires))
        if authorization is not None:
            request.headers.add("Authorization", authorization)
        if require is not None:
            request.headers.add("Require", require)
        self.send(request)
        return request

    def _final(self, request: Request) -> Response | None:
        """The response to `request` (taken from the inbox), if the switch sent one."""
        for index, message in enumerate(self.inbox):
            if isinstance(message, Response) and message.cseq.number == request.cseq.number:
                del self.inbox[index]
                return message
        return None


class Gateway(Endpoint):
    """A routing gateway the switch sends calls to."""

    def answer(
        self, request: Request, status: int, *, sdp_body: bool = False, tag: str = "gw"
    ) -> Response:
        """Respond to a request (`sdp_body`: with this gateway's SDP, e.g. early media)."""
        response = build_response(request, status, to_tag=tag)
        if status < 300 or sdp_body:
            response.headers.add("Contact", f"<{self.contact()}>")
        if sdp_body or (200 <= status < 300 and request.method == "INVITE"):
            response.headers.add("Content-Type", "application/sdp")
            response.body = sdp(self.address[0])
        if request.method == "INVITE" and 200 <= status < 300:
            self.dialogs[request.call_id] = Dialog.as_uas(
                request, local_tag=tag, local_contact=self.contact(), local_via=self.via
            )
        self.send(response)
        return response


class B2bua:
    """The switch of one engine node, its peers in memory, and the virtual time they share."""

    def __init__(self, spool: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(start=time.time())  # rates and blacklist entries are real dates
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="b2bua-db")
        self.redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        self.endpoints: dict[tuple[str, int], Endpoint] = {}
        self.lost: list[tuple[Flow, Message]] = []  # sent where no endpoint listens
        self.journal = CdrJournal(spool, NODE)
        self.told: list[bytes] = []  # peer messages to the other workers (workers.Peers)
        peers = Peers(0, [SWITCH, OTHER_WORKER], lambda data, inbox: self.told.append(data))
        cache = ConfigCache(self.executor)
        cache.config = load_config()
        self.switch = Switch(
            cache=cache,
            layer=lambda user: SipLayer(self._deliver, self.clock, user),
            clock=self.clock,
            counters=Counters(self.redis, NODE),
            authenticator=DigestAuthenticator(b"in-memory digest secret"),
            realm="vosadmin",
            advertised=SWITCH,
            digest_algorithms=(DigestAlgorithm.MD5,),
            close_tcp=lambda connection, reset: None,
            close_tcp_from=lambda ip, reset: None,
            registrar=lambda switch: Registrar(switch, BindingStore(NODE, self.executor, peers)),
            calls=lambda switch: CallManager(switch, self.journal, NODE, 1, self.executor),
            peers=peers,
        )

    def caller(self, ip: str, port: int = 5060) -> Caller:
        """The caller at ip:port (the same one each time)."""
        known = self.endpoints.get((ip, port))
        return known if isinstance(known, Caller) else self._add(Caller(self, (ip, port)))

    def phone(self, ip: str, port: int = 5060) -> Phone:
        return self._add(Phone(self, (ip, port)))

    def gateway(self, ip: str, port: int) -> Gateway:
        return self._add(Gateway(self, (ip, port)))

    def _add(self, endpoint: Any) -> Any:
        self.endpoints[endpoint.address] = endpoint
        return endpoint

    def _deliver(self, flow: Flow, data: bytes, on_error: Callable[[], None]) -> None:
        message = try_parse_message(data)
        assert isinstance(message, Request | Response), f"the switch sent garbage: {data!r}"
        endpoint = self.endpoints.get(flow.remote)
        if endpoint is None:
            self.lost.append((flow, message))
        else:
            endpoint.inbox.append(message)

    # Running the engine -----------------------------------------------------------------

    def step(self, action: Callable[[], object]) -> None:
        """Run `action` on the engine's loop, then everything it set going."""
        self.loop.run_until_complete(self._step(action))

    async def _step(self, action: Callable[[], object]) -> None:
        action()
        await self._settle()

    def run(self, work: Coroutine[Any, Any, object]) -> object:
        """Await `work` on the engine's loop (e.g. `Counters.flush()`)."""
        return self.loop.run_until_complete(work)

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass: each timer fires at its deadline, and what it
        set going runs before the next one."""
        self.loop.run_until_complete(self._advance(seconds))

    def housekeeping(self) -> None:
        """What the engine's loops do every second for the call logic (`Engine._housekeeping`
        and the gateway probes): expire and probe bindings, forget silences, probe gateways."""
        now = self.clock.now()
        switch = self.switch
        self.step(
            lambda: (switch.registrar.sweep(now), switch.sweep(now), switch.calls.gateways.tick())
        )

    async def _advance(self, seconds: float) -> None:
        end = self.clock.time + seconds
        while (deadline := self.clock.next_deadline()) is not None and deadline <= end:
            self.clock.advance(deadline - self.clock.time)
            await self._settle()
        self.clock.advance(end - self.clock.time)
        await self._settle()

    async def _settle(self) -> None:
        """Run the loop until no task is left (Redis round trips are real, hence the wait)."""
        while True:
            await asyncio.sleep(0)
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if not others:
                return
            await asyncio.wait(others, timeout=5)

    def close(self) -> None:
        self.loop.run_until_complete(self.redis.aclose())
        self.loop.close()
        self.journal.close()
        self.executor.shutdown()

    # What the calls left --------------------------------------------------------------

    def cdrs(self) -> list[dict[str, str]]:
        """The CDRs journaled so far, as the text COPY will load (column → value)."""
        self.journal.sync()
        with open(self.journal.path, newline="") as lines:
            return [dict(zip(CDR_COLUMNS, row, strict=True)) for row in csv.reader(lines)]

    def cdr(self, callee: str) -> dict[str, str]:
        """The one CDR of the calls to `callee`."""
        (found,) = [row for row in self.cdrs() if row["callee"] == callee]
        return found


def _is(message: Message, wanted: str | int) -> bool:
    if isinstance(wanted, int):
        return isinstance(message, Response) and message.status_code == wanted
    return isinstance(message, Request) and message.method == wanted


def _describe(message: Message) -> str:
    if isinstance(message, Response):
        return f"{message.status_code} ({message.cseq.method})"
    return str(getattr(message, "method", "?"))
