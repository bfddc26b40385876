"""Several engine workers behind one SIP address (softswitch/engine/workers.py, ADR 0011):
how the dispatcher picks a datagram's worker, and calls through two real workers with sipp."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import zlib
from datetime import timedelta
from functools import partial
from pathlib import Path
from unittest.mock import patch

import psutil
import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing.flow_numbers import MAX_NODE, SEQUENCE_BITS
from billing.models import Cdr
from softswitch.engine import store, transport
from softswitch.engine.clock import Clock
from softswitch.engine.dispatcher import NATIVE_RELAY, POLLS_PER_SECOND, Dispatcher, DropReport
from softswitch.engine.overload import DelayProbe
from softswitch.engine.tcp_proxy import (
    LINK_RECORD_BYTES,
    UNANSWERED_SECONDS,
    Link,
    ProxiedConnection,
    ProxiedTcp,
    TcpProxy,
    link_pair,
    parse_record,
    record,
)
from softswitch.engine.transport import DispatchedUdpEndpoint, flow_to
from softswitch.engine.workers import (
    WORKER_ENV,
    NodeShare,
    WorkerSockets,
    call_id_tag,
    unwrap,
    worker_for,
    worker_of,
    wrap,
)
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from softswitch.sip.ids import IdGenerator
from softswitch.sip.stream import FrameReceived, StreamFramer
from tests.engine.fixtures import auth_row
from tests.engine.harness import free_port, requires_sipp, run_sipp, sipp_finished, wait_for
from tests.engine.sip_client import SipSocketClient
from vosadmin.core.parameters import update_parameter


def message(
    start: str = "BYE sip:b@example.com SIP/2.0",
    call_id: str = "Call-ID: 1@192.0.2.1",
    from_: str = "From: <sip:2125550100@192.0.2.1>;tag=a",
    to: str = "To: <sip:8613800000001@192.0.2.9>;tag=b",
    body: str = "",
) -> bytes:
    lines = [start, "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx", from_, to, call_id]
    return ("\r\n".join([*lines, f"Content-Length: {len(body)}", "", body])).encode()


def test_a_call_stays_with_the_worker_of_its_caller() -> None:
    """Every message from the caller, and the caller's responses to ours, go by its user."""
    for n in range(50):
        caller, call_id = f"21255{n:05d}", f"Call-ID: {n}-c@192.0.2.1"
        a_side = f"<sip:{caller}@192.0.2.1>;tag=a"
        b_side = "<sip:8613800000001@192.0.2.9>;tag=b"
        messages = [
            message(f"{method} sip:8613800000001@192.0.2.9 SIP/2.0", call_id, f"From: {a_side}")
            for method in ("INVITE", "ACK", "CANCEL", "BYE", "INFO")
        ]
        messages += [  # compact and odd spellings, a display name that looks like a URI
            message(call_id=f"i: {n}-c@192.0.2.1", from_=f"f:{a_side}"),
            message(from_=f'FROM:\t"sip:9999@evil <x>" {a_side}'),
            message(from_=f"From: sip:{caller}@192.0.2.1;tag=a"),
            # The caller's response to our BYE: From and To swapped.
            message("SIP/2.0 200 OK", call_id, f"From: {b_side}", f"To: {a_side}"),
        ]
        assert len({worker_for(each, 4) for each in messages}) == 1, caller


def test_callers_are_spread_over_the_workers() -> None:
    callers = (message(from_=f"From: <sip:21255{n:05d}@192.0.2.1>") for n in range(200))
    assert {worker_for(each, 4) for each in callers} == {0, 1, 2, 3}


def test_a_phone_registers_and_calls_on_one_worker() -> None:
    """REGISTER goes by its address of record (To), the phone's INVITEs by their From."""
    for n in range(50):
        phone = f"<sip:10{n:02d}@192.0.2.1>"
        register = message(
            "REGISTER sip:192.0.2.9 SIP/2.0",
            f"Call-ID: r{n}",
            f"From: {phone};tag=r",
            f"To: {phone}",
        )
        invite = message("INVITE sip:44207@192.0.2.9 SIP/2.0", f"Call-ID: i{n}", f"From: {phone}")
        assert worker_for(register, 3) == worker_for(invite, 3)


def test_a_worker_finds_the_call_ids_it_made() -> None:
    for index in range(3):
        call_id = IdGenerator(call_id_tag=call_id_tag(index)).call_id("192.0.2.9")
        for start in ("SIP/2.0 180 Ringing", "BYE sip:x@192.0.2.9 SIP/2.0"):
            assert worker_for(message(start, f"Call-ID: {call_id}"), 3) == index
    # A tag beyond the workers (another configuration, or a customer's Call-ID) is not one.
    assert worker_for(message(call_id="Call-ID: abc-w7@192.0.2.1"), 3) == worker_for(message(), 3)


