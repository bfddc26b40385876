"""Helpers shared by the test modules."""

from __future__ import annotations

import json
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from django.db import connection


def connect_to_test_database() -> Any:
    """A separate psycopg2 connection to the database the tests use (autocommit)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    raw = psycopg2.connect(**params)
    raw.autocommit = True
    return raw


@contextmanager
def listening(channel: str) -> Iterator[Any]:
    """LISTEN on a channel over a separate connection; yields a `receive(timeout)` function."""
    raw = connect_to_test_database()
    with raw.cursor() as cursor:
        cursor.execute(f'LISTEN "{channel}"')

    def receive(timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not raw.notifies and time.monotonic() < deadline:
            if select.select([raw], [], [], max(deadline - time.monotonic(), 0)) != ([], [], []):
                raw.poll()
        payloads = [json.loads(note.payload) for note in raw.notifies]
        raw.notifies.clear()
        return payloads

    try:
        yield receive
    finally:
        raw.close()


def database_url_of_tests() -> str:
    """A DATABASE_URL naming the database the tests use, for processes the tests start."""
    from urllib.parse import quote

    params = connection.settings_dict
    credentials = quote(params["USER"])
    if params["PASSWORD"]:
        credentials += f":{quote(params['PASSWORD'])}"
    query = f"?host={quote(params['HOST'])}" if params["HOST"].startswith("/") else ""
    netloc = "" if query else f"{params['HOST']}:{params['PORT'] or 5432}"
    port = f"&port={params['PORT']}" if query and params["PORT"] else ""
    return f"postgresql://{credentials}@{netloc}/{params['NAME']}{query}{port}"
