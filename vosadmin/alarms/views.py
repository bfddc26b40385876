"""Alarm monitoring pages: Current alarms (live), History, Rules and Webhooks."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django_tables2 import RequestConfig

from vosadmin.alarms import filtersets, forms, tables
from vosadmin.alarms.acknowledgement import acknowledge
from vosadmin.alarms.models import Alarm, AlarmRule, Webhook, WebhookDelivery
from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)

RECENT_DELIVERIES = 50


class CurrentAlarmListView(ObjectListView):
    """Alarm monitoring → Current alarms: open alarms, updated live over a WebSocket."""

    queryset = Alarm.objects.filter(cleared_at__isnull=True).select_related("acknowledged_by")
    table_class = tables.CurrentAlarmTable
    filterset_class = filtersets.AlarmFilterSet
    template_name = "alarms/current_list.html"
    title = "Current alarms"
    help_text = (
        "Alarms the rules raised and whose condition still holds; each clears itself when the "
        "condition ends and goes to the history."
    )


class AlarmHistoryView(ObjectListView):
    """Cleared alarms, newest first."""

    queryset = Alarm.objects.filter(cleared_at__isnull=False).select_related("acknowledged_by")
    table_class = tables.AlarmHistoryTable
    filterset_class = filtersets.AlarmFilterSet
    title = "Alarm history"


class AlarmAcknowledgeView(RoleRequiredMixin, View):
    """An operator acknowledges an open alarm (POST, with an optional memo)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = forms.AcknowledgeForm(request.POST)
        memo = form.cleaned_data["memo"] if form.is_valid() else ""
        if not form.is_valid():
            messages.error(request, "The memo is too long (255 characters at most).")
        elif acknowledge(pk, request.user, memo) is None:
            messages.error(request, "That alarm is cleared or acknowledged already.")
        else:
            messages.success(request, "Alarm acknowledged.")
        return HttpResponseRedirect(reverse("alarms:alarm_list"))


class AlarmRuleListView(ObjectListView):
    queryset = AlarmRule.objects.all()
    table_class = tables.AlarmRuleTable
    filterset_class = filtersets.AlarmRuleFilterSet
    title = "Alarm rules"
    help_text = "Evaluated every 30 seconds by beat; a disabled rule's open alarms are cleared."


class AlarmRuleEditView(ObjectEditView):
    model = AlarmRule
    form_class = forms.AlarmRuleForm


class AlarmRuleDeleteView(ObjectDeleteView):
    model = AlarmRule


class WebhookListView(ObjectListView):
    """Webhooks, and their recent deliveries (failures with their errors)."""

    queryset = Webhook.objects.all()
    table_class = tables.WebhookTable
    filterset_class = filtersets.WebhookFilterSet
    template_name = "alarms/webhook_list.html"
    title = "Alarm webhooks"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        recent = WebhookDelivery.objects.select_related("webhook", "alarm")
        deliveries = tables.WebhookDeliveryTable(recent[:RECENT_DELIVERIES], prefix="delivery-")
        RequestConfig(self.request, paginate=False).configure(deliveries)
        context["deliveries"] = deliveries
        return context


class WebhookEditView(ObjectEditView):
    model = Webhook
    form_class = forms.WebhookForm


class WebhookDeleteView(ObjectDeleteView):
    model = Webhook