def test_messages_without_a_caller_or_call_id_go_to_the_first_worker() -> None:
    assert worker_for(b"\r\n\r\n", 4) == 0
    assert worker_for(b"garbage \x00\xff", 4) == 0
    for body_user in range(20):  # a From in the body is not the message's
        bare = f"OPTIONS sip:x SIP/2.0\r\nX-From: <sip:5@x>\r\n\r\nFrom: <sip:{body_user}@x>"
        assert worker_for(bare.encode(), 4) == 0
    # Without a From, the Call-ID decides.
    assert worker_for(message(from_="X: y", call_id="Call-ID: q"), 4) == worker_for(
        message(from_="X: y", call_id="Call-ID: q", to="To: <sip:7@x>"), 4
    )


requires_native_relay = pytest.mark.skipif(
    NATIVE_RELAY is None, reason="relay.c not built (make native)"
)
# Pieces of the headers worker_for searches, and what may surround or break them.
PIECES = [
    "\r\n", "\n", "\r\n\r\n", "Call-ID", "call-id", "i", "I", "From", "FROM", "f", "To", "t",
    ":", " ", "\t", "<", ">", "sip:", "SIPS:", "tel:", "sips", "@", ";", "-w", "-W", "1", "23",
    "99999", "abc", "2125550100", "tag=a", "\x00", "\xff", "\v", "\f",
]  # fmt: skip
STARTS = ["", "SIP/2.0 200 OK\r\n", "REGISTER sip:x SIP/2.0\r\n", "BYE sip:x SIP/2.0\r\n"]


@requires_native_relay
def test_the_compiled_relay_routes_every_test_message_as_worker_for() -> None:
    """relay.c decides as workers.worker_for on the messages of these tests and the RFC 4475
    torture tests, for several worker counts."""
    torture = Path(__file__).parents[1] / "sip" / "fixtures" / "rfc4475"
    messages = [path.read_bytes() for path in sorted(torture.rglob("*.dat"))]
    for n in range(300):
        caller = f"<sip:21255{n:05d}@192.0.2.1>"
        messages += [
            message(from_=f"From: {caller};tag=a", call_id=f"Call-ID: {n}-w{n % 5}@h"),
            message("SIP/2.0 200 OK", f"i: {n}", f"f: {caller}", f"t:{caller}"),
            message("REGISTER sip:x SIP/2.0", to=f"To: {caller}", call_id=f"Call-ID: r{n}"),
            message(from_=f'FROM:\t"sip:9999@evil <x>" {caller}', call_id="Call-ID: x-w12345@h"),
        ]
    assert len(messages) > 1200
    for each in messages:
        for count in (1, 2, 3, 4, 7):
            assert NATIVE_RELAY.worker_for(each, count) == worker_for(each, count), each


@requires_native_relay
@hypothesis_settings(max_examples=3000, deadline=None)
@given(st.sampled_from(STARTS), st.lists(st.sampled_from(PIECES), max_size=40), st.integers(1, 9))
def test_the_compiled_relay_routes_any_bytes_as_worker_for(start, pieces, count) -> None:
    datagram = (start + "".join(pieces)).encode("latin-1")
    assert NATIVE_RELAY.worker_for(datagram, count) == worker_for(datagram, count)


def test_the_source_travels_with_the_datagram() -> None:
    payload = message(body="v=0\r\n")
    for remote in (("192.0.2.1", 5060), ("2001:db8::1", 65535)):
        assert unwrap(wrap(payload, remote)) == (payload, remote)


def udp_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(5)
    return sock


