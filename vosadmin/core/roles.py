"""The three console roles (SPEC §6) and how a user's role is found.

A role is a Django group of the same name; a superuser is an Administrator. Roles are ordered:
an Administrator may do everything an Operator may, an Operator everything a Viewer may.
"""

from __future__ import annotations

import enum
from typing import Any


class Role(enum.IntEnum):
    """Console roles, ordered by what they may do."""

    VIEWER = 1  # read only
    OPERATOR = 2  # gateways, phones, lists, registrations, CDRs; no parameters or users
    ADMINISTRATOR = 3  # everything

    @property
    def label(self) -> str:
        """The role's name, which is also its Django group's name."""
        return self.name.capitalize()


ROLE_BY_GROUP = {role.label: role for role in Role}


def role_of(user: Any) -> Role | None:
    """The highest role a user holds, or None (a user without a role sees nothing)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    cached = getattr(user, "_vosadmin_role", False)
    if cached is False:
        names = user.groups.values_list("name", flat=True)
        roles = [ROLE_BY_GROUP[name] for name in names if name in ROLE_BY_GROUP]
        cached = max(roles, default=None)
        user._vosadmin_role = cached
    return cached


def has_role(user: Any, role: Role) -> bool:
    """Whether the user holds `role` or a higher one."""
    held = role_of(user)
    return held is not None and held >= role


def ensure_role_groups() -> None:
    """Create the role groups if they are missing (idempotent)."""
    from django.contrib.auth.models import Group

    for role in Role:
        Group.objects.get_or_create(name=role.label)
