"""Serializer machinery shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


class ModelCleanSerializer(serializers.ModelSerializer):
    """A ModelSerializer that also runs the model's `clean()` so page and API validate alike."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        many_to_many = {field.name for field in model._meta.many_to_many}
        plain = {key: value for key, value in attrs.items() if key not in many_to_many}
        instance = model(**{**self._current_values(), **plain})
        instance.pk = self.instance.pk if self.instance is not None else None
        try:
            instance.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return attrs

    def _current_values(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        fields = [field for field in self.Meta.model._meta.concrete_fields if not field.primary_key]
        return {field.attname: getattr(self.instance, field.attname) for field in fields}
