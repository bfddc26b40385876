"""A tiny blocking SIP client over raw sockets, for what a test must observe at the socket level
(silence, RST versus FIN, a connection the engine closes). sipp drives everything else."""

from __future__ import annotations

import socket
import uuid

from softswitch.sip.digest import build_authorization, parse_challenge
from softswitch.sip.message import Message, Request, Response
from softswitch.sip.parser import try_parse_message
from softswitch.sip.stream import MessageReceived, StreamFramer


class SipSocketClient:
    """One UDP or TCP socket talking SIP to the engine."""

    def __init__(
        self, engine: tuple[str, int], transport: str = "udp", local_ip: str = "127.0.0.1"
    ) -> None:
        self.engine = engine
        self.transport = transport
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((local_ip, 0))
        if transport == "tcp":
            self.sock.connect(engine)
        self.local = self.sock.getsockname()
        self.framer = StreamFramer()
        self.pending: list[Message] = []
        self.cseq = 0
        self.call_id = uuid.uuid4().hex

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.engine)
        else:
            self.sock.sendall(data)

    def receive(self, timeout: float = 2.0) -> Message | None:
        """The next message from the engine, or None after `timeout` seconds of silence."""
        self.sock.settimeout(timeout)
        while not self.pending:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                return None
            if self.transport == "udp":
                parsed = try_parse_message(data)
                if isinstance(parsed, Message):
                    self.pending.append(parsed)
            else:
                if not data:
                    raise EOFError("the engine closed the connection")
                self.pending += [
                    e.message
                    for e in self.framer.feed(data)
                    if isinstance(e, MessageReceived) and isinstance(e.message, Message)
                ]
        return self.pending.pop(0)

    def register_request(
        self,
        e164: str,
        expires: int = 3600,
        authorization: str | None = None,
        contact_user: str | None = None,
    ) -> bytes:
        self.cseq += 1
        host, port = self.local
        transport = self.transport.upper()
        lines = [
            f"REGISTER sip:{self.engine[0]}:{self.engine[1]} SIP/2.0",
            f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK{uuid.uuid4().hex};rport",
            f"From: <sip:{e164}@{self.engine[0]}>;tag={self.call_id[:8]}",
            f"To: <sip:{e164}@{self.engine[0]}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"Contact: <sip:{contact_user or e164}@{host}:{port};transport={self.transport}>",
            f"Expires: {expires}",
            "Max-Forwards: 70",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()

    def register(self, e164: str, password: str, expires: int = 3600) -> Response | None:
        """REGISTER, answer the challenge, return the final response (None: silence)."""
        self.send_raw(self.register_request(e164, expires))
        challenge = self.receive()
        if not isinstance(challenge, Response) or challenge.status_code != 401:
            return challenge if isinstance(challenge, Response) else None
        parsed = parse_challenge(challenge.headers.get_all("www-authenticate")[0])
        assert parsed is not None
        uri = f"sip:{self.engine[0]}:{self.engine[1]}"
        authorization = build_authorization(
            parsed,
            method="REGISTER",
            uri=uri,
            username=e164,
            password=password,
            cnonce=uuid.uuid4().hex[:16],
        )
        self.send_raw(self.register_request(e164, expires, authorization))
        final = self.receive()
        return final if isinstance(final, Response) else None

    def answer_requests(self, timeout: float) -> int:
        """Answer every request that arrives within `timeout` with 200; count them."""
        answered = 0
        while (message := self.receive(timeout)) is not None:
            if isinstance(message, Request):
                from softswitch.sip.message import build_response

                self.send_raw(build_response(message, 200, to_tag="x").to_bytes())
                answered += 1
        return answered
