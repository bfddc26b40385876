"""Alarms API: rules (CRUD), current alarms (with acknowledgement) and history."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vosadmin.alarms.acknowledgement import acknowledge
from vosadmin.alarms.api import serializers
from vosadmin.alarms.filtersets import AlarmFilterSet, AlarmRuleFilterSet
from vosadmin.alarms.models import Alarm, AlarmRule
from vosadmin.core.api.views import AuditedModelViewSet
from vosadmin.core.errors import respond


class AlarmRuleViewSet(AuditedModelViewSet):
    queryset = AlarmRule.objects.all()
    serializer_class = serializers.AlarmRuleSerializer
    filterset_class = AlarmRuleFilterSet
    ordering_fields = ["name", "type", "level"]


class AlarmReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.AlarmSerializer
    filterset_class = AlarmFilterSet
    ordering_fields = ["raised_at", "level", "cleared_at"]


class CurrentAlarmViewSet(AlarmReadViewSet):
    """Open alarms. POST …/{id}/acknowledge/ (operators) records who, when and a memo."""

    queryset = Alarm.objects.filter(cleared_at__isnull=True).select_related("acknowledged_by")

    def get_serializer_class(self) -> type:
        if self.action == "acknowledge":
            return serializers.AcknowledgeSerializer
        return super().get_serializer_class()

    @extend_schema(
        responses={
            200: serializers.AlarmSerializer,
            409: OpenApiResponse(description="Cleared or acknowledged already."),
        }
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: Any = None) -> Response:
        alarm = self.get_object()
        form = serializers.AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        acknowledged = acknowledge(alarm.pk, request.user, form.validated_data["memo"])
        if acknowledged is None:
            return respond(request, 409, "This alarm is cleared or acknowledged already.")
        return Response(serializers.AlarmSerializer(acknowledged).data)


class AlarmHistoryViewSet(AlarmReadViewSet):
    """Cleared alarms."""

    queryset = Alarm.objects.filter(cleared_at__isnull=False).select_related("acknowledged_by")
