"""The first administrator's generated password: kept in a file only its owner can read
(`var/admin-password`, mode 0600), never printed, and deleted once that administrator has
logged in (settings.ADMIN_PASSWORD_FILE)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

ADMIN_USERNAME = "admin"


def password_file() -> Path:
    """Where the generated password is kept until the administrator's first login."""
    return Path(settings.ADMIN_PASSWORD_FILE)


def write_password_file(password: str) -> Path:
    """Write the password to the file, readable and writable by its owner only."""
    path = password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left from before keeps its mode otherwise
    with os.fdopen(descriptor, "w") as file:
        file.write(f"{password}\n")
    return path


def forget_password_after_login(sender: Any, user: Any, **kwargs: Any) -> None:
    """`user_logged_in` receiver: the first administrator has logged in, drop the file."""
    if user.get_username() == ADMIN_USERNAME:
        password_file().unlink(missing_ok=True)
