"""`/api/v1/web-access-rules/`: CRUD of the Web access rules (administrators only)."""

from __future__ import annotations

from vosadmin.core.api.views import AuditedModelViewSet
from vosadmin.core.roles import Role
from vosadmin.external.api.serializers import WebAccessRuleSerializer
from vosadmin.external.filtersets import WebAccessRuleFilterSet
from vosadmin.external.models import WebAccessRule


class WebAccessRuleViewSet(AuditedModelViewSet):
    """Who may call the VOS3000-compatible Web API. Administrators read and write."""

    queryset = WebAccessRule.objects.all()
    serializer_class = WebAccessRuleSerializer
    filterset_class = WebAccessRuleFilterSet
    read_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR
