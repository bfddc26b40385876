"""View machinery shared by the apps' APIs: audited model viewsets."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import viewsets

from vosadmin.core.audit import diff, record_model_change, snapshot


class AuditedModelViewSet(viewsets.ModelViewSet):
    """CRUD whose every change is written to the operation log in the same transaction."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            instance = serializer.save()
            changes = {key: [None, value] for key, value in snapshot(instance).items()}
            record_model_change(self.request.user, "create", instance, changes)

    def perform_update(self, serializer: Any) -> None:
        with transaction.atomic():
            before = snapshot(serializer.instance)
            instance = serializer.save()
            record_model_change(
                self.request.user, "update", instance, diff(before, snapshot(instance))
            )

    def perform_destroy(self, instance: Any) -> None:
        with transaction.atomic():
            changes = {key: [value, None] for key, value in snapshot(instance).items()}
            record_model_change(self.request.user, "delete", instance, changes)
            instance.delete()
