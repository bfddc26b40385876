"""Validators shared by the apps: numbers, routing prefixes, moments Python can read back, and
the console password policy."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

NUMBER_PATTERN = r"^\+?[0-9]{1,32}$"

validate_number = RegexValidator(
    NUMBER_PATTERN, "Enter a number: digits only, optionally starting with +, at most 32 digits."
)
validate_routing_prefix = RegexValidator(
    r"^(\*|\+?[0-9]{1,32})$", 'Enter a prefix of digits, or "*" to match every number.'
)


def is_number(text: str) -> bool:
    """Whether `text` is a phone number as the console accepts them."""
    return bool(re.fullmatch(NUMBER_PATTERN, text))


def is_storable_moment(value: datetime) -> bool:
    """Whether `value` lies within the years 1–9999 in UTC: PostgreSQL stores a moment
    beyond them (9999-12-31T23:00-05:00), but no Python datetime can read it back."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def validate_storable_moment(value: datetime) -> None:
    if not is_storable_moment(value):
        raise ValidationError("Enter a time within the years 1 to 9999 (UTC).")


class ParameterMinimumLengthValidator:
    """Console passwords must be at least SERVER_PASSWORD_LENGTH characters long."""

    def _minimum(self) -> int:
        from vosadmin.core.parameters import get_parameter

        return get_parameter("SERVER_PASSWORD_LENGTH")

    def validate(self, password: str, user: object = None) -> None:
        """Reject passwords shorter than the parameter."""
        minimum = self._minimum()
        if len(password) < minimum:
            raise ValidationError(
                f"This password is too short. It must contain at least {minimum} characters "
                "(SERVER_PASSWORD_LENGTH).",
                code="password_too_short",
            )

    def get_help_text(self) -> str:
        """Shown under password fields."""
        return f"Your password must contain at least {self._minimum()} characters."
