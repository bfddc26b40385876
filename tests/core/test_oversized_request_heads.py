"""Request heads too long for the HTTP server get a status that says why (vosadmin.serve):
414 for a request line, 431 for headers; up to 16 KB, Django's own 414 (MAX_URL_LENGTH)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(server: str, head: bytes) -> int | None:
    """The status the console answers `head` with (None if it closed without a word)."""
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while b"\r\n" not in answer and (chunk := connection.recv(4096)):
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else None


def request(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def test_oversized_request_heads_are_answered_with_their_status(asgi_server: str) -> None:
    assert status_of(asgi_server, request("/login/")) == 200
    django_limit = request("/login/?q=" + "1" * 12_000)
    assert status_of(asgi_server, django_limit) == 414
    beyond_the_buffer = request("/login/?q=" + "1" * 40_000)
    assert status_of(asgi_server, beyond_the_buffer) == 414
    long_header = request("/login/", "X-Padding: " + "a" * 20_000)
    assert status_of(asgi_server, long_header) == 431
    many_headers = request("/login/", *(f"X-Padding-{n}: {'a' * 1000}" for n in range(20)))
    assert status_of(asgi_server, many_headers) == 431
