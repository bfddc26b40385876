"""`manage.py bootstrap --demo` (what `make run` calls) is idempotent."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from billing.models import Cdr
from blacklist.models import BlacklistGroup
from softswitch.models import MappingGateway, Phone, RoutingGateway

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def password_file(settings, tmp_path):
    """The generated password goes to a file of the test's own."""
    settings.ADMIN_PASSWORD_FILE = tmp_path / "admin-password"
    return settings.ADMIN_PASSWORD_FILE


def bootstrap() -> str:
    out = io.StringIO()
    call_command("bootstrap", "--demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Group.objects.count(),
        MappingGateway.objects.count(),
        RoutingGateway.objects.count(),
        Phone.objects.count(),
        BlacklistGroup.objects.count(),
        Cdr.objects.count(),
    )


def test_first_run_creates_roles_admin_and_demo_data(password_file) -> None:
    output = bootstrap()
    password = password_file.read_text().strip()
    assert password not in output and str(password_file) in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    assert set(Group.objects.values_list("name", flat=True)) == {
        "Administrator",
        "Operator",
        "Viewer",
    }
    assert MappingGateway.objects.exists() and RoutingGateway.objects.exists()
    assert Phone.objects.exists() and BlacklistGroup.objects.exists()
    modes = set(Cdr.objects.values_list("billing_mode", flat=True))
    assert {0, 1, -2} <= modes


def test_second_run_changes_nothing_and_prints_no_password() -> None:
    bootstrap()
    before = counts()
    output = bootstrap()
    assert counts() == before
    assert "password" not in output


def test_demo_data_is_not_added_to_a_configured_database() -> None:
    User.objects.create_user("someone", password="x")
    MappingGateway.objects.create(name="REAL", ips=["192.0.2.1"])
    output = bootstrap()
    assert not User.objects.filter(username="admin").exists()
    assert MappingGateway.objects.count() == 1 and not Cdr.objects.exists()
    assert output == ""
