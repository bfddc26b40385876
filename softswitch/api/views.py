"""Softswitch API views."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from softswitch.api.serializers import (
    CurrentCallSerializer,
    MappingGatewaySerializer,
    PhoneSerializer,
    RegistrationSerializer,
    RoutingGatewaySerializer,
)
from softswitch.current_calls import disconnect_call
from softswitch.filtersets import (
    CurrentCallFilterSet,
    MappingGatewayFilterSet,
    PhoneFilterSet,
    RegistrationFilterSet,
    RoutingGatewayFilterSet,
)
from softswitch.models import CurrentCall, MappingGateway, Phone, Registration, RoutingGateway
from softswitch.registrations import force_unregister
from vosadmin.core.api.views import AuditedModelViewSet


class MappingGatewayViewSet(AuditedModelViewSet):
    """Mapping gateways (customer side)."""

    queryset = MappingGateway.objects.prefetch_related(
        "caller_blacklist_groups", "callee_blacklist_groups"
    )
    serializer_class = MappingGatewaySerializer
    filterset_class = MappingGatewayFilterSet
    ordering_fields = ["name", "capacity", "created"]


class RoutingGatewayViewSet(AuditedModelViewSet):
    """Routing gateways (vendor side)."""

    queryset = RoutingGateway.objects.all()
    serializer_class = RoutingGatewaySerializer
    filterset_class = RoutingGatewayFilterSet
    ordering_fields = ["name", "priority", "capacity", "created"]


class PhoneViewSet(AuditedModelViewSet):
    """Phones (SIP accounts)."""

    queryset = Phone.objects.prefetch_related("caller_blacklist_groups", "callee_blacklist_groups")
    serializer_class = PhoneSerializer
    filterset_class = PhoneFilterSet
    ordering_fields = ["e164", "capacity", "created"]


class RegistrationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Online phones. DELETE forces an unregister: the engine drops the binding within seconds."""

    queryset = Registration.objects.select_related("phone")
    serializer_class = RegistrationSerializer
    filterset_class = RegistrationFilterSet
    ordering_fields = ["phone__e164", "registered_at", "expires_at"]

    def perform_destroy(self, instance: Registration) -> None:
        with transaction.atomic():
            force_unregister(instance, self.request.user)


class CurrentCallViewSet(viewsets.ReadOnlyModelViewSet):
    """Calls in progress on every engine node. POST …/{id}/disconnect/ (operators) ends one."""

    queryset = CurrentCall.objects.all()
    serializer_class = CurrentCallSerializer
    filterset_class = CurrentCallFilterSet
    ordering_fields = ["started_at", "connected_at", "caller", "callee"]

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                CurrentCallSerializer,
                description="The engine node holding the call sends BYE to both sides; the "
                "call leaves this list within about a second, its CDR ended by the server.",
            )
        },
    )
    @action(detail=True, methods=["post"])
    def disconnect(self, request: Request, pk: Any = None) -> Response:
        call = self.get_object()
        with transaction.atomic():
            disconnect_call(call, request.user)
        return Response(CurrentCallSerializer(call).data, status=status.HTTP_202_ACCEPTED)
