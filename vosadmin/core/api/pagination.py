"""API pagination."""

from __future__ import annotations

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=` for configuration lists (small tables); CDRs use cursor pagination.

    A malformed `limit` or `offset` is a 400 naming it, not silently the default.
    """

    default_limit = 50
    max_limit = 1000

    def get_limit(self, request: Request) -> int:
        text = request.query_params.get(self.limit_query_param)
        if text is None:
            return self.default_limit
        return whole_number(self.limit_query_param, text, 1, self.max_limit)

    def get_offset(self, request: Request) -> int:
        text = request.query_params.get(self.offset_query_param)
        return 0 if text is None else whole_number(self.offset_query_param, text, 0, None)

    def get_schema_operation_parameters(self, view: object) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, None)}
        for parameter in parameters:
            minimum, maximum = bounds[parameter["name"]]
            parameter["schema"]["minimum"] = minimum
            if maximum is not None:
                parameter["schema"]["maximum"] = maximum
        return parameters


def whole_number(name: str, text: str, minimum: int, maximum: int | None) -> int:
    """`text` as an integer within the bounds, or a 400 naming the parameter."""
    digits = text.isascii() and text.isdigit()
    if not digits or int(text) < minimum or (maximum is not None and int(text) > maximum):
        upper = f" to {maximum}" if maximum is not None else " or more"
        raise ValidationError({name: [f"Give a whole number from {minimum}{upper}."]})
    return int(text)
