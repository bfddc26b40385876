"""Softswitch console pages: gateways, phones, online phones, current calls."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View

from softswitch import filtersets, forms, tables
from softswitch.current_calls import disconnect_call
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from softswitch.registrations import force_unregister
from vosadmin.core.generic import (
    ObjectDeleteView,
    ObjectEditView,
    ObjectListView,
    RoleRequiredMixin,
)


class MappingGatewayListView(ObjectListView):
    queryset = MappingGateway.objects.select_related("account")
    table_class = tables.MappingGatewayTable
    filterset_class = filtersets.MappingGatewayFilterSet


class MappingGatewayEditView(ObjectEditView):
    model = MappingGateway
    form_class = forms.MappingGatewayForm


class MappingGatewayDeleteView(ObjectDeleteView):
    model = MappingGateway


class RoutingGatewayListView(ObjectListView):
    queryset = RoutingGateway.objects.select_related("clearing_account")
    table_class = tables.RoutingGatewayTable
    filterset_class = filtersets.RoutingGatewayFilterSet

    def get_table(self, **kwargs: object) -> tables.RoutingGatewayTable:
        table = super().get_table(**kwargs)
        table.statuses = gateway_statuses()
        return table


def gateway_statuses() -> dict[str, str]:
    """Routing gateway id → "online"/"offline" as the engine's OPTIONS probes found them."""
    import redis

    from softswitch.redis_keys import GATEWAY_STATUS_KEY
    from vosadmin.core.live import redis_client

    try:
        return redis_client().hgetall(GATEWAY_STATUS_KEY)
    except redis.RedisError:
        return {}


class RoutingGatewayEditView(ObjectEditView):
    model = RoutingGateway
    form_class = forms.RoutingGatewayForm


class RoutingGatewayDeleteView(ObjectDeleteView):
    model = RoutingGateway


class PhoneListView(ObjectListView):
    queryset = Phone.objects.select_related("registration", "account")
    table_class = tables.PhoneTable
    filterset_class = filtersets.PhoneFilterSet


class PhoneEditView(ObjectEditView):
    model = Phone
    form_class = forms.PhoneForm


class PhoneDeleteView(ObjectDeleteView):
    model = Phone


class RegistrationListView(ObjectListView):
    queryset = Registration.objects.select_related("phone")
    table_class = tables.RegistrationTable
    filterset_class = filtersets.RegistrationFilterSet
    title = "Online phones"
    help_text = "Phones registered with the SIP engine. Unregister drops a binding at once."


class RegistrationDeleteView(RoleRequiredMixin, View):
    """Force an unregister (POST only): the engine drops the binding within seconds."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        registration = get_object_or_404(Registration.objects.select_related("phone"), pk=pk)
        with transaction.atomic():
            force_unregister(registration, request.user)
        messages.success(request, f"Phone {registration.phone.e164} unregistered.")
        return HttpResponseRedirect(reverse("softswitch:registration_list"))


class CurrentCallListView(ObjectListView):
    queryset = CurrentCall.objects.all()
    table_class = tables.CurrentCallTable
    filterset_class = filtersets.CurrentCallFilterSet
    help_text = "Calls in progress on every engine node. Disconnect sends BYE to both sides."


class CurrentCallDisconnectView(RoleRequiredMixin, View):
    """End a call in progress (POST only): the engine node holding it sends BYE to both sides."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        call = get_object_or_404(CurrentCall, pk=pk)
        with transaction.atomic():
            disconnect_call(call, request.user)
        messages.success(request, f"Call {call.caller} → {call.callee} disconnected.")
        return HttpResponseRedirect(reverse("softswitch:currentcall_list"))
