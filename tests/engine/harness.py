"""Run the real SIP engine and real sipp peers from tests.

`EngineRunner` starts `manage.py runsipengine` as a subprocess against the test database and
Redis, on free ports; `run_sipp()` runs one sipp scenario from tests/sipp/ and returns what it
logged. Tests create their data (committed: `transactional_db`) before starting the engine, or
rely on the engine's NOTIFY-driven reloads afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.helpers import database_url_of_tests

BASE_DIR = Path(__file__).resolve().parents[2]
SCENARIOS = BASE_DIR / "tests" / "sipp"
SIPP = shutil.which("sipp")

requires_sipp = pytest.mark.skipif(
    SIPP is None, reason="sipp is not installed (make test installs it with apt when run as root)"
)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `host` right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive ports free on `host` right now (one per worker)."""
    for _ in range(50):
        first = free_port(host)
        if all(_is_free(host, first + n) for n in range(1, count)):
            return first
    raise RuntimeError(f"no {count} free ports in a row")


def _is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        try:
            tcp.bind((host, port))
        except OSError:
            return False
    return True


def workers_of_this_run() -> int:
    """The engine's workers in this test run unless a test says otherwise: SIP_WORKERS of the
    environment (`make test-workers`), else one."""
    return int(os.environ.get("SIP_WORKERS", "1"))


class EngineRunner:
    """The SIP engine as a subprocess of the test: one process, or as many workers as the
    test's `env` or the environment of the test run say (SIP_WORKERS; `make test-workers`)."""

    def __init__(
        self,
        node: str = "test-node",
        env: dict[str, str] | None = None,
        listen_host: str = "",
        port: int | None = None,
    ) -> None:
        self.host = "127.0.0.1"  # where the test's peers send to
        self.port = port or free_port()
        self.listen_host = listen_host  # SIP_LISTEN's host, when not `host` ("::": every address)
        self.node = node
        self.spool = Path(tempfile.mkdtemp(prefix="vosadmin-spool-"))
        self.extra_env = env or {}
        self.workers = int(self.extra_env.get("SIP_WORKERS", workers_of_this_run()))
        self.process: subprocess.Popen[str] | None = None
        self.log_path = self.spool / "engine.log"
        self._log_start = 0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def listen(self) -> str:
        return f"[{self.listen_host}]:{self.port}" if self.listen_host else self.address

    @property
    def nodes(self) -> list[str]:
        """The engine nodes it runs: itself, or one per worker."""
        if self.workers == 1:
            return [self.node]
        return [f"{self.node}-{index}" for index in range(self.workers)]

    def start(self) -> EngineRunner:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_of_tests(),
            "REDIS_URL": settings.REDIS_URL,
            "SIP_NODE_NAME": self.node,
            "SIP_SPOOL_DIR": str(self.spool),
            "VOSADMIN_PROCESS": "sipengine",
            "PYTHONUNBUFFERED": "1",
            "SIP_WORKERS": str(self.workers),
            **self.extra_env,
        }
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "a")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runsipengine", "--listen", self.listen],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a process group: `kill` crashes every worker at once
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"engine exited:\n{self.log()}")
            if self.log_since_start().count("listening on") >= self.workers:
                return
            time.sleep(0.1)
        raise AssertionError(f"engine did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def log_since_start(self) -> str:
        """What the engine logged since it was last started (`restart` appends to the log)."""
        return self.log()[self._log_start :]

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait: the graceful shutdown path."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack
            time.sleep(1)
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"engine did not stop on SIGTERM:\n{self.log()}") from None

    def kill(self) -> None:
        """SIGKILL to the engine and its workers, and wait: a crash, nothing written on the way
        out."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> EngineRunner:
        self.stop()
        return self.start()


@dataclass
class SippResult:
    """What a sipp run did."""

    returncode: int
    logged: list[str]
    output: str
    errors: str

    def outcome(self) -> str:
        """The single outcome line a scenario logged (scenarios log exactly one per call)."""
        assert self.logged, (
            f"sipp logged nothing (exit {self.returncode}):\n{self.errors}\n{self.output}"
        )
        return self.logged[-1]


def run_sipp(
    scenario: str,
    target: str,
    *,
    rows: list[str] | None = None,
    transport: str = "udp",
    local_ip: str = "127.0.0.1",
    local_port: int | None = None,
    calls: int = 1,
    rate: float | None = None,
    timeout: float = 60,
    extra: list[str] | None = None,
    background: bool = False,
    status: str | None = None,
) -> SippResult | subprocess.Popen[str]:
    """Run sipp with a scenario of tests/sipp (or a `-sn` built-in with `scenario="sn:uas"`).

    `status` ("486 Busy Here") fills the __CODE__ __REASON__ of a failure scenario: sipp checks
    status codes when it loads a scenario, so they cannot come from an injection file.
    """
    workdir = Path(tempfile.mkdtemp(prefix="sipp-"))
    command = [
        SIPP or "sipp",
        target,
        "-m",
        str(calls),
        "-i",
        local_ip,
        "-p",
        str(local_port or free_port(local_ip)),
        "-t",
        "t1" if transport == "tcp" else "u1",
        "-nostdin",
        "-trace_logs",
        "-log_file",
        str(workdir / "log"),
        "-trace_err",
        "-error_file",
        str(workdir / "errors"),
        "-timeout_error",
    ]
    if scenario.startswith("sn:"):
        command += ["-sn", scenario[3:]]
    else:
        command += ["-sf", str(scenario_file(SCENARIOS / scenario, workdir, status))]
    if rows is not None:
        injection = workdir / "data.csv"
        injection.write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
        command += ["-inf", str(injection)]
    if rate is not None:
        command += ["-r", str(rate)]
    command += ["-timeout", f"{int(timeout)}s", *(extra or [])]
    if background:
        process = subprocess.Popen(
            command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        process.workdir = workdir  # type: ignore[attr-defined]
        return process
    completed = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=timeout + 15
    )
    return sipp_result(completed.returncode, workdir, completed.stdout + completed.stderr)


def scenario_file(path: Path, workdir: Path, status: str | None) -> Path:
    """The scenario to run: the file itself, or a copy with its status filled in."""
    if status is None:
        return path
    code, _, reason = status.partition(" ")
    text = path.read_text().replace("__CODE__", code).replace("__REASON__", reason)
    filled = workdir / path.name
    filled.write_text(text)
    return filled


def sipp_finished(process: subprocess.Popen[str], timeout: float = 30) -> SippResult:
    """Wait for a sipp started with `background=True` and collect what it did."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return sipp_result(process.returncode, process.workdir, output or "")  # type: ignore[attr-defined]


def sipp_result(returncode: int, workdir: Path, output: str) -> SippResult:
    """Collect the log lines and errors a sipp run left in its work directory."""
    logged = []
    with contextlib.suppress(FileNotFoundError):
        logged = [
            line.strip() for line in (workdir / "log").read_text().splitlines() if line.strip()
        ]
    errors = ""
    with contextlib.suppress(FileNotFoundError):
        errors = (workdir / "errors").read_text()
    return SippResult(returncode, logged, output, errors)


def wait_for(condition: Callable[[], object], timeout: float = 10, interval: float = 0.1) -> object:
    """Poll until `condition()` is truthy; return its value or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
