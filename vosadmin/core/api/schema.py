"""The OpenAPI schema tells the truth about errors and validation (drf-spectacular AutoSchema).

Every operation declares the error answers it can give — 400 (bad input, unknown query
parameter), 401, 403, 404 (no such object, or an unknown `format`), 409 (a delete that other
objects still refer to), 413 and 414 (request limits) — with the JSON body they carry. Serializer
fields say what the validators check: unique values, non-empty lists.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error: `detail` says why; a 400 for bad input names each field or query "
    'parameter instead, with a list of reasons (`{"number": ["Enter a number…"]}`).',
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERRORS = {
    "400": "Bad input: the fields or query parameters named in the body, with the reasons.",
    "401": "No valid credentials: send `Authorization: Token <key>` or log in.",
    "403": "The user's role does not allow this.",
    "404": "No such object (or an unknown `format`).",
    "409": "Other objects still refer to this one.",
    "413": "The request body is too large.",
    "414": "The URL is too long.",
    "429": "Too many failed logins from this address: locked for a while.",
}
JSON = "application/json"
BLANK_TEXT = {"type": "string", "maxLength": 0}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the error answers and the validation rules."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            declared = responses.setdefault(status, self.error_response(ERRORS[status]))
            if "content" not in declared:  # a view's own description, without the body
                declared["content"] = self.error_response(ERRORS[status])["content"]
        return responses

    def error_statuses(self) -> list[str]:
        """The error statuses this operation can answer (a view adds its own in
        `extra_error_statuses`)."""
        statuses = ["400", "401", "403", "404", "413", "414"]
        statuses += getattr(self.view, "extra_error_statuses", [])
        return [*statuses, "409"] if self.method == "DELETE" else statuses

    def map_parsers(self) -> list[str]:
        """Request bodies are documented as JSON, the API's format (SPEC §7); form encodings
        stay accepted for the browsable API. Uploads (multipart only) stay multipart."""
        media_types = super().map_parsers()
        return [JSON] if JSON in media_types else media_types

    def error_response(self, description: str) -> dict[str, Any]:
        """A JSON error response referring to the shared Error component."""
        component = ResolvedComponent(
            name=ERROR_COMPONENT,
            type=ResolvedComponent.SCHEMA,
            object=ERROR_COMPONENT,
            schema=ERROR_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return {
            "description": description,
            "content": {JSON: {"schema": component.ref}},
        }

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        """drf-spectacular writes a blank-allowed text with a pattern as `oneOf: [pattern,
        empty]`; when the pattern matches "" too, "" matches both and oneOf refuses it."""
        super()._insert_field_validators(field, schema)
        if BLANK_TEXT in schema.get("oneOf", []):
            schema["anyOf"] = schema.pop("oneOf")

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(schema, dict):
            describe_validation(field, schema)
            if isinstance(field, serializers.DecimalField) and not field.read_only:
                schema = decimal_request_schema(schema)
        return schema


def describe_validation(field: serializers.Field, schema: dict[str, Any]) -> None:
    """Add what the field's validators check and the schema does not say yet."""
    if any(isinstance(validator, UniqueValidator) for validator in field.validators):
        note = "Unique: a value another object already has is refused (400)."
        schema["description"] = f"{schema.get('description', '')} {note}".strip()
    lists = (serializers.ListField, serializers.ManyRelatedField)
    if isinstance(field, lists) and not field.allow_empty and schema.get("type") == "array":
        schema.setdefault("minItems", 1)


def decimal_request_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A decimal as DRF reads it: a JSON number, or text holding a number ("12.50", " 1e2 ")."""
    text = {key: value for key, value in schema.items() if key != "pattern"}
    return {"anyOf": [{"type": "number"}, text]}
