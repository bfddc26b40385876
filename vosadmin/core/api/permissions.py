"""API permissions by console role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from vosadmin.core.roles import Role, has_role


class RolePermission(BasePermission):
    """Reads need the view's `read_role` (Viewer), writes its `write_role` (Operator by default).

    An anonymous request is refused before this runs its role check, which DRF turns into 401.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return has_role(request.user, getattr(view, "read_role", Role.VIEWER))
        return has_role(request.user, getattr(view, "write_role", Role.OPERATOR))
