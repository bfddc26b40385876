"""Number management pages: black/white list groups and their numbers, the system white list,
the Dynamic black list (live) and its history, CSV import/export, and the parameter presets."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView

from blacklist import filtersets, forms, tables
from blacklist.csv_lists import (
    CsvImportError,
    export_response,
    import_blacklist_numbers,
    import_whitelist,
)
from blacklist.entries import release_entry
from blacklist.models import (
    BlacklistGroup,
    BlacklistNumber,
    DynamicBlacklistEntry,
    SystemWhitelistEntry,
)
from blacklist.presets import PresetChoice, apply_preset, preset_changes
from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)
from vosadmin.core.roles import Role


def numbers_url(group_id: Any = None) -> str:
    """The numbers page, filtered to one group when given."""
    url = reverse("blacklist:blacklistnumber_list")
    return f"{url}?{urlencode({'group': group_id})}" if group_id else url


class BlacklistGroupListView(ObjectListView):
    queryset = BlacklistGroup.objects.annotate(number_count=Count("numbers")).order_by("name")
    table_class = tables.BlacklistGroupTable
    filterset_class = filtersets.BlacklistGroupFilterSet
    title = "Black/white list groups"
    help_text = (
        "Named lists of numbers (exact or prefix). Attach a group to phones and mapping gateways "
        "as their caller or callee black list; a group that applies to all traffic screens every "
        "call. The system white list overrides every black list."
    )


class BlacklistGroupEditView(ObjectEditView):
    model = BlacklistGroup
    form_class = forms.BlacklistGroupForm


class BlacklistGroupDeleteView(ObjectDeleteView):
    model = BlacklistGroup


class BlacklistNumberListView(ObjectListView):
    """The numbers of the black list groups; filtered to one group, it is that group's page."""

    queryset = BlacklistNumber.objects.select_related("group")
    table_class = tables.BlacklistNumberTable
    filterset_class = filtersets.BlacklistNumberFilterSet
    template_name = "blacklist/number_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        group = self.selected_group()
        query = urlencode({"group": group.pk}) if group else ""
        context.update(
            group=group,
            title=f"Numbers of group “{group}”" if group else "Black list numbers",
            add_url=f"{context['add_url']}?{query}" if context["add_url"] and group else None,
            import_url=f"{reverse('blacklist:blacklistnumber_import')}?{query}",
            export_url=f"{reverse('blacklist:blacklistnumber_export')}?{query}" if group else None,
        )
        return context

    def selected_group(self) -> BlacklistGroup | None:
        """The group the page is filtered to, if any."""
        form = self.filterset.form
        return form.cleaned_data.get("group") if form.is_valid() else None


class BlacklistNumberEditView(ObjectEditView):
    model = BlacklistNumber
    form_class = forms.BlacklistNumberForm

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), "group": self.request.GET.get("group")}

    def get_success_url(self) -> str:
        return numbers_url(self.object.group_id)


class BlacklistNumberDeleteView(ObjectDeleteView):
    model = BlacklistNumber

    def get_success_url(self) -> str:
        return numbers_url(self.object.group_id)


class SystemWhitelistEntryListView(ObjectListView):
    queryset = SystemWhitelistEntry.objects.all()
    table_class = tables.SystemWhitelistEntryTable
    filterset_class = filtersets.SystemWhitelistEntryFilterSet
    template_name = "blacklist/whitelist.html"
    title = "System white list"
    help_text = (
        "Numbers (exact or prefix) that no static or dynamic black list blocks, and that the "
        "dynamic-blacklist checks never list — emergency numbers, your own test numbers."
    )


class SystemWhitelistEntryEditView(ObjectEditView):
    model = SystemWhitelistEntry
    form_class = forms.SystemWhitelistEntryForm


class SystemWhitelistEntryDeleteView(ObjectDeleteView):
    model = SystemWhitelistEntry


class CsvImportView(RoleRequiredMixin, FormView):
    """Upload a CSV file: all of it is imported, or nothing and every bad row is listed."""

    required_role = Role.OPERATOR
    template_name = "blacklist/csv_import.html"
    title = ""
    imported_noun = "numbers"  # "… imported." (the rates import reuses this view)

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            count = self.import_file(form.cleaned_data)
        except CsvImportError as rejected:
            context = self.get_context_data(form=form, rejected=rejected)
            return self.render_to_response(context, status=400)
        messages.success(self.request, f"{count} {self.imported_noun} imported.")
        return HttpResponseRedirect(self.imported_url(form.cleaned_data))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "title": self.title}

    def import_file(self, data: dict[str, Any]) -> int:
        """Import the uploaded file; returns how many numbers were added."""
        raise NotImplementedError

    def imported_url(self, data: dict[str, Any]) -> str:
        """Where to go after a successful import."""
        raise NotImplementedError


