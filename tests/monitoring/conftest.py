"""Alarm test fixtures: a local webhook receiver and Celery tasks run in the test's process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Receiver:
    """What the webhook receiver got, and the status it answers with."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.status = 200
        self.location = ""  # sent as Location when set (a redirect)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.gets: list[str] = []  # paths of any GET, which a webhook never sends

    def events(self) -> list[tuple[str, str]]:
        """(event, target) of every body received, in order."""
        bodies = [json.loads(body) for _, body in self.requests]
        return [(body["event"], body["alarm"]["target"]) for body in bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A tiny HTTP server on a free local port recording every POST."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append((dict(self.headers), body))
            self.send_response(received.status)
            if received.location:
                self.send_header("Location", received.location)
            self.end_headers()

        def do_GET(self) -> None:
            received.gets.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received = Receiver(f"http://127.0.0.1:{server.server_port}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received
    server.shutdown()
    server.server_close()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run at once in this process (a retry's countdown is not waited for)."""
    from vosadmin.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
