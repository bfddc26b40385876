"""The fixed cast of the test suite: an administrator, an operator, a viewer and a stranger.

Every test runs against the real PostgreSQL and Redis that `make test` starts (or that
DATABASE_URL / REDIS_URL name).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from vosadmin.core.parameters import resolver
from vosadmin.core.roles import Role

pytest_plugins = ["tests.engine.fixtures"]  # the real SIP engine, for any test that needs it

PASSWORD = "correct-horse-battery-staple"


def make_user(username: str, role: Role | None) -> User:
    """A user holding `role` (None: a logged-in user without any role)."""
    user = User.objects.create_user(username, password=PASSWORD)
    if role is not None:
        user.groups.add(Group.objects.get_or_create(name=role.label)[0])
    return user


def pytest_generate_tests(metafunc: Any) -> None:
    """`bad_case` runs a test once per entry of its class's `bad_data` (tests/crud.py)."""
    if "bad_case" in metafunc.fixturenames:
        cases = getattr(metafunc.cls, "bad_data", [])
        metafunc.parametrize("bad_case", range(len(cases)), ids=[field for _, field in cases])


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Real hashing costs ~0.3 s per user; the tests do not test PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_parameter_cache() -> Any:
    """Parameter values are cached per process; every test starts from the database."""
    resolver.invalidate()
    yield
    resolver.invalidate()


@pytest.fixture
def admin_user(db: Any) -> User:
    return make_user("alice-admin", Role.ADMINISTRATOR)


@pytest.fixture
def operator_user(db: Any) -> User:
    return make_user("oscar-operator", Role.OPERATOR)


@pytest.fixture
def viewer_user(db: Any) -> User:
    return make_user("victor-viewer", Role.VIEWER)


@pytest.fixture
def roleless_user(db: Any) -> User:
    return make_user("nobody", None)


@pytest.fixture
def users(admin_user: User, operator_user: User, viewer_user: User, roleless_user: User) -> dict:
    """The cast by role name; "anonymous" maps to None."""
    return {
        "admin": admin_user,
        "operator": operator_user,
        "viewer": viewer_user,
        "roleless": roleless_user,
        "anonymous": None,
    }


def api_client_for(user: User | None) -> APIClient:
    """An API client authenticated with the user's token (anonymous for None)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def admin_api(admin_user: User) -> APIClient:
    return api_client_for(admin_user)


@pytest.fixture
def operator_api(operator_user: User) -> APIClient:
    return api_client_for(operator_user)


@pytest.fixture
def viewer_api(viewer_user: User) -> APIClient:
    return api_client_for(viewer_user)


@pytest.fixture
def admin_client(client: Any, admin_user: User) -> Any:
    client.force_login(admin_user)
    return client


@pytest.fixture
def redis_client() -> Any:
    """A synchronous client of the test Redis, with vosadmin's keys cleared before and after."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)

    def clear() -> None:
        keys = list(client.scan_iter("vosadmin:*", count=1000))
        if keys:
            client.delete(*keys)

    clear()
    yield client
    clear()
    client.close()


@pytest.fixture
def asgi_server(transactional_db: Any, tmp_path: Any) -> Iterator[str]:
    """The console under daphne (`vosadmin.serve`) — HTTP and WebSockets, as in production —
    on a free port, using the test database (so the test's data must be committed:
    transactional tests)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    from tests.helpers import database_url_of_tests
    from vosadmin.stack import free_tcp_port, stop_process, wait_for_tcp

    port = free_tcp_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "VOSADMIN_PROCESS": "web",
    }
    command = [sys.executable, "-m", "vosadmin.serve", "-b", "127.0.0.1", "-p", str(port)]
    with (tmp_path / "daphne.log").open("w") as log:
        process = subprocess.Popen(
            [*command, "vosadmin.asgi:application"], env=env, stdout=log, stderr=log
        )
        try:
            wait_for_tcp("127.0.0.1", port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(process)


FRESH_DATABASE = "vosadmin_fresh_test"


@pytest.fixture
def fresh_database_url(django_db_blocker: Any) -> Iterator[str]:
    """The URL of a new, empty database on the tests' server (dropped afterwards), for
    processes the test starts."""
    from django.db import connection

    from tests.helpers import connect_to_test_database

    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    raw = connect_to_test_database()
    with raw.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{FRESH_DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{FRESH_DATABASE}"')
    host = params.get("host") or "127.0.0.1"
    port = params.get("port") or 5432
    user = params.get("user") or "postgres"
    password = params.get("password") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    yield f"postgresql://{auth}/{FRESH_DATABASE}?host={host}&port={port}"
    with raw.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{FRESH_DATABASE}" WITH (FORCE)')
    raw.close()
