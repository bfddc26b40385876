"""`make run`'s process stack on a fresh database: it prepares everything, serves the console,
is idempotent, and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.engine.harness import wait_for
from tests.engine.sip_client import SipSocketClient
from vosadmin.stack import free_tcp_port

BASE_DIR = Path(__file__).resolve().parent.parent
# The engine (one worker per core by default: node1-0, node1-1, …; or node1 alone) is up.
ENGINE_LISTENING = re.compile(r"SIP engine node1(-\d+)? listening on")


def start_stack(database_url: str, console_port: int, sip_port: int = 0) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSOLE_LISTEN": f"127.0.0.1:{console_port}",
        "SIP_LISTEN": f"127.0.0.1:{sip_port or free_tcp_port()}",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "vosadmin.stack", "run"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def collect_output(process: subprocess.Popen) -> list[str]:
    """Read the process's output in the background; the returned list fills as it runs."""
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    return lines


def wait_for_console(process: subprocess.Popen, port: int, timeout: float = 180) -> list[str]:
    """Wait until the login page answers; return the stack's output lines (still filling)."""
    lines = collect_output(process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "".join(lines)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1) as response:
                if response.status == 200:
                    return lines
        except OSError:
            time.sleep(0.5)
    raise AssertionError("console did not come up:\n" + "".join(lines))


def stop_with_ctrl_c(process: subprocess.Popen) -> list[psutil.Process]:
    """Send SIGINT like a terminal's Ctrl-C; return the children that were running."""
    children = psutil.Process(process.pid).children(recursive=True)
    assert len(children) >= 3
    process.send_signal(signal.SIGINT)
    for child in children:
        child.send_signal(signal.SIGINT) if child.is_running() else None
    process.wait(timeout=60)
    return children


@pytest.mark.django_db
def test_make_run_prepares_serves_and_stops_cleanly(fresh_database_url: str) -> None:
    port = free_tcp_port()
    process = start_stack(fresh_database_url, port)
    try:
        lines = wait_for_console(process, port)
        output = "".join(lines)
        assert re.search(r"user name\s+admin", output) and re.search(r"password\s+\S+", output)
        assert "Demo data created" in output
        wait_for(lambda: ENGINE_LISTENING.search("".join(lines)), timeout=30)
    finally:
        children = stop_with_ctrl_c(process)
    time.sleep(1)
    assert [
        child.pid for child in children if child.is_running() and child.status() != "zombie"
    ] == []

    second = start_stack(fresh_database_url, port)
    try:
        output = "".join(wait_for_console(second, port))
        assert "password" not in output and "Demo data created" not in output
    finally:
        stop_with_ctrl_c(second)


def answers_options(sip_port: int) -> bool:
    """Whether the SIP engine on 127.0.0.1:sip_port answers an OPTIONS (with any status)."""
    client = SipSocketClient(("127.0.0.1", sip_port))
    host, port = client.local
    request = (
        f"OPTIONS sip:127.0.0.1:{sip_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{client.call_id};rport\r\n"
        f"From: <sip:probe@{host}>;tag=probe\r\nTo: <sip:127.0.0.1:{sip_port}>\r\n"
        f"Call-ID: {client.call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    try:
        client.send_raw(request.encode())
        return client.receive(timeout=1) is not None
    finally:
        client.close()


@pytest.mark.django_db
def test_make_run_restarts_an_engine_killed_with_sigkill(fresh_database_url: str) -> None:
    port, sip_port = free_tcp_port(), free_tcp_port()
    process = start_stack(fresh_database_url, port, sip_port)
    try:
        lines = wait_for_console(process, port)
        wait_for(lambda: ENGINE_LISTENING.search("".join(lines)), timeout=30)
        [engine] = [
            child
            for child in psutil.Process(process.pid).children()
            if "runsipengine" in child.cmdline()
        ]
        engine.kill()
        wait_for(lambda: "sipengine DIED (killed by SIGKILL)" in "".join(lines), timeout=10)
        wait_for(lambda: "sipengine restarted" in "".join(lines), timeout=10)
        wait_for(lambda: answers_options(sip_port), timeout=30)
        assert process.poll() is None
    finally:
        stop_with_ctrl_c(process)
