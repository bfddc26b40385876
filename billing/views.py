"""*Data query → CDR*: filter, sort and page through CDRs, see the totals, export CSV."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from billing.filtersets import CdrFilterSet
from billing.keyset import CdrOrdering, InvalidPagination, KeysetPage, keyset_page, parse_cursor
from billing.models import Cdr, LastCdrFilters
from billing.summary import summarize_cdrs
from billing.tables import CdrTable
from vosadmin.core.generic import RoleRequiredMixin

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
        filterset = CdrFilterSet(request.GET, queryset=Cdr.objects.all(), request=request)
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
