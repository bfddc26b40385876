"""Generic console views: list (filters, sorting, pagination), edit (create/update) and delete.

The model pages of every app are declared with these (NetBox's `ObjectListView` /
`ObjectEditView` / `ObjectDeleteView` are the model): a page names its queryset, table,
FilterSet and form; roles, the operation log and URL naming are handled here once.
URL names follow `<app>:<model>_list|_add|_edit|_delete`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.views.generic import DeleteView, UpdateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from vosadmin.core.audit import diff, record_model_change, snapshot
from vosadmin.core.roles import Role, has_role


def model_url(model: type[Model] | Model, action: str, **kwargs: Any) -> str | None:
    """The URL of a model page (`list`, `add`, `edit`, `delete`), or None if it has none."""
    meta = model._meta
    try:
        return reverse(f"{meta.app_label}:{meta.model_name}_{action}", kwargs=kwargs or None)
    except NoReverseMatch:
        return None


class RoleRequiredMixin:
    """Refuse the page (403) unless the user holds `required_role`; writes need `write_role`."""

    required_role = Role.VIEWER
    write_role = Role.OPERATOR

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        needed = self.required_role if request.method in ("GET", "HEAD") else self.write_role
        if not has_role(request.user, needed):
            raise PermissionDenied("Your role does not allow this.")
        return super().dispatch(request, *args, **kwargs)

    def can_write(self) -> bool:
        """Whether the current user may change what this page shows."""
        return has_role(self.request.user, self.write_role)


PAGE_SIZE, MAX_PAGE_SIZE = 50, 500


class BoundedPaginator(Paginator):
    """A page size from the address bar (`per_page`) within 1…MAX_PAGE_SIZE: below 1 is the
    default size (a negative one made the page fail), above the largest is the largest."""

    def __init__(self, object_list: Any, per_page: int | str, *args: Any, **kwargs: Any) -> None:
        size = int(per_page)
        size = PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)
        super().__init__(object_list, size, *args, **kwargs)


class ObjectListView(RoleRequiredMixin, SingleTableMixin, FilterView):
    """A filterable, sortable, paginated table of a model's objects."""

    template_name = "generic/object_list.html"
    paginate_by = PAGE_SIZE
    paginator_class = BoundedPaginator
    title = ""
    help_text = ""

    def get_table(self, **kwargs: Any) -> Any:
        table = super().get_table(**kwargs)
        table.can_write = self.can_write()
        return table

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        model = self.get_queryset().model
        context.update(
            title=self.title or str(model._meta.verbose_name_plural).capitalize(),
            help_text=self.help_text,
            add_url=model_url(model, "add") if self.can_write() else None,
            filter_active=any(
                value
                for key, value in self.request.GET.items()
                if key not in ("page", "sort", "per_page")
            ),
        )
        return context


class ObjectEditView(RoleRequiredMixin, UpdateView):
    """Create (no pk in the URL) or edit an object; the change is written to the operation log."""

    template_name = "generic/object_edit.html"
    required_role = Role.OPERATOR

    def get_object(self, queryset: Any = None) -> Model:
        if "pk" not in self.kwargs:
            return self.model()
        return super().get_object(queryset)

    def form_valid(self, form: Any) -> HttpResponse:
        creating = form.instance._state.adding
        before = {} if creating else snapshot(self.model.objects.get(pk=form.instance.pk))
        with transaction.atomic():
            self.object = form.save()
            after = snapshot(self.object)
            action = "create" if creating else "update"
            record_model_change(self.request.user, action, self.object, diff(before, after))
        messages.success(
            self.request,
            f"{self.object._meta.verbose_name.capitalize()} “{self.object}” {action}d.",
        )
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        return model_url(self.model, "list") or "/"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        meta = self.model._meta
        adding = self.object._state.adding
        context.update(
            title=f"Add {meta.verbose_name}"
            if adding
            else f"Edit {meta.verbose_name} “{self.object}”",
            list_url=model_url(self.model, "list"),
            delete_url=None if adding else model_url(self.model, "delete", pk=self.object.pk),
        )
        return context


class ObjectDeleteView(RoleRequiredMixin, DeleteView):
    """Confirm and delete an object; the deletion is written to the operation log."""

    template_name = "generic/object_delete.html"
    required_role = Role.OPERATOR

    def form_valid(self, form: Any) -> HttpResponse:
        name = f"{self.object._meta.verbose_name.capitalize()} “{self.object}”"
        with transaction.atomic():
            changes = {key: [value, None] for key, value in snapshot(self.object).items()}
            record_model_change(self.request.user, "delete", self.object, changes)
            self.object.delete()
        messages.success(self.request, f"{name} deleted.")
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self) -> str:
        return model_url(self.model, "list") or "/"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"Delete {self.object._meta.verbose_name} “{self.object}”",
            list_url=model_url(self.model, "list"),
        )
        return context


def model_pages(
    prefix: str, name: str, list_view: Any, edit_view: Any, delete_view: Any
) -> list[URLPattern]:
    """The list/add/edit/delete routes of one model, named `<name>_list` etc."""
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}_list"),
        path(f"{prefix}/add/", edit_view.as_view(), name=f"{name}_add"),
        path(f"{prefix}/<int:pk>/edit/", edit_view.as_view(), name=f"{name}_edit"),
        path(f"{prefix}/<int:pk>/delete/", delete_view.as_view(), name=f"{name}_delete"),
    ]
