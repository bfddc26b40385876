"""Serializer machinery shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS


class StrictCharField(serializers.CharField):
    """A text field that takes text only, at most max_length characters as sent: DRF's
    CharField turns a JSON number into a string and measures the text after stripping blanks,
    neither of which the schema (type string, maxLength) promises."""

    default_error_messages = {"invalid": "Not a valid string: give text in quotes."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            # DRF strips surrounding blanks first; the schema's maxLength counts them
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A boolean that is true or false: JSON true/false, or the text true/false in a form
    (DRF's BooleanField also takes 0, 1, "on", "yes", which the schema does not promise)."""

    TEXT_VALUES = {"true": True, "false": False}

    def to_internal_value(self, data: Any) -> bool | None:
        # a set lookup would take 0 and 1 too: 0 == False in Python
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.lower() in self.TEXT_VALUES:
            return self.TEXT_VALUES[data.lower()]
        if data is None and self.allow_null:
            return None
        self.fail("invalid")


class StrictManyRelatedField(serializers.ManyRelatedField):
    """A list of ids that must be a list: DRF takes any iterable, such as an object `{}`."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list | tuple) and not hasattr(data, "getlist"):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object's id; `many=True` makes a StrictManyRelatedField."""

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ManyRelatedField:
        list_kwargs = {key: kwargs[key] for key in kwargs if key in MANY_RELATION_KWARGS}
        return StrictManyRelatedField(child_relation=cls(*args, **kwargs), **list_kwargs)


class ModelCleanSerializer(serializers.ModelSerializer):
    """A ModelSerializer that also runs the model's `clean()` so page and API validate alike,
    and whose text, boolean and id-list fields take exactly what the schema says (Strict…)."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField

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
