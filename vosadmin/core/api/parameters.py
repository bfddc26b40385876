"""`/api/v1/parameters/`: list and read every system parameter; administrators PATCH a value."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from vosadmin.core.parameters import (
    PARAMETERS,
    Parameter,
    ParameterValueError,
    parameter_values,
    update_parameter,
)
from vosadmin.core.roles import Role


class ParameterSerializer(serializers.Serializer):
    """A parameter's declaration and current value."""

    name = serializers.CharField()
    group = serializers.CharField()
    type = serializers.CharField(source="kind")
    unit = serializers.CharField()
    value = serializers.JSONField()
    default = serializers.JSONField()
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    special_values = serializers.ListField(child=serializers.IntegerField())
    nullable = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField())
    allowed = serializers.CharField()
    description = serializers.CharField()
    recommendation = serializers.CharField()
    origin = serializers.CharField()


def describe(parameter: Parameter, value: Any) -> dict[str, Any]:
    """The API representation of a parameter with its current value."""
    fields = (
        "name",
        "group",
        "kind",
        "unit",
        "default",
        "minimum",
        "maximum",
        "nullable",
        "description",
        "recommendation",
        "origin",
    )
    data = {field: getattr(parameter, field) for field in fields}
    data.update(
        value=value,
        allowed=parameter.allowed(),
        choices=list(parameter.choices),
        special_values=list(parameter.special_values),
    )
    return data


VALUE_SCHEMA = inline_serializer("ParameterValueRequest", {"value": serializers.JSONField()})


class ParameterViewSet(viewsets.ViewSet):
    """System parameters (SPEC §2). Anyone with a role reads; administrators change."""

    write_role = Role.ADMINISTRATOR
    lookup_field = "name"
    lookup_value_regex = "[A-Za-z0-9_]+"

    @extend_schema(responses=ParameterSerializer(many=True))
    def list(self, request: Request) -> Response:
        values = parameter_values()
        data = [describe(parameter, values[name]) for name, parameter in PARAMETERS.items()]
        return Response(ParameterSerializer(data, many=True).data)

    @extend_schema(responses=ParameterSerializer)
    def retrieve(self, request: Request, name: str) -> Response:
        parameter = self._parameter(name)
        value = parameter_values()[parameter.name]
        return Response(ParameterSerializer(describe(parameter, value)).data)

    @extend_schema(request=VALUE_SCHEMA, responses=ParameterSerializer)
    def partial_update(self, request: Request, name: str) -> Response:
        parameter = self._parameter(name)
        if not isinstance(request.data, dict) or "value" not in request.data:
            message = f'Send {{"value": ...}}: {parameter.name} must be {parameter.allowed()}.'
            raise ValidationError({"value": [message]})
        try:
            _, value = update_parameter(parameter.name, request.data["value"], request.user)
        except ParameterValueError as error:
            body = {"value": [str(error)], "parameter": parameter.name}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(ParameterSerializer(describe(parameter, value)).data)

    def _parameter(self, name: str) -> Parameter:
        try:
            return PARAMETERS[name.upper()]
        except KeyError:
            raise NotFound(f"There is no system parameter named {name}.") from None
