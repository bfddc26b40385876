"""System checks with stable IDs (run by `manage.py check` and at every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from vosadmin.core.parameters import PARAMETERS, ParameterValueError


@register()
def check_parameter_declarations(app_configs: Any, **kwargs: Any) -> list[Error]:
    """core.E001: every declared parameter's default must pass its own validation."""
    errors = []
    for parameter in PARAMETERS.values():
        try:
            parameter.clean(parameter.default)
        except ParameterValueError as error:
            errors.append(Error(f"Default of {parameter.name} is invalid: {error}", id="core.E001"))
    return errors


@register()
def check_database_is_postgresql(app_configs: Any, **kwargs: Any) -> list[Error]:
    """core.E002: vosadmin needs PostgreSQL (partitions, LISTEN/NOTIFY, COPY)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return [Error(f"DATABASES['default'] must be PostgreSQL, not {engine}.", id="core.E002")]
    return []
