"""Billing pages: *Data query → CDR* (filter, sort and page through CDRs, see the totals,
export CSV), *Data report → Gateway report* and *Account management* (rate groups and rates,
accounts, payments)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import uuid4

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db.models import Count, ProtectedError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from billing import filtersets, forms, tables
from billing.filtersets import CdrFilterSet, GatewayReportFilterSet
from billing.keyset import CdrOrdering, InvalidPagination, KeysetPage, keyset_page, parse_cursor
from billing.models import (
    Account,
    Cdr,
    GatewayHour,
    LastCdrFilters,
    Payment,
    Rate,
    RateGroup,
    in_use_message,
)
from billing.payments import PaymentAlreadyMade, PaymentRefused, make_payment
from billing.rates_csv import export_response as export_rates
from billing.rates_csv import import_rates
from billing.rating import RateTable, rate_call
from billing.reports import chart_data
from billing.summary import summarize_cdrs
from billing.tables import CdrTable, GatewayReportTable
from blacklist.views import CsvImportView
from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)
from vosadmin.core.parameters import get_parameter
from vosadmin.core.roles import Role, has_role

PAGE_SIZE = 50
REMEMBERED_PARAMETERS = (*CdrFilterSet.base_filters, "ordering")


class CdrListView(RoleRequiredMixin, View):
    """The CDR page. Opened without parameters it restores the user's last filters.

    Filters, ordering and cursor travel in the query string, with the same names as the API
    (`/api/v1/cdrs/`), which is also what the Export button downloads from.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        if "reset" in request.GET:
            LastCdrFilters.forget(request.user)
            return HttpResponseRedirect(request.path)
        if not request.GET and (last := LastCdrFilters.recall(request.user)):
            return HttpResponseRedirect(f"{request.path}?{last}")
        queryset = Cdr.objects.select_related("account")  # the account column, in one query
        filterset = CdrFilterSet(request.GET, queryset=queryset, request=request)
        if not filterset.is_valid():
            return self.render(filterset, status=400)
        try:
            ordering = CdrOrdering.parse(request.GET.get("ordering"))
            cursor = parse_cursor(request.GET.get("cursor"), ordering)
        except InvalidPagination as error:
            return self.render(filterset, status=400, pagination_error=str(error))
        page = keyset_page(filterset.qs, ordering, cursor, PAGE_SIZE)
        LastCdrFilters.remember(request.user, remembered_query(request.GET))
        return self.render(filterset, page=page, ordering=ordering)

    def render(
        self,
        filterset: CdrFilterSet,
        status: int = 200,
        page: KeysetPage | None = None,
        ordering: CdrOrdering | None = None,
        pagination_error: str = "",
    ) -> HttpResponse:
        """The page; without a `page` (bad input) the form, its errors and an empty table."""
        context: dict[str, Any] = {
            "title": "CDR",
            "filter": filterset,
            "table": CdrTable([], empty_text="Correct the filters to see CDRs."),
            "filter_active": any(self.request.GET.get(name) for name in CdrFilterSet.base_filters),
            "reset_url": f"{self.request.path}?reset",
            "pagination_error": pagination_error,
        }
        if page is not None:
            after, before = filterset.start_window
            context.update(
                table=CdrTable(
                    page.rows,
                    order_by=str(ordering),
                    empty_text="No CDRs match.",
                    next_url=self.url_with_cursor(page.next_cursor),
                    previous_url=self.url_with_cursor(page.previous_cursor),
                ),
                summary=summarize_cdrs(filterset.qs),
                window_start=after,
                window_end=before,
                export_url=export_url(self.request.GET, filterset),
            )
        return render(self.request, "billing/cdr_list.html", context, status=status)

    def url_with_cursor(self, cursor: str | None) -> str | None:
        """This page's URL moved to `cursor` (None when there is no such page)."""
        if cursor is None:
            return None
        query = self.request.GET.copy()
        query["cursor"] = cursor
        return f"?{query.urlencode()}"


def remembered_query(params: QueryDict) -> str:
    """The part of a query string worth restoring: filters and ordering, not the cursor."""
    kept = QueryDict(mutable=True)
    for name in REMEMBERED_PARAMETERS:
        if values := params.getlist(name):
            kept.setlist(name, values)
    return kept.urlencode()


def export_url(params: QueryDict, filterset: CdrFilterSet) -> str:
    """The API's CSV export of what the page shows, with its start window written out."""
    after, before = filterset.start_window
    query = QueryDict(remembered_query(params), mutable=True)
    query["start_after"] = after.isoformat()
    query["start_before"] = (before or filterset.now).isoformat()
    query["format"] = "csv"
    return f"{reverse('cdr-list')}?{query.urlencode()}"


