"""`make fuzz-api`: schemathesis over every operation of the live OpenAPI schema.

Run inside the service stack, which provides PostgreSQL and Redis (embedded, or DATABASE_URL /
REDIS_URL):

    python -m vosadmin.stack exec -- python -m fuzz.api [--max-examples N] [schemathesis options]

It recreates a throwaway database (`vosadmin_fuzzapi` on the same server; Redis db 14; the
variables FUZZ_API_DATABASE and FUZZ_API_REDIS_DB choose others), migrates it, creates an
administrator and its API token, starts the console (daphne) on a free loopback port and runs
`schemathesis run` on `/api/schema/` with that token and every check. The exit status is
schemathesis's: non-zero on any 5xx, response that the schema does not describe, or other
conformance failure (fuzz/schemathesis.toml says which checks are off, and why). Options after
the known ones go to `schemathesis run` unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from vosadmin.stack import free_tcp_port, stop_process, wait_for_tcp

BASE_DIR = Path(__file__).resolve().parent.parent
FUZZ_DATABASE = os.environ.get("FUZZ_API_DATABASE", "vosadmin_fuzzapi")
FUZZ_REDIS_DB = int(os.environ.get("FUZZ_API_REDIS_DB", "14"))
CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
ADMIN_NAME = "fuzz-admin"
CREATE_ADMIN = f"""
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from vosadmin.core.roles import Role, ensure_role_groups
ensure_role_groups()
user = User.objects.create_user("{ADMIN_NAME}", password=None)
user.groups.add(Group.objects.get(name=Role.ADMINISTRATOR.label))
print(Token.objects.create(user=user).key)
"""


def with_path(url: str, path: str) -> str:
    """`url` with its path replaced (the database name, or the Redis db number)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def fuzz_environment() -> dict[str, str]:
    """The stack's environment, pointed at a throwaway database and Redis db."""
    env = dict(os.environ)
    env["DATABASE_URL"] = with_path(env["DATABASE_URL"], f"/{FUZZ_DATABASE}")
    env["REDIS_URL"] = with_path(env["REDIS_URL"], f"/{FUZZ_REDIS_DB}")
    env["VOSADMIN_PROCESS"] = "fuzz-api"
    return env


def recreate_database(database_url: str) -> None:
    """Drop and create the throwaway database (never the stack's own)."""
    import psycopg2

    connection = psycopg2.connect(with_path(database_url, "/postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{FUZZ_DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{FUZZ_DATABASE}"')
    connection.close()


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command; its standard output."""
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(command, env=env, cwd=BASE_DIR, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def console(env: dict[str, str]) -> Iterator[str]:
    """The console (daphne) on a free loopback port; yields its base URL."""
    port = free_tcp_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen([*command, "vosadmin.asgi:application"], env=env, cwd=BASE_DIR)
    try:
        wait_for_tcp("127.0.0.1", port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def schemathesis_command(base_url: str, token: str, options: argparse.Namespace) -> list[str]:
    """`schemathesis run` over every operation, with every check, as the administrator."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG_FILE),
        "run",
        f"{base_url}/api/schema/?format=json",
        "--header",
        f"Authorization: Token {token}",
        "--max-examples",
        str(options.max_examples),
        "--workers",
        str(options.workers),
        "--seed",
        str(options.seed),
        "--suppress-health-check",
        "all",
        *options.schemathesis_options,
    ]


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation (100)")
    # one worker: with several, hypothesis's lambda-description cache (not thread-safe) fails
    # now and then with "AST constructor recursion depth mismatch", an error of the tool
    parser.add_argument("--workers", type=int, default=1, help="concurrent requests (1)")
    parser.add_argument("--seed", type=int, default=0, help="for a reproducible run (0)")
    options, rest = parser.parse_known_args(argv)
    options.schemathesis_options = rest
    return options


def main(argv: list[str]) -> int:
    """Prepare the throwaway database, start the console, run schemathesis; its exit status."""
    options = parse_arguments(argv)
    env = fuzz_environment()
    recreate_database(env["DATABASE_URL"])
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    token = manage(env, "shell", "--command", CREATE_ADMIN).strip().splitlines()[-1]
    with console(env) as base_url:
        print(f"fuzz-api: schemathesis against {base_url} as {ADMIN_NAME}", flush=True)
        return subprocess.run(
            schemathesis_command(base_url, token, options), cwd=BASE_DIR
        ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