class BlacklistNumberImportView(CsvImportView):
    form_class = forms.BlacklistNumberImportForm
    title = "Import numbers into a black list group"

    def get_initial(self) -> dict[str, Any]:
        return {"group": self.request.GET.get("group")}

    def import_file(self, data: dict[str, Any]) -> int:
        return import_blacklist_numbers(data["group"], data["file"].read(), self.request.user)

    def imported_url(self, data: dict[str, Any]) -> str:
        return numbers_url(data["group"].pk)


class WhitelistImportView(CsvImportView):
    form_class = forms.WhitelistImportForm
    title = "Import numbers into the system white list"

    def import_file(self, data: dict[str, Any]) -> int:
        return import_whitelist(data["file"].read(), self.request.user)

    def imported_url(self, data: dict[str, Any]) -> str:
        return reverse("blacklist:systemwhitelistentry_list")


class BlacklistNumberExportView(RoleRequiredMixin, View):
    """Download one group's numbers as CSV (the import format)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = filtersets.BlacklistNumberFilterSet(
            request.GET, queryset=BlacklistNumber.objects.order_by("number")
        )
        group = filterset.form.cleaned_data.get("group") if filterset.is_valid() else None
        if group is None:
            raise BadRequest("Choose the group to export: ?group=<id>.")
        return export_response(filterset.qs, f"blacklist-group-{group.pk}.csv")


class WhitelistExportView(RoleRequiredMixin, View):
    """Download the system white list (filtered like the page) as CSV."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = filtersets.SystemWhitelistEntryFilterSet(
            request.GET, queryset=SystemWhitelistEntry.objects.order_by("number")
        )
        return export_response(filterset.qs, "system-white-list.csv")


class DynamicBlacklistListView(ObjectListView):
    """Number management → Dynamic black list: active entries, updated live over a WebSocket."""

    queryset = DynamicBlacklistEntry.objects.filter(active=True)
    table_class = tables.DynamicBlacklistEntryTable
    filterset_class = filtersets.DynamicBlacklistPageFilterSet
    template_name = "blacklist/dynamic_list.html"
    write_role = Role.ADMINISTRATOR
    title = "Dynamic black list"
    help_text = (
        "Numbers listed by the dynamic-blacklist checks (System parameter → Dynamic blacklist). "
        "Rows appear and disappear as entries are created, expire or are released."
    )

    def get_table_kwargs(self) -> dict[str, Any]:
        return {"exclude": () if self.can_write() else ("release",)}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(history=False, other_url=reverse("blacklist:dynamicblacklistentry_history"))
        return context


class DynamicBlacklistHistoryView(DynamicBlacklistListView):
    """Expired and released entries, newest first."""

    queryset = DynamicBlacklistEntry.objects.filter(active=False)
    table_class = tables.DynamicBlacklistHistoryTable
    title = "Dynamic black list — history"
    help_text = "Entries that expired or that an administrator released early."

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(history=True, other_url=reverse("blacklist:dynamicblacklistentry_list"))
        return context


class DynamicBlacklistReleaseView(RoleRequiredMixin, View):
    """An administrator releases an entry early (POST); the engine stops blocking it."""

    write_role = Role.ADMINISTRATOR

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        entry = release_entry(pk, request.user, timezone.now())
        if entry is None:
            messages.error(request, "That entry is no longer active.")
        else:
            messages.success(request, f"{entry} released.")
        return HttpResponseRedirect(reverse("blacklist:dynamicblacklistentry_list"))


class PresetApplyView(RoleRequiredMixin, View):
    """Confirm (GET) and apply (POST) a deployment preset to one family or all four."""

    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR

    def get(self, request: HttpRequest, preset: str, family: str) -> HttpResponse:
        choice = preset_choice(preset, family)
        context = {"choice": choice, "changes": preset_changes(choice), "title": str(choice)}
        return render(request, "blacklist/preset_confirm.html", context)

    def post(self, request: HttpRequest, preset: str, family: str) -> HttpResponse:
        choice = preset_choice(preset, family)
        changed = apply_preset(choice, request.user)
        what = f"{len(changed)} parameter(s) changed" if changed else "nothing to change"
        messages.success(request, f"{str(choice).capitalize()}: {what}.")
        return HttpResponseRedirect(f"{reverse('core:parameter_list')}#dynamic-blacklist-guidance")


def preset_choice(preset: str, family: str) -> PresetChoice:
    """The preset choice named in the URL (404 if there is none)."""
    try:
        return PresetChoice.parse(preset, family)
    except KeyError:
        raise Http404(f"No preset {preset!r} for {family!r}.") from None