class GatewayReportView(RoleRequiredMixin, View):
    """The gateway report: filters, a chart and a table of the report rows, CSV from the API
    (`/api/v1/reports/gateways/`, the same parameters). Viewers read."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = GatewayReportFilterSet(
            request.GET, queryset=GatewayHour.objects.all(), request=request
        )
        context: dict[str, Any] = {
            "title": "Gateway report",
            "filter": filterset,
            "filter_active": bool(request.GET),
            "table": GatewayReportTable([], empty_text="Correct the filters to see the report."),
        }
        if not filterset.is_valid():
            return render(request, "billing/gateway_report.html", context, status=400)
        rows = filterset.report()
        start, end = filterset.window
        context.update(
            table=GatewayReportTable(
                rows,
                granularity=filterset.granularity_value,
                empty_text="No calls in this range (hours are reported once they are over).",
            ),
            chart=chart_data(rows),
            window_start=start,
            window_end=end,
            export_url=report_export_url(filterset),
        )
        return render(request, "billing/gateway_report.html", context)


def report_export_url(filterset: GatewayReportFilterSet) -> str:
    """The API's CSV of the report the page shows: its filters, the window written out."""
    start, end = filterset.window
    query = QueryDict(mutable=True)
    for name in ("side", "granularity", "gateway"):
        if value := filterset.form.cleaned_data.get(name):
            query[name] = value
    query["start"], query["end"], query["format"] = start.isoformat(), end.isoformat(), "csv"
    return f"{reverse('gateway-report')}?{query.urlencode()}"


# Account management (SPEC §8.5): rate groups, rates, accounts and payments.


def rates_url(group_id: Any = None) -> str:
    """The rates page, filtered to one rate group when given."""
    url = reverse("billing:rate_list")
    return f"{url}?{urlencode({'rate_group': group_id})}" if group_id else url


class ProtectedDeleteView(ObjectDeleteView):
    """A delete that other objects prevent (payments of an account, accounts using a rate
    group) is refused with a message saying why, and nothing is logged."""

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            return super().form_valid(form)
        except ProtectedError as error:
            messages.error(self.request, in_use_message(self.object, error))
            return HttpResponseRedirect(self.get_success_url())


class RateGroupListView(ObjectListView):
    queryset = RateGroup.objects.annotate(rate_count=Count("rates")).order_by("name")
    table_class = tables.RateGroupTable
    filterset_class = filtersets.RateGroupFilterSet
    title = "Rate groups"
    help_text = (
        "[Fee rate groups] Each account is rated by its group: the rate in force at the call's "
        "start whose prefix is the longest match of the callee. Open a group's rates to test a "
        "number, import or export them."
    )


class RateGroupEditView(ObjectEditView):
    model = RateGroup
    form_class = forms.RateGroupForm


class RateGroupDeleteView(ProtectedDeleteView):
    model = RateGroup


class RateListView(ObjectListView):
    """The rates of the groups; filtered to one group, it is that group's page, with the
    "test a number" box and CSV import/export."""

    queryset = Rate.objects.select_related("rate_group")
    table_class = tables.RateTable
    filterset_class = filtersets.RateFilterSet
    template_name = "billing/rate_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        group = self.selected_group()
        query = urlencode({"rate_group": group.pk}) if group else ""
        context.update(
            group=group,
            title=f"Rates of group “{group}”" if group else "Rates",
            add_url=f"{context['add_url']}?{query}" if context["add_url"] and group else None,
            import_url=f"{reverse('billing:rate_import')}?{query}",
            export_url=f"{reverse('billing:rate_export')}?{query}" if group else None,
        )
        if group:
            context.update(self.test_number(group))
        return context

    def selected_group(self) -> RateGroup | None:
        """The rate group the page is filtered to, if any."""
        form = self.filterset.form
        return form.cleaned_data.get("rate_group") if form.is_valid() else None

    def test_number(self, group: RateGroup) -> dict[str, Any]:
        """The "test a number" box: the rate in force now and what the call costs."""
        asked = "number" in self.request.GET
        form = forms.TestNumberForm(self.request.GET if asked else None)
        if not asked or not form.is_valid():
            return {"test_form": form}
        now = timezone.now()
        rate = RateTable.for_group(group.pk).lookup(form.cleaned_data["number"], now)
        precision = get_parameter("SERVER_BILLING_FEE_PRECISTION")
        charge = rate_call(form.cleaned_data["seconds"], rate, precision) if rate else None
        return {"test_form": form, "test_result": {"rate": rate, "charge": charge, "at": now}}


