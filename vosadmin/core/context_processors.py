"""Template context every console page gets: navigation and the user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from vosadmin.core.navigation import menu_for
from vosadmin.core.roles import role_of


def console(request: HttpRequest) -> dict[str, Any]:
    """Navigation and role for the base template (nothing for anonymous users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = role_of(user)
    return {"menu": menu_for(user, request.path), "user_role": role.label if role else None}
