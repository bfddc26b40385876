"""Core console pages: home, system parameters, users and the operation log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from rest_framework.authtoken.models import Token

from vosadmin.core import filtersets, tables
from vosadmin.core.audit import record_change
from vosadmin.core.forms import UserForm
from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)
from vosadmin.core.models import AuditLog
from vosadmin.core.parameters import GROUPS, PARAMETERS, ParameterValueError, parameter_values
from vosadmin.core.parameters import update_parameter as store_parameter
from vosadmin.core.roles import Role


class HomeView(RoleRequiredMixin, TemplateView):
    """The landing page: what is configured and what is live."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from vosadmin.core.dashboard import dashboard_figures, security_figures
        from vosadmin.core.overview import page_data

        context = super().get_context_data(**kwargs)
        return {
            **context,
            "figures": dashboard_figures(),
            "security": security_figures(),
            "overview": page_data(),
        }


class ParameterListView(RoleRequiredMixin, View):
    """Operation management → Softswitch management → System parameter."""

    write_role = Role.ADMINISTRATOR

    def get(self, request: HttpRequest, errors: dict | None = None) -> HttpResponse:
        query = request.GET.get("q", "").strip().lower()
        values = parameter_values()
        groups = []
        for group in GROUPS:
            rows = [
                {
                    "parameter": parameter,
                    "value": values[name],
                    "shown": parameter.display(values[name]),
                    "default_shown": parameter.display(parameter.default),
                    "is_default": values[name] == parameter.default,
                    "error": (errors or {}).get(name),
                }
                for name, parameter in PARAMETERS.items()
                if parameter.group == group and _matches(parameter, query)
            ]
            if rows:
                groups.append({"name": group, "rows": rows})
        context = {
            "groups": groups,
            "q": query,
            "can_edit": self.can_write(),
            "title": "System parameter",
        }
        return render(request, "core/parameters.html", context, status=400 if errors else 200)

    def post(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("name", "")
        parameter = PARAMETERS.get(name)
        if parameter is None:
            messages.error(request, f"There is no system parameter named {name!r}.")
            return HttpResponseRedirect(reverse("core:parameter_list"))
        try:
            old, new = store_parameter(
                name, parameter.parse_text(request.POST.get("value", "")), request.user
            )
        except ParameterValueError as error:
            return self.get(request, errors={name: str(error)})
        messages.success(request, f"{name}: {parameter.display(old)} → {parameter.display(new)}.")
        return HttpResponseRedirect(f"{reverse('core:parameter_list')}#{name}")


def _matches(parameter: Any, query: str) -> bool:
    text = f"{parameter.name} {parameter.description} {parameter.recommendation}".lower()
    return not query or query in text


class UserListView(ObjectListView):
    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR
    queryset = get_user_model().objects.prefetch_related("groups").order_by("username")
    table_class = tables.UserTable
    filterset_class = filtersets.UserFilterSet
    title = "Users"


class UserEditView(ObjectEditView):
    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR
    model = get_user_model()
    form_class = UserForm
    template_name = "core/user_edit.html"


class UserDeleteView(ObjectDeleteView):
    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR
    model = get_user_model()

    def form_valid(self, form: Any) -> HttpResponse:
        if self.object == self.request.user:
            messages.error(self.request, "You cannot delete your own account.")
            return HttpResponseRedirect(reverse("core:user_list"))
        return super().form_valid(form)


class UserTokenView(RoleRequiredMixin, View):
    """Issue (or rotate) a user's API token; the key is shown once, on the next page."""

    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = get_object_or_404(get_user_model(), pk=pk)
        with transaction.atomic():
            Token.objects.filter(user=user).delete()
            token = Token.objects.create(user=user)
            record_change(request.user, "token", "User", user.pk, user.username, {})
        messages.warning(
            request, f"API token for {user.username} (shown once, copy it now): {token.key}"
        )
        return HttpResponseRedirect(reverse("core:user_edit", kwargs={"pk": pk}))


class AuditLogListView(ObjectListView):
    """System management → Operation log."""

    queryset = AuditLog.objects.all()
    table_class = tables.AuditLogTable
    filterset_class = filtersets.AuditLogFilterSet
    title = "Operation log"

    def can_write(self) -> bool:
        return False