class RateEditView(ObjectEditView):
    model = Rate
    form_class = forms.RateForm

    def get_initial(self) -> dict[str, Any]:
        return {**super().get_initial(), "rate_group": self.request.GET.get("rate_group")}

    def get_success_url(self) -> str:
        return rates_url(self.object.rate_group_id)


class RateDeleteView(ObjectDeleteView):
    model = Rate

    def get_success_url(self) -> str:
        return rates_url(self.object.rate_group_id)


class RateImportView(CsvImportView):
    form_class = forms.RateImportForm
    title = "Import rates into a rate group"
    imported_noun = "rates"

    def get_initial(self) -> dict[str, Any]:
        return {"rate_group": self.request.GET.get("rate_group")}

    def import_file(self, data: dict[str, Any]) -> int:
        return import_rates(data["rate_group"], data["file"].read(), self.request.user)

    def imported_url(self, data: dict[str, Any]) -> str:
        return rates_url(data["rate_group"].pk)


class RateExportView(RoleRequiredMixin, View):
    """Download one group's rates (filtered like the page) as CSV, in the import format."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = filtersets.RateFilterSet(
            request.GET, queryset=Rate.objects.order_by("prefix", "effective_from")
        )
        group = filterset.form.cleaned_data.get("rate_group") if filterset.is_valid() else None
        if group is None:
            raise BadRequest("Choose the rate group to export: ?rate_group=<id>.")
        return export_rates(filterset.qs, f"rate-group-{group.pk}.csv")


class AccountListView(ObjectListView):
    queryset = Account.objects.select_related("rate_group")
    table_class = tables.AccountTable
    filterset_class = filtersets.AccountFilterSet
    title = "Accounts"
    help_text = (
        "[Customers] Normal accounts pay for their calls; clearing accounts are vendors whose "
        "rates give the cost of calls. The balance changes only by payments (administrators) "
        "and the charges of calls; the credit limit is how far below zero it may go."
    )

    def get_table_kwargs(self) -> dict[str, Any]:
        can_pay = has_role(self.request.user, Role.ADMINISTRATOR)
        return {"exclude": () if can_pay else ("pay",)}


class AccountEditView(ObjectEditView):
    model = Account
    form_class = forms.AccountForm


class AccountDeleteView(ProtectedDeleteView):
    model = Account


class AccountPayView(RoleRequiredMixin, View):
    """Pay into or deduct from an account (administrators): the form, then a confirmation
    showing the balance before and after, then the payment. The confirmation carries a
    one-time key, so a confirmation sent twice pays once."""

    required_role = Role.ADMINISTRATOR
    write_role = Role.ADMINISTRATOR
    template_name = "billing/account_pay.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render(get_object_or_404(Account, pk=pk), forms.PaymentForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = get_object_or_404(Account, pk=pk)
        form = forms.PaymentForm(request.POST)
        if not form.is_valid():
            return self.render(account, form, status=400)
        amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"]
        if "confirm" not in request.POST:
            after = account.balance + amount
            return self.render(account, form, confirming=True, after=after, key=uuid4().hex)
        try:
            payment = make_payment(account.pk, amount, memo, request.user, request.POST.get("key"))
        except PaymentAlreadyMade as made:
            messages.info(request, already_made_message(made.payment))
            return self.redirect_to_payments(account)
        except PaymentRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, str(refused))
            return self.render(account, form, status=400)
        verb = "paid into" if amount > 0 else "deducted from"
        messages.success(
            request,
            f"{abs(amount)} {verb} {account}: the balance is now {payment.balance_after}.",
        )
        return self.redirect_to_payments(account)

    def redirect_to_payments(self, account: Account) -> HttpResponse:
        return HttpResponseRedirect(
            f"{reverse('billing:payment_list')}?{urlencode({'account': account.pk})}"
        )

    def render(self, account: Account, form: Any, status: int = 200, **extra: Any) -> HttpResponse:
        context = {"account": account, "form": form, "title": f"Pay — {account}", **extra}
        return render(self.request, self.template_name, context, status=status)


def already_made_message(payment: Payment) -> str:
    """What the console says when a confirmation comes a second time."""
    made = timezone.localtime(payment.created).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"This payment of {payment.amount} was already made at {made} by {payment.username or '—'}"
        f" (the confirmation was sent twice); it was not made again."
    )


class PaymentListView(ObjectListView):
    queryset = Payment.objects.select_related("account")
    table_class = tables.PaymentTable
    filterset_class = filtersets.PaymentFilterSet
    title = "Payments"
    help_text = "Every payment and deduction, newest first, with the balance it left."
