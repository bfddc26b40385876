"""A TCP proxy in front of PostgreSQL that a test can cut or stall, to stage a database outage
(refused connections) or a black-holed link (nothing answers) for one process (the SIP engine)
while the test itself keeps its own connection."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the database; `cut()` drops every connection and refuses new
    ones until `restore()`."""

    def __init__(self, target: str | tuple[str, int]) -> None:
        self.target = target  # a Unix socket path or (host, port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.flowing = threading.Event()
        self.flowing.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_target(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.connect(self.target)
        return upstream

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = self._connect_target()
            with self.lock:
                self.pairs.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                self.flowing.wait()
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Stage the outage."""
        self.open = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for client, upstream in pairs:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def stall(self) -> None:
        """Stage a black-holed link: connections stay open, nothing gets through."""
        self.flowing.clear()

    def restore(self) -> None:
        self.open = True
        self.flowing.set()

    def close(self) -> None:
        self.flowing.set()
        self.cut()
        self.listener.close()


def database_target(params: dict[str, Any]) -> str | tuple[str, int]:
    """Where the test database listens, from Django's connection parameters."""
    host = params.get("host") or "127.0.0.1"
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}"
    return (host, port)


def database_proxy() -> tuple[CuttableProxy, str]:
    """A proxy in front of the test database, and the DATABASE_URL that goes through it."""
    from django.db import connection

    params = connection.get_connection_params()
    proxy = CuttableProxy(database_target(params))
    name = params.get("database") or params.get("dbname")
    user = params.get("user") or "postgres"
    return proxy, f"postgresql://{user}@127.0.0.1:{proxy.port}/{name}"


def redis_proxy(redis_url: str) -> tuple[CuttableProxy, str]:
    """A proxy in front of the Redis `redis_url` names, and the REDIS_URL that goes through it
    (`stall()` freezes Redis for that one client, as CLIENT PAUSE would for all)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    proxy = CuttableProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return proxy, urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}"))
