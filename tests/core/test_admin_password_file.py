"""The first administrator's generated password is kept in a file only its owner can read,
never printed (logs keep the output), and the file goes once that administrator logs in."""

from __future__ import annotations

import io
import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def password_file(settings, tmp_path):
    settings.ADMIN_PASSWORD_FILE = tmp_path / "var" / "admin-password"
    return settings.ADMIN_PASSWORD_FILE


def bootstrap() -> tuple[str, str]:
    """Run bootstrap on an empty database: its output, and the password it generated."""
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    from django.conf import settings

    return out.getvalue(), settings.ADMIN_PASSWORD_FILE.read_text().strip()


def test_the_password_is_in_a_file_only_its_owner_reads(password_file) -> None:
    output, password = bootstrap()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert User.objects.get(username="admin").check_password(password)
    assert password not in output
    assert f"password   in {password_file}" in output


def test_a_file_left_with_a_loose_mode_is_tightened(password_file) -> None:
    password_file.parent.mkdir()
    password_file.write_text("old\n")
    password_file.chmod(0o644)
    _, password = bootstrap()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password != "old"


def test_the_file_is_deleted_after_the_first_login(client, password_file) -> None:
    _, password = bootstrap()
    response = client.post("/login/", {"username": "admin", "password": password})
    assert response.status_code == 302
    assert not password_file.exists()


def test_a_failed_login_or_another_user_leaves_it(client, password_file) -> None:
    bootstrap()
    User.objects.create_user("someone", password=PASSWORD)
    client.post("/login/", {"username": "admin", "password": "wrong"})
    client.post("/login/", {"username": "someone", "password": PASSWORD})
    assert password_file.exists()


def test_a_token_login_deletes_it_too(client, password_file) -> None:
    _, password = bootstrap()
    response = client.post("/api/v1/auth/token/", {"username": "admin", "password": password})
    assert response.status_code == 200
    assert not password_file.exists()
