"""A plain `manage.py` reaches the services of a running `make run` (var/stack.env), and says
what to do, in one line, when nothing is running."""

from __future__ import annotations

import os
import subprocess
from contextlib import nullcontext
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from tests.helpers import database_url_of_tests, run_manage_py
from vosadmin import stack

BASE_DIR = Path(__file__).resolve().parent.parent
URLS = {"DATABASE_URL": "postgresql://postgres@/vosadmin?host=/x", "REDIS_URL": "redis://h:1/0"}


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `manage.py` as a user would: no DATABASE_URL or REDIS_URL, `var/` = var_dir."""
    env = {k: v for k, v in os.environ.items() if k not in stack.SERVICE_VARIABLES}
    env["VOSADMIN_VAR_DIR"] = str(var_dir)
    return run_manage_py(*args, env=env)


def test_published_urls_live_exactly_as_long_as_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "stack.env"
    with stack.published(URLS, path):
        assert stack.running_stack_urls(path) == URLS
        assert path.stat().st_mode & 0o777 == 0o600
    assert not path.exists()
    assert stack.running_stack_urls(path) == {}


def test_nothing_is_published_when_the_user_gave_every_url(tmp_path: Path) -> None:
    path = tmp_path / "stack.env"
    with stack.published({}, path):
        assert not path.exists()


def test_a_stack_env_left_by_a_killed_stack_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "stack.env"
    path.write_text(f"STACK_PID={dead_pid()}\nDATABASE_URL={URLS['DATABASE_URL']}\n")
    assert stack.running_stack_urls(path) == {}


def test_run_publishes_the_embedded_urls_while_it_supervises(monkeypatch, tmp_path) -> None:
    """`make run` with no DATABASE_URL: the embedded URLs are in var/stack.env while it runs,
    and only they (a REDIS_URL the user gave is not written); the file is gone afterwards."""
    path = tmp_path / "stack.env"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", URLS["REDIS_URL"])
    monkeypatch.setattr(stack, "STACK_ENV_FILE", path)
    monkeypatch.setattr(stack, "services", lambda: nullcontext({**os.environ, **URLS}))
    monkeypatch.setattr(stack, "prepare", lambda env: None)
    seen = []
    monkeypatch.setattr(
        stack, "supervise", lambda env, processes: seen.append(path.read_text()) or 0
    )
    assert stack.main(["run"]) == 0
    assert f"DATABASE_URL={URLS['DATABASE_URL']}" in seen[0]
    assert "REDIS_URL" not in seen[0]
    assert not path.exists()


@pytest.mark.django_db(transaction=True)
def test_plain_manage_py_uses_the_running_stacks_database(tmp_path: Path) -> None:
    urls = {"DATABASE_URL": database_url_of_tests(), "REDIS_URL": settings.REDIS_URL}
    with stack.published(urls, tmp_path / "stack.env"):
        result = manage(
            tmp_path, "createsuperuser", "--noinput", "--username", "carol", "--email", "c@x.org"
        )
    assert result.returncode == 0, result.stderr
    assert User.objects.filter(username="carol", is_superuser=True).exists()


@pytest.mark.parametrize(
    "command", [["createsuperuser", "--noinput", "--username", "c"], ["showmigrations"]]
)
def test_without_a_running_stack_manage_py_says_what_to_do(tmp_path: Path, command) -> None:
    (tmp_path / "stack.env").write_text(f"STACK_PID={dead_pid()}\nDATABASE_URL=postgresql:///x\n")
    result = manage(tmp_path, *command)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "cannot reach PostgreSQL" in line
    assert "start `make run`" in line and "DATABASE_URL" in line
