"""Helpers shared by the test modules."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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

    def receive(timeout: float = 5.0, settle: float = 0.5) -> list[dict]:
        """Notifications until `timeout`, or until none came for `settle` s after the first."""
        deadline = time.monotonic() + timeout
        payloads: list[dict] = []
        while time.monotonic() < deadline:
            wait = (
                deadline - time.monotonic()
                if not payloads
                else min(settle, deadline - time.monotonic())
            )
            if select.select([raw], [], [], max(wait, 0)) == ([], [], []):
                if payloads:
                    break
                continue
            raw.poll()
            payloads += [json.loads(note.payload) for note in raw.notifies]
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


BASE_DIR = Path(__file__).resolve().parent.parent


def run_manage_py(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a process of its own, with `env`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def in_threads(work: Callable[[], object], count: int = 4) -> list[object]:
    """Run `work` in `count` threads released at the same moment; each has its own connection."""
    barrier = threading.Barrier(count)
    results: list[object] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # reported by the assertion below
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [result for result in results if isinstance(result, Exception)], results
    return results