@pytest.mark.parametrize(
    "native", [pytest.param(True, marks=requires_native_relay, id="relay.c"), False]
)
def test_the_dispatcher_outlives_a_datagram_it_cannot_hand_over(caplog, native) -> None:
    """A failed hand-over loses that datagram only (counted, logged, reported); the next ones
    still reach their workers, and only `stop` ends the dispatcher."""
    public, inbox, peer = udp_socket(), udp_socket(), udp_socket()
    public.settimeout(None)
    unreachable = ("127.0.0.1", 0)  # sendto fails with EINVAL
    dispatcher = Dispatcher(public, [unreachable, inbox.getsockname()], native=native)
    assert (type(dispatcher.relay).__name__ == "Relay") is native
    dispatcher.start()
    to_worker = {n: message(call_id=f"Call-ID: 7{call_id_tag(n)}@192.0.2.1") for n in (0, 1)}
    with caplog.at_level(logging.WARNING, logger="softswitch.engine.workers"):
        for n in (0, 1, 0, 1):
            peer.sendto(to_worker[n], public.getsockname())
        received = [unwrap(inbox.recv(65535)) for _ in range(2)]
        assert received == [(to_worker[1], peer.getsockname())] * 2
        wait_for(lambda: dispatcher.dropped == 2, timeout=5)
        assert dispatcher.thread.is_alive()
        report = DropReport(dispatcher, every=POLLS_PER_SECOND)  # a report a second
        for _ in range(POLLS_PER_SECOND - 1):
            report.tick()  # not yet
        report.tick()
        for _ in range(POLLS_PER_SECOND):
            report.tick()  # nothing new: nothing more to say
    lost = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
    reports = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(lost) == 2 and "Invalid argument" in lost[0]
    assert reports == [
        "SIP dispatcher: 2 datagrams dropped in the last 1 s (2 in all): a worker is falling behind"
    ]
    dispatcher.stop()
    assert not dispatcher.thread.is_alive()
    for sock in (public, inbox, peer):
        sock.close()


@pytest.mark.parametrize(
    "native", [pytest.param(True, marks=requires_native_relay, id="relay.c"), False]
)
def test_the_dispatcher_hands_over_an_ipv4_peer_of_a_dual_stack_socket_as_ipv4(native) -> None:
    """SIP_LISTEN on `::` sees IPv4 peers as "::ffff:a.b.c.d"; a worker gets them as
    themselves, which gateway IPs and trusted networks match (IPv6 peers stay IPv6)."""
    public, inbox = transport.udp_socket(("::", 0)), udp_socket()
    dispatcher = Dispatcher(public, [inbox.getsockname()], native=native)
    dispatcher.start()
    payload = message()
    for peer in (udp_socket(), udp_socket("::1")):
        peer.sendto(payload, (peer.getsockname()[0], public.getsockname()[1]))
        assert unwrap(inbox.recv(65535)) == (payload, peer.getsockname()[:2])
        peer.close()
    dispatcher.stop()
    for sock in (public, inbox):
        sock.close()


def test_a_worker_on_a_dual_stack_socket_sends_to_ipv4_and_ipv6_peers() -> None:
    """An IPv6 socket cannot be given an IPv4 address (gaierror): the worker maps it."""
    public = transport.udp_socket(("::", 0))
    sockets = WorkerSockets(
        0, 1, os.dup(public.fileno()), -1, -1, os.getpid(), ("127.0.0.1", 1), ()
    )
    endpoint = DispatchedUdpEndpoint(
        lambda data, remote: None, lambda data: None, sockets, DelayProbe(Clock())
    )
    for peer in (udp_socket(), udp_socket("::1")):
        endpoint.send(b"OPTIONS", peer.getsockname()[:2])
        assert peer.recvfrom(65535)[0] == b"OPTIONS"
        peer.close()
    for sock in (public, endpoint.public):
        sock.close()


CUSTOMER_IP = "127.0.0.2"


@requires_sipp
@pytest.mark.sipp
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_calls_through_two_workers(engine_factory, transport) -> None:
    """Calls from one customer IP:port (over TCP, one connection: sipp's t1) are shared by
    both workers, each answered with its CDR; SIGTERM to the engine stops both cleanly."""
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    vendor = RoutingGateway.objects.create(
        name="VENDOR", host="127.0.0.1", port=free_port(), prefixes=["86"]
    )
    calls = 12
    uas = run_sipp(
        "uas_answer.xml",
        "127.0.0.1:1",
        local_port=vendor.port,
        calls=calls,
        background=True,
        timeout=60,
    )
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    rows = [f"21255{n:05d};86138000{n:05d};" for n in range(calls)]  # callers: both workers
    result = run_sipp(
        "uac_gateway_call.xml",
        runner.address,
        rows=rows,
        transport=transport,
        local_ip=CUSTOMER_IP,
        calls=calls,
        rate=20,
        extra=["-d", "200"],
    )
    assert result.returncode == 0, result.output
    sipp_finished(uas)
    answered = wait_for(lambda: Cdr.objects.filter(end_reason=200).count() == calls, timeout=15)
    assert answered, Cdr.objects.values_list("callee", "end_reason")
    nodes = {
        flow_no >> SEQUENCE_BITS & MAX_NODE
        for flow_no in Cdr.objects.values_list("flow_no", flat=True)
    }
    assert nodes == {settings.SIP_NODE_ID, settings.SIP_NODE_ID + 1}  # both workers took calls
    assert runner.stop() == 0
    assert runner.log().count("SIP engine test-node-") >= 4  # each worker started and stopped


@requires_sipp
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_stops_the_engine(engine_factory) -> None:
    """So that the supervisor (`make run`, systemd) restarts the whole engine."""
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    children = psutil.Process(runner.process.pid).children()
    assert len(children) == 2
    children[1].send_signal(signal.SIGKILL)
    assert runner.process.wait(30) == 1
    assert not any(child.is_running() and child.status() != "zombie" for child in children)


@requires_sipp
@pytest.mark.sipp
@pytest.mark.django_db(transaction=True)
def test_phones_call_through_the_worker_that_holds_their_registration(engine_factory) -> None:
    """A phone must be registered to call: its REGISTER and its INVITEs meet on one worker,
    and after a restart with another number of workers, on the worker that restored it."""
    phones = [f"10{n:02d}" for n in range(6)]
    for e164 in phones:
        Phone.objects.create(e164=e164, password=f"pw-{e164}")
    vendor = RoutingGateway.objects.create(
        name="VENDOR", host="127.0.0.1", port=free_port(), prefixes=["44"]
    )
    uas = run_sipp(
        "uas_answer.xml", "127.0.0.1:1", local_port=vendor.port, calls=len(phones), background=True
    )
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    for n, e164 in enumerate(phones):
        registered = run_sipp("register.xml", runner.address, rows=[auth_row(e164, f"pw-{e164}")])
        assert registered.outcome().startswith("GRANTED")
        row = f"{e164};44207900{n:04d};;[authentication username={e164} password=pw-{e164}]"
        called = run_sipp("uac_phone_call.xml", runner.address, rows=[row], extra=["-d", "100"])
        assert called.outcome() == "ANSWERED", e164
    sipp_finished(uas)
    billed = wait_for(lambda: set(Cdr.objects.values_list("phone", flat=True)) == set(phones))
    assert billed
    nodes = {
        flow_no >> SEQUENCE_BITS & MAX_NODE
        for flow_no in Cdr.objects.values_list("flow_no", flat=True)
    }
    assert len(nodes) == 2  # the phones were spread over both workers
    assert runner.stop() == 0
    uas = run_sipp(
        "uas_answer.xml", "127.0.0.1:1", local_port=vendor.port, calls=len(phones), background=True
    )
    single = engine_factory(env={"SIP_WORKERS": "1"})  # restarted with another SIP_WORKERS
    for n, e164 in enumerate(phones):  # no REGISTER again: each binding was restored
        row = f"{e164};44207901{n:04d};;[authentication username={e164} password=pw-{e164}]"
        called = run_sipp("uac_phone_call.xml", single.address, rows=[row], extra=["-d", "100"])
        assert called.outcome() == "ANSWERED", e164
    sipp_finished(uas)


def users_on_each_worker(count: int, per_worker: int) -> list[list[str]]:
    """Phone numbers whose REGISTERs go to each worker, `per_worker` of each."""
    users: list[list[str]] = [[] for _ in range(count)]
    for n in range(1000, 2000):
        e164 = str(n)
        register = message(start=f"REGISTER sip:{e164}@a SIP/2.0", to=f"To: <sip:{e164}@a>")
        chosen = users[worker_for(register, count)]
        if len(chosen) < per_worker:
            chosen.append(e164)
        if all(len(found) == per_worker for found in users):
            return users
    raise AssertionError("not enough users")


@requires_sipp
@pytest.mark.django_db(transaction=True)
def test_failed_authentications_count_on_every_worker(engine_factory) -> None:
    """A source that spreads its guesses over phones held by different workers is suspended
    after SS_AUTHENTICATION_MAX_RETRY failures in all, on every worker (a worker tells the
    others each failure it counts), not after that many on each."""
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 4)
    update_parameter("SS_AUTHENTICATION_FAILED_SUSPEND", 60)
    update_parameter("SS_REPLY_UNAUTHORIZED", True)
    first, second = users_on_each_worker(2, 3)
    for e164 in first + second:
        Phone.objects.create(e164=e164, password=f"pw-{e164}")
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    guesser = SipSocketClient((runner.host, runner.port))
    for e164 in (first[0], second[0], first[1]):
        refused = guesser.register(e164, "wrong")
        assert refused is not None and refused.status_code == 403, e164
    assert guesser.register(second[1], "wrong") is None  # the fourth: suspended, no answer
    for e164 in (first[2], second[2]):  # each worker had seen only two of its own
        guesser.send_raw(guesser.register_request(e164))
        assert guesser.receive(timeout=1.5) is None, e164
    assert runner.log().count("suspended after repeated authentication failures") == 2


