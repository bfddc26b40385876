"""Template helpers of the console."""

from __future__ import annotations

from typing import Any

from django import template

from vosadmin.core.generic import model_url

register = template.Library()


@register.simple_tag
def object_url(instance: Any, action: str) -> str:
    """The URL of an object's `edit` or `delete` page ("" if it has none)."""
    return model_url(instance, action, pk=instance.pk) or ""


@register.filter
def field_type(bound_field: Any) -> str:
    """The widget class name of a form field, for styling checkboxes and selects apart."""
    return bound_field.field.widget.__class__.__name__.lower()
