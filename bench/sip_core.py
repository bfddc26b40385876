"""Benchmark: the pure SIP core on the messages the engine handles most.

    python bench/sip_core.py [--quick]

Prints microseconds per operation, the best of several timeit runs, for the sample REGISTER
(with Authorization) and INVITE (with SDP) of tests/sip/samples.py and a typical 200 OK to an
INVITE: parsing, parsing + validate(), the engine's receive paths (for a request:
add_received_rport, validate() and the server transaction key; for a response: validate() and
the client transaction key), the accessors the engine reads once validate() has passed,
build_response() + to_bytes(), digest verification (alone, and with parse_credentials as the
registrar calls it), and a non-INVITE server transaction's life.

The machine may be busy: every line is timed in several rounds that go over all the lines in
turn, and the best run counts. --quick makes fewer, shorter runs; -k TEXT keeps the lines whose
label contains TEXT.

softswitch.sip is pure Python with no Django: nothing here needs a database or settings.
Targets (a 2-core machine that must carry 2,000 authenticated REGISTERs/s and 500 calls/s):
parse + validate <= 60 us, response build + serialise <= 20 us, digest verify <= 20 us.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import timeit
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from softswitch.sip.digest import (  # noqa: E402
    DigestAuthenticator,
    DigestCredentials,
    DigestResult,
    build_authorization,
    parse_challenge,
    parse_credentials,
)
from softswitch.sip.message import (  # noqa: E402
    Message,
    Request,
    add_received_rport,
    build_response,
)
from softswitch.sip.parser import try_parse_message  # noqa: E402
from softswitch.sip.transaction import (  # noqa: E402
    ServerNonInviteTransaction,
    client_transaction_key,
    server_transaction_key,
)
from tests.sip.samples import INVITE, REGISTER, SDP  # noqa: E402

OK_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK5a3f0c2e9d1b;rport=5060;received=192.0.2.1\r\n"
    b"Record-Route: <sip:192.0.2.50;lr>\r\n"
    b"From: <sip:+4930999@switch.example.net>;tag=8d2f0a61c3e4b597\r\n"
    b"To: <sip:+4930123456@gw.example.net>;tag=as6f1c2d3e\r\n"
    b"Call-ID: 4f1b2c3d4e5f60718293a4b5c6d7e8f9@192.0.2.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:+4930123456@203.0.113.5:5060>\r\n"
    b"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
    b"Supported: replaces, timer\r\n"
    b"Server: Example Gateway 2.0\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)
SAMPLES = {"REGISTER": REGISTER, "INVITE": INVITE, "200 OK": OK_200}
REALM = "switch.example.net"
NOW = 1_700_000_000.0


def parsed(data: bytes) -> Message:
    """A parsed message, which must be valid."""
    message = try_parse_message(data)
    assert isinstance(message, Message), message
    assert message.validate() is None, message.validate()
    return message


def parse_validate(data: bytes) -> Callable[[], object]:
    return lambda: try_parse_message(data).validate()  # type: ignore[union-attr]


def receive_path(data: bytes) -> Callable[[], object]:
    """What SipLayer._receive_request does to a datagram before the switch sees it."""

    def run() -> object:
        request = try_parse_message(data)
        assert isinstance(request, Request)
        add_received_rport(request, "198.51.100.7", 5060)
        return request.validate(), server_transaction_key(request)

    return run


def response_path(data: bytes) -> Callable[[], object]:
    """What SipLayer._receive_response does to a datagram before its transaction sees it."""

    def run() -> object:
        response = try_parse_message(data)
        assert isinstance(response, Message)
        return response.validate(), client_transaction_key(response)

    return run


def accessors(message: Message) -> Callable[[], object]:
    """The accessors the engine reads from a validated message."""

    def run() -> object:
        return (
            message.call_id,
            message.cseq,
            message.via,
            message.from_.tag,
            message.to.tag,
            message.contact,
            message.expires,
            message.headers.get("authorization"),
        )

    return run


def respond(request: Request) -> Callable[[], object]:
    return lambda: build_response(request, 200, to_tag="8d2f0a61c3e4b597").to_bytes()


def credentials_stream(server: DigestAuthenticator) -> Iterator[DigestCredentials]:
    """Valid MD5 credentials with rising nonce counts, a fresh nonce every million."""
    while True:
        challenge = parse_challenge(server.challenge(REALM, NOW))
        assert challenge is not None
        for count in range(1, 1_000_000):
            value = build_authorization(
                challenge,
                method="REGISTER",
                uri="sip:switch.example.net",
                username="4930999",
                password="s3cret",
                cnonce="0a4f113b",
                nc=count,
            )
            credentials = parse_credentials(value)
            assert credentials is not None
            yield credentials


class DigestCase:
    """Verifies a new valid Authorization per call (a repeated one would be a replay).

    prepare() builds the credentials of the next timed run beforehand, outside the timing.
    """

    def __init__(self, parse: bool) -> None:
        self.server = DigestAuthenticator(b"bench secret")
        self.stream = credentials_stream(self.server)
        self.parse = parse
        self.pending: deque[DigestCredentials | str] = deque()

    def prepare(self, number: int) -> None:
        for credentials in itertools.islice(self.stream, number):
            self.pending.append(authorization(credentials) if self.parse else credentials)

    def run(self) -> object:
        item = self.pending.popleft()
        credentials = parse_credentials(item) if isinstance(item, str) else item
        assert credentials is not None
        result = self.server.verify(
            credentials,
            method="REGISTER",
            realm=REALM,
            request_uri=credentials.uri,
            now=NOW + 1,
            password="s3cret",
        )
        assert result is DigestResult.OK, result
        return result


def authorization(credentials: DigestCredentials) -> str:
    """The Authorization value a phone would send for these credentials."""
    return (
        f'Digest username="{credentials.username}", realm="{credentials.realm}", '
        f'nonce="{credentials.nonce}", uri="{credentials.uri}", '
        f'response="{credentials.response}", algorithm=MD5, '
        f'cnonce="{credentials.cnonce}", nc={credentials.nc}, qop={credentials.qop}'
    )


def server_transaction(request: Request) -> Callable[[], object]:
    response = build_response(request, 200, to_tag="8d2f0a61c3e4b597")

    def run() -> object:
        transaction = ServerNonInviteTransaction(request)
        transaction.start(NOW)
        return transaction.send_response(response, NOW)

    return run


@dataclass
class Case:
    """One benchmark line: what to call, and what to get ready before each timed run."""

    label: str
    run: Callable[[], object]
    prepare: Callable[[int], None] = lambda number: None
    target: float | None = None  # microseconds
    number: int = 0
    best: float = float("inf")

    def calibrate(self, target: float) -> None:
        """Choose how many calls make a run of about target seconds."""
        self.prepare(100)
        start = timeit.default_timer()
        for _ in range(100):
            self.run()
        per_call = (timeit.default_timer() - start) / 100
        self.number = max(10, int(target / per_call))

    def measure(self) -> None:
        """Time one run and keep the best microseconds per call."""
        self.prepare(self.number)
        elapsed = timeit.Timer(self.run).timeit(self.number)
        self.best = min(self.best, elapsed / self.number * 1e6)


def cases() -> list[Case]:
    """Every benchmark line, in the order printed."""
    lines = [
        Case(f"{name}: parse", partial(try_parse_message, data)) for name, data in SAMPLES.items()
    ]
    lines += [
        Case(f"{name}: parse + validate", parse_validate(data), target=60)
        for name, data in SAMPLES.items()
    ]
    lines += [
        Case(f"{name}: parse + received/rport + validate + key", receive_path(SAMPLES[name]))
        for name in ("REGISTER", "INVITE")
    ]
    lines.append(Case("200 OK: parse + validate + key", response_path(OK_200)))
    lines += [
        Case(f"{name}: accessors after validate", accessors(parsed(data)))
        for name, data in SAMPLES.items()
    ]
    for name in ("REGISTER", "INVITE"):
        request = parsed(SAMPLES[name])
        assert isinstance(request, Request)
        label = f"{name}: build_response 200 + to_bytes"
        lines.append(Case(label, respond(request), target=20))
    ok = parsed(OK_200)
    lines.append(Case("200 OK: to_bytes (parsed, unchanged)", ok.to_bytes))
    register = parsed(REGISTER)
    assert isinstance(register, Request)
    label = "REGISTER: server transaction create + start + send_response"
    lines.append(Case(label, server_transaction(register)))
    for parse, label, target in [(False, "verify", 20), (True, "parse_credentials + verify", None)]:
        digest = DigestCase(parse)
        label = f"REGISTER: digest {label} (MD5, valid)"
        lines.append(Case(label, digest.run, digest.prepare, target))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs")
    parser.add_argument("-k", default="", help="only the lines containing this text")
    args = parser.parse_args()
    rounds, target = (5, 0.02) if args.quick else (25, 0.04)
    selected = [case for case in cases() if args.k in case.label]
    for case in selected:
        case.calibrate(target)
    # Rounds go over every line in turn, so that a busy spell of the machine spoils one run
    # of each line rather than every run of one line.
    for _ in range(rounds):
        for case in selected:
            case.measure()
    print(f"Python {platform.python_version()}, best of {rounds} runs, microseconds per operation")
    for case in selected:
        goal = "" if case.target is None else f"  (target <= {case.target:g})"
        print(f"{case.label:<62} {case.best:8.1f}{goal}")


if __name__ == "__main__":
    main()
