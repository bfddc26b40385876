"""Pages of the Web API: *System management → Web access control* (administrators), the
browser test page `/external/test/server`, and the Web API endpoint itself."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)
from vosadmin.core.roles import Role
from vosadmin.external import filtersets, forms, tables
from vosadmin.external.calls import CALLS
from vosadmin.external.examples import EXAMPLES
from vosadmin.external.models import WebAccessRule
from vosadmin.external.server import answer_call


class AdministratorsOnly:
    """Web access control decides who may move money: administrators only, like Users."""

    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR


class WebAccessRuleListView(AdministratorsOnly, ObjectListView):
    queryset = WebAccessRule.objects.all()
    table_class = tables.WebAccessRuleTable
    filterset_class = filtersets.WebAccessRuleFilterSet
    title = "Web access control"
    help_text = (
        "Who may call the VOS3000-compatible Web API (POST /external/server/<Name>): a request "
        "is answered only if a rule's path prefixes its path and the rule allows its source "
        "address; with no rule nobody may. The memo names the client in the operation log."
    )


class WebAccessRuleEditView(AdministratorsOnly, ObjectEditView):
    model = WebAccessRule
    form_class = forms.WebAccessRuleForm


class WebAccessRuleDeleteView(AdministratorsOnly, ObjectDeleteView):
    model = WebAccessRule


@method_decorator(csrf_exempt, name="dispatch")  # machine-to-machine: the allow-list guards it
class ServerView(View):
    """`POST /external/server/<Name>` (SPEC §9)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, name: str) -> HttpResponseBase:
        return answer_call(request, name)


class TestServerView(RoleRequiredMixin, TemplateView):
    """VOS3000's `/external/test/server`: pick a call, edit its JSON body, send, see the reply.
    The page posts with the browser's address, so a Web access rule must allow it."""

    required_role = Role.ADMINISTRATOR
    template_name = "external/test_server.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(title="Web API test", calls=sorted(CALLS), examples=EXAMPLES)
        return context