@requires_sipp
@pytest.mark.django_db(transaction=True)
def test_a_source_registered_on_one_worker_is_known_to_the_others(engine_factory) -> None:
    """With SS_REPLY_UNAUTHORIZED off, OPTIONS get 200 from a source a phone registered from,
    whichever worker the OPTIONS reach, and silence again once it unregisters."""
    update_parameter("SS_REPLY_UNAUTHORIZED", False)
    (phone,), (pinger,) = users_on_each_worker(2, 1)
    Phone.objects.create(e164=phone, password="pw")
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    client = SipSocketClient((runner.host, runner.port))

    def options(n: int) -> bytes:  # From a user whose requests go to the other worker
        return (
            f"OPTIONS sip:{runner.address} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{client.local[1]};branch=z9hG4bKo{n}\r\n"
            f"From: <sip:{pinger}@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"
            f"Call-ID: o-{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    client.send_raw(options(1))
    assert client.receive(timeout=1.5) is None  # a stranger still
    assert client.register(phone, "pw").status_code == 200
    client.send_raw(options(2))
    answer = client.receive()
    assert answer is not None and answer.status_code == 200
    assert client.register(phone, "pw", expires=0).status_code == 200
    client.send_raw(options(3))
    assert client.receive(timeout=1.5) is None


def worker_sockets(runner) -> list[WorkerSockets]:
    """What each worker of a running engine was given (its SIP_WORKER variable)."""
    found = []
    for child in psutil.Process(runner.process.pid).children():
        environ = child.environ()
        with patch.dict(os.environ, {WORKER_ENV: environ[WORKER_ENV]}):
            found.append(WorkerSockets.from_environment())
    return sorted(found, key=lambda sockets: sockets.index)


@requires_sipp
@pytest.mark.django_db(transaction=True)
def test_a_worker_inbox_takes_datagrams_from_the_dispatcher_only(engine_factory) -> None:
    """Another local process cannot hand a worker a datagram with a forged source."""
    update_parameter("SS_REPLY_UNAUTHORIZED", True)  # an OPTIONS from a stranger gets 403
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    victim = udp_socket()
    victim.settimeout(1.5)
    request = (
        f"OPTIONS sip:{runner.address} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{victim.getsockname()[1]};branch=z9hG4bKf;rport\r\n"
        "From: <sip:forger@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: f-1\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    intruder = udp_socket()
    for sockets in worker_sockets(runner):
        intruder.sendto(wrap(request, victim.getsockname()), sockets.peers[sockets.index])
    with pytest.raises(TimeoutError):
        victim.recv(65535)
    victim.sendto(request, (runner.host, runner.port))  # the same, sent to the engine
    assert victim.recv(65535).startswith(b"SIP/2.0 403 ")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_engine_does_not_share_its_udp_port(engine_factory, workers) -> None:
    """Another SIP server holding the port with SO_REUSEADDR (as many do on UDP) makes the
    start fail. The dispatcher used to ask for SO_REUSEADDR too, which on UDP let both bind
    one port and the kernel split the datagrams between them."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    with pytest.raises(AssertionError, match="Address already in use"):
        engine_factory(env={"SIP_WORKERS": workers}, port=holder.getsockname()[1])
    holder.close()


@requires_sipp
@pytest.mark.django_db(transaction=True)
def test_workers_stop_when_the_dispatcher_dies(engine_factory) -> None:
    """A dispatcher that crashes leaves no worker behind holding calls nobody can reach: each
    gets SIGTERM and stops as a single engine does."""
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    children = psutil.Process(runner.process.pid).children()
    runner.process.kill()
    runner.process.wait()
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive
    assert runner.log().count("stopping") == 2


def test_a_worker_cannot_send_where_the_socket_cannot_address() -> None:
    """As a single engine's socket does, so that the SIP layer takes it as a transport error
    (a gateway at an IPv6 address behind an IPv4 address fails over at once)."""
    public, inbox = udp_socket(), udp_socket()
    sockets = WorkerSockets(
        0, 1, os.dup(public.fileno()), inbox.fileno(), -1, os.getpid(), ("127.0.0.1", 1), ()
    )
    endpoint = DispatchedUdpEndpoint(
        lambda data, remote: None, lambda data: None, sockets, DelayProbe(Clock())
    )
    with pytest.raises(socket.gaierror):
        endpoint.send(b"OPTIONS", ("::1", 5060))
    endpoint.send(b"OPTIONS", inbox.getsockname())
    assert inbox.recv(65535) == b"OPTIONS"
    for sock in (public, inbox, endpoint.public):
        sock.close()


# TCP through the dispatcher (tcp_proxy.py) ------------------------------------------------


class FakeWorker:
    """A worker's end of a link, read and written by the test."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(True)
        self.sock.settimeout(5)

    def next(self) -> tuple[str, list[str], bytes]:
        return parse_record(self.sock.recv(LINK_RECORD_BYTES))

    def send(self, kind: str, *words: object, payload: bytes = b"") -> None:
        self.sock.send(record(kind, *words, payload=payload))


def tcp_listener() -> socket.socket:
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(8)
    listening.setblocking(False)
    return listening


def test_the_dispatcher_routes_each_message_of_a_connection_to_its_worker() -> None:
    """One connection carries messages of both workers; each worker answers on it; the
    dispatcher answers keep-alive pings itself; the connection stays open until every worker
    that claimed it has released it."""
    links = [link_pair() for _ in range(2)]
    listening = tcp_listener()
    proxy = TcpProxy(listening, [ours for ours, _ in links], partial(worker_for, count=2))
    proxy.start()
    workers = [FakeWorker(theirs) for _, theirs in links]
    peer = socket.create_connection(listening.getsockname(), timeout=5)
    try:
        first = zlib.crc32(b"127.0.0.1") % 2  # told of the new connection, which it claims
        kind, (connection_id, host, port), _ = workers[first].next()
        assert (kind, host, int(port)) == ("o", "127.0.0.1", peer.getsockname()[1])
        to_worker = {n: message(call_id=f"Call-ID: 7{call_id_tag(n)}@192.0.2.1") for n in (0, 1)}
        peer.sendall(to_worker[1] + b"\r\n\r\n" + to_worker[0][:30])  # a ping, half a message
        assert peer.recv(2) == b"\r\n"  # the pong
        peer.sendall(to_worker[0][30:])
        for n in (1, 0):
            assert workers[n].next() == ("m", [connection_id, host, port], to_worker[n])
        for n in (0, 1):  # each worker answers on the connection
            workers[n].send("s", connection_id, host, port, 0, payload=b"answer %d " % n)
        received = b""
        while len(received) < 18:
            received += peer.recv(100)
        assert received == b"answer 0 answer 1 "
        workers[0].send("r", connection_id, 0)
        workers[1].send("s", 0, host, port, 9, payload=b"by address")  # a token: told back
        assert workers[1].next() == ("k", ["9", connection_id, host, port], b"")
        assert peer.recv(100) == b"by address"  # still open: worker 1 claims it
        workers[1].send("r", connection_id, 0)
        assert peer.recv(100) == b""  # released by all: closed with FIN
        other = socket.create_connection(listening.getsockname(), timeout=5)
        kind, (other_id, *_), _ = workers[first].next()
        other.close()  # the peer closes: its claimer is told
        assert (kind, workers[first].next()) == ("o", ("l", [other_id], b""))
    finally:
        peer.close()
        proxy.stop()
    assert not proxy.thread.is_alive()


def test_a_worker_is_told_when_the_dispatcher_cannot_connect() -> None:
    links = [link_pair()]
    proxy = TcpProxy(tcp_listener(), [links[0][0]], partial(worker_for, count=1))
    proxy.start()
    worker = FakeWorker(links[0][1])
    try:
        worker.send("s", 0, "127.0.0.1", free_port(), 5, payload=b"INVITE")  # nobody listens
        assert worker.next() == ("f", ["5"], b"")
    finally:
        proxy.stop()


def read_frame(sock: socket.socket, framer: StreamFramer) -> bytes:
    """The next message on a TCP connection, unparsed."""
    while True:
        for event in framer.feed(sock.recv(65535)):
            if isinstance(event, FrameReceived):
                return event.data


def header(message: bytes, name: str) -> str:
    found = re.search(rf"^{name}:\s*(.*?)\r$", message.decode(), re.MULTILINE | re.IGNORECASE)
    assert found, (name, message)
    return found.group(1)


@requires_sipp
@pytest.mark.sipp
@pytest.mark.django_db(transaction=True)
def test_a_tcp_gateway_may_hang_up_on_a_new_connection(engine_factory) -> None:
    """A vendor on TCP answers the B leg of a call held by the second worker on the
    connection the engine opened, then sends its BYE on a new connection (as RFC 3261 §18
    allows): the BYE reaches that worker, which ends the call on both sides."""
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    listening = socket.create_server(("127.0.0.1", 0))
    listening.settimeout(10)
    RoutingGateway.objects.create(
        name="VENDOR",
        host="127.0.0.1",
        port=listening.getsockname()[1],
        prefixes=["86"],
        transport="tcp",
    )
    runner = engine_factory(env={"SIP_WORKERS": "2"})
    (_, (caller,)) = users_on_each_worker(2, 1)
    customer = run_sipp(
        "uac_gateway_call_wait.xml",
        runner.address,
        rows=[f"{caller};8613800000001;"],
        local_ip=CUSTOMER_IP,
        background=True,
        timeout=30,
    )
    leg, _ = listening.accept()
    leg.settimeout(10)
    invite = read_frame(leg, framer := StreamFramer(parse=False))
    assert invite.startswith(b"INVITE ") and call_id_tag(1) in header(invite, "Call-ID")
    vias = re.findall(rb"^Via:.*\r\n", invite, re.MULTILINE | re.IGNORECASE)
    to = header(invite, "To") + ";tag=vendor"
    leg.sendall(
        b"SIP/2.0 200 OK\r\n"
        + b"".join(vias)
        + (
            f"From: {header(invite, 'From')}\r\nTo: {to}\r\n"
            f"Call-ID: {header(invite, 'Call-ID')}\r\nCSeq: {header(invite, 'CSeq')}\r\n"
            f"Contact: <sip:vendor@127.0.0.1:{listening.getsockname()[1]};transport=tcp>\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert read_frame(leg, framer).startswith(b"ACK ")
    hang_up = socket.create_connection((runner.host, runner.port), timeout=10)
    target = re.search(r"<([^>]+)>", header(invite, "Contact")).group(1)
    hang_up.sendall(
        (
            f"BYE {target} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:{hang_up.getsockname()[1]};branch=z9hG4bKbye1\r\n"
            f"From: {to}\r\nTo: {header(invite, 'From')}\r\n"
            f"Call-ID: {header(invite, 'Call-ID')}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert read_frame(hang_up, StreamFramer(parse=False)).startswith(b"SIP/2.0 200 ")
    assert sipp_finished(customer).outcome() == "REMOTE_BYE"
    billed = wait_for(lambda: Cdr.objects.filter(caller=caller, end_reason=200).first())
    assert billed and billed.flow_no >> SEQUENCE_BITS & MAX_NODE == settings.SIP_NODE_ID + 1
    for sock in (leg, hang_up, listening):
        sock.close()


def test_a_proxy_that_cannot_serve_says_so() -> None:
    """The engine does not run on without TCP: the dispatcher's start fails."""
    listening = tcp_listener()
    listening.close()
    proxy = TcpProxy(listening, [link_pair()[0]], partial(worker_for, count=1))
    with pytest.raises(RuntimeError, match="did not start"):
        proxy.start()


def test_a_full_link_drops_and_logs_sparingly(caplog) -> None:
    """A worker far behind (its link's buffer full) loses records, counted; the log says so at
    the 1st, 2nd, 4th… drop, not once per record."""
    ours, theirs = link_pair()
    link = Link(ours, "worker 1")
    with caplog.at_level(logging.WARNING, logger="softswitch.engine.tcp_proxy"):
        while link.dropped < 5:
            link.send(record("m", 1, "127.0.0.1", 5060, payload=b"x" * 60_000))
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [f"TCP link to worker 1 full: {n} records dropped in all" for n in (1, 2, 4)]
    kind, words, payload = parse_record(theirs.recv(LINK_RECORD_BYTES))  # what fitted is whole
    assert (kind, words, len(payload)) == ("m", ["1", "127.0.0.1", "5060"], 60_000)
    ours.close()
    theirs.close()


class SteppedClock(Clock):
    """The loop's timers, and a monotonic time that a test moves on."""

    def __init__(self) -> None:
        self.time = 1000.0

    def monotonic(self) -> float:
        return self.time


def worker_tcp(link: socket.socket, clock: Clock) -> ProxiedTcp:
    ignore = lambda *args: None  # noqa: E731
    return ProxiedTcp(link, ignore, ignore, ignore, clock)


def test_a_tcp_message_the_link_drops_is_a_transport_error() -> None:
    """A worker's message that its full link to the dispatcher drops never reaches the peer,
    and over TCP nothing retransmits it: the SIP layer hears of it from the loop, as when the
    dispatcher cannot connect (`f`), and fails over at once instead of waiting for Timer B."""
    ours, theirs = link_pair()
    errors: list[str] = []

    async def send_on_a_full_link() -> None:
        tcp = worker_tcp(ours, Clock())
        while not tcp.link.dropped:
            tcp.link.send(record("s", 0, "192.0.2.1", 5060, 0, payload=b"x" * 60_000))
        gateway = flow_to("tcp", ("192.0.2.7", 5060))
        tcp.send(gateway, b"INVITE", lambda: errors.append("new connection"))
        tcp.by_id[7] = ProxiedConnection(7, ("192.0.2.8", 5060))
        tcp.send(flow_to("tcp", ("192.0.2.8", 5060), 7), b"BYE", lambda: errors.append("open"))
        assert errors == []  # not from within the send: from the loop
        await asyncio.sleep(0.01)
        assert tcp._waiting == {}

    asyncio.run(send_on_a_full_link())
    assert errors == ["new connection", "open"]
    ours.close()
    theirs.close()


def test_sends_the_dispatcher_never_answered_are_forgotten() -> None:
    """A send to a new connection waits for the dispatcher's `k` or `f`; one whose answer was
    dropped on a full link (the worker far behind) is forgotten after UNANSWERED_SECONDS, so
    that a worker's memory does not grow with every such send."""
    ours, theirs = link_pair()
    clock = SteppedClock()
    errors: list[int] = []

    async def send_unanswered() -> None:
        tcp = worker_tcp(ours, clock)
        tcp.send(flow_to("tcp", ("192.0.2.7", 5060)), b"INVITE", lambda: errors.append(1))
        clock.time += UNANSWERED_SECONDS - 1
        tcp.send(flow_to("tcp", ("192.0.2.7", 5060)), b"INVITE", lambda: errors.append(2))
        assert len(tcp._waiting) == 2
        clock.time += 2
        tcp.send(flow_to("tcp", ("192.0.2.7", 5060)), b"INVITE", lambda: errors.append(3))
        assert len(tcp._waiting) == 2  # the first is forgotten
        tcp._record("f", ["2"], b"")  # the dispatcher could not connect: the second send
        tcp._record("f", ["1"], b"")  # forgotten: nothing to report
        assert errors == [2]

    asyncio.run(send_unanswered())
    assert [parse_record(theirs.recv(LINK_RECORD_BYTES))[1][-1] for _ in range(3)] == [
        "1",
        "2",
        "3",
    ]
    ours.close()
    theirs.close()


# What a worker takes over when SIP_WORKERS changed between runs -----------------------------

FAMILY = ("edge", "edge-0", "edge-1", "edge-2")  # a single engine, then three workers, once


def bound(e164: str, node: str, expires_in: timedelta = timedelta(hours=1)) -> None:
    now = timezone.now()
    Registration.objects.create(
        phone=Phone.objects.create(e164=e164, password="pw"),
        contact=f"sip:{e164}@198.51.100.7:5060",
        source="198.51.100.7:5060",
        transport="UDP",
        registered_at=now,
        expires_at=now + expires_in,
        node=node,
    )


@pytest.mark.django_db
def test_restarted_workers_take_over_the_bindings_of_the_engines_earlier_nodes() -> None:
    """An engine that ran as one process or as three workers, restarted with two: each worker
    restores, and takes over, the bindings of the phones whose REGISTERs and INVITEs the
    dispatcher now sends it, whichever node made them. Without that a phone held by a worker
    that no longer runs is refused as unregistered until it registers again, while "Online
    phones" still lists it."""
    phones = {f"10{n:02d}": FAMILY[n % 4] for n in range(24)}
    for e164, node in phones.items():
        bound(e164, node)
    bound("2000", "edge-5", expires_in=-timedelta(seconds=1))  # expired: deleted
    bound("3000", "edge9")  # other engines' bindings stay theirs
    bound("3001", "core")
    load = store.load_registrations.__wrapped__
    held = [load(f"edge-{n}", NodeShare("edge", n, 2)) for n in range(2)]
    for n, rows in enumerate(held):
        assert {row["e164"] for row in rows} == {
            e164 for e164 in phones if worker_of(e164.encode(), 2) == n
        }
    assert sum(map(len, held)) == len(phones)
    nodes = dict(Registration.objects.values_list("phone__e164", "node"))
    assert nodes == {
        **{e164: f"edge-{worker_of(e164.encode(), 2)}" for e164 in phones},
        "3000": "edge9",
        "3001": "core",
    }
    single = load("edge", NodeShare("edge"))  # back to one process: it holds them all
    assert len(single) == len(phones)
    assert set(Registration.objects.values_list("node", flat=True)) == {"edge", "edge9", "core"}


@pytest.mark.django_db
def test_a_started_worker_forgets_the_calls_of_nodes_its_engine_no_longer_runs() -> None:
    """Current calls of a worker that SIP_WORKERS no longer starts would stay on "Current
    calls" (and in the overview and alarms) for good: nobody else clears them."""
    for n, node in enumerate((*FAMILY, "edge9", "core")):
        CurrentCall.objects.create(
            call_id=f"call-{n}", node=node, caller="1", callee="2", origin="GW",
            origin_type="mapping_gateway", state="ringing", started_at=timezone.now(),
        )  # fmt: skip
    store.clear_current_calls.__wrapped__("edge-0", "edge", NodeShare("edge", 0, 2).nodes)
    assert sorted(CurrentCall.objects.values_list("node", flat=True)) == ["core", "edge-1", "edge9"]
