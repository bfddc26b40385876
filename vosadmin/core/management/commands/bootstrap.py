"""`manage.py bootstrap [--demo]`: roles, the first administrator and (optionally) demo data.

Idempotent: roles are created if missing; the administrator `admin` only on a database without
users (its generated password goes to `var/admin-password`, readable by its owner only and
deleted after admin's first login — never to the output, which logs keep); demo data only on
a database without gateways or phones.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from vosadmin.core.first_admin import ADMIN_USERNAME, write_password_file
from vosadmin.core.roles import ensure_role_groups


class Command(BaseCommand):
    help = "Create the roles, the first administrator and, with --demo, demo data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="Add demo data to an empty database."
        )

    def handle(self, *args: Any, demo: bool = False, **options: Any) -> None:
        from vosadmin.core.demo import create_demo_data, demo_data_exists

        ensure_role_groups()
        self._create_administrator()
        if demo and not demo_data_exists():
            created = create_demo_data()
            summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
            self.stdout.write(f"Demo data created: {summary}.")

    def _create_administrator(self) -> None:
        users = get_user_model().objects
        if users.exists():
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(ADMIN_USERNAME, email="", password=password)
        path = write_password_file(password)
        banner = "=" * 72
        self.stdout.write(
            self.style.WARNING(
                f"\n{banner}\n  Administrator created: user name  {ADMIN_USERNAME}\n"
                f"                         password   in {path}\n"
                f"  That file is readable by you only and is deleted when {ADMIN_USERNAME} first\n"
                f"  logs in. Change the password under System management → Users.\n{banner}\n"
            )
        )
