"""How a system parameter's value is typed, validated and shown."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from typing import Any

# A CIDR list is checked against sources on the SIP engine's hot path and stored in one row:
# a bound keeps a pasted or hostile list from costing every request (or megabytes of JSON).
MAX_CIDR_LIST_LENGTH = 1000


class ParameterValueError(ValueError):
    """A value that a parameter does not accept; the message names the parameter and the range."""

    def __init__(self, name: str, allowed: str) -> None:
        super().__init__(f"{name} must be {allowed}.")
        self.name = name
        self.allowed = allowed


class Kind(enum.StrEnum):
    """The value types a parameter can have."""

    BOOL = "bool"  # On/Off; JSON true/false
    FLAG = "flag"  # VOS3000's 0/1 switches; JSON 0 or 1
    INTEGER = "integer"
    CHOICE = "choice"
    CIDR_LIST = "cidr_list"


class Origin(enum.StrEnum):
    """Whether a parameter comes from VOS3000 or is our extension."""

    VOS3000 = "VOS3000"
    EXTENSION = "extension"


@dataclass(frozen=True)
class Parameter:
    """One system parameter, declared once: what it is, its default and what it accepts."""

    name: str
    group: str
    kind: Kind
    default: Any
    description: str
    recommendation: str
    unit: str = ""
    minimum: int | None = None
    maximum: int | None = None
    special_values: tuple[int, ...] = ()  # accepted outside the range, e.g. 0 = off
    nullable: bool = False  # None means unset: the feature is off
    choices: tuple[str, ...] = ()
    origin: Origin = Origin.VOS3000

    def clean(self, value: Any) -> Any:
        """Return `value` in canonical form or raise ParameterValueError."""
        if value is None:
            if self.nullable:
                return None
            raise ParameterValueError(self.name, self.allowed())
        return CLEANERS[self.kind](self, value)

    def allowed(self) -> str:
        """Describe the accepted values for an error message or the page."""
        text = DESCRIBERS[self.kind](self)
        return f"{text}, or null (None)" if self.nullable else text

    def parse_text(self, text: str) -> Any:
        """Read a value typed in a form (On/Off, digits, None, a list of networks) and clean it."""
        text = text.strip()
        if self.nullable and text.lower() in ("", "none", "null"):
            return None
        return self.clean(TEXT_PARSERS[self.kind](text))

    def display(self, value: Any) -> str:
        """Show a value the way VOS3000 operators read it."""
        if value is None:
            return "None"
        if self.kind is Kind.BOOL:
            return "On" if value else "Off"
        if self.kind is Kind.CIDR_LIST:
            return ", ".join(value) or "(empty)"
        return f"{value} {self.unit}".strip() if self.kind is Kind.INTEGER else str(value)


def _clean_bool(parameter: Parameter, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ParameterValueError(parameter.name, parameter.allowed())


def _clean_flag(parameter: Parameter, value: Any) -> int:
    if not isinstance(value, bool) and isinstance(value, int) and value in (0, 1):
        return value
    raise ParameterValueError(parameter.name, parameter.allowed())


def _clean_integer(parameter: Parameter, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterValueError(parameter.name, parameter.allowed())
    if value in parameter.special_values:
        return value
    too_low = parameter.minimum is not None and value < parameter.minimum
    too_high = parameter.maximum is not None and value > parameter.maximum
    if too_low or too_high:
        raise ParameterValueError(parameter.name, parameter.allowed())
    return value


def _clean_choice(parameter: Parameter, value: Any) -> str:
    if isinstance(value, str) and value in parameter.choices:
        return value
    raise ParameterValueError(parameter.name, parameter.allowed())


def _clean_cidr_list(parameter: Parameter, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ParameterValueError(parameter.name, parameter.allowed())
    if len(value) > MAX_CIDR_LIST_LENGTH:
        raise ParameterValueError(parameter.name, parameter.allowed())
    try:
        networks = [ipaddress.ip_network(item.strip(), strict=False) for item in value]
    except ValueError:
        raise ParameterValueError(parameter.name, parameter.allowed()) from None
    return list(dict.fromkeys(str(network) for network in networks))


def _describe_integer(parameter: Parameter) -> str:
    unit = f" ({parameter.unit})" if parameter.unit else ""
    if parameter.minimum is not None and parameter.maximum is not None:
        text = f"an integer from {parameter.minimum} to {parameter.maximum}{unit}"
    elif parameter.minimum is not None:
        text = f"an integer of at least {parameter.minimum}{unit}"
    else:
        text = f"an integer{unit}"
    specials = " or ".join(str(value) for value in parameter.special_values)
    return f"{specials} or {text}" if specials else text


CLEANERS = {
    Kind.BOOL: _clean_bool,
    Kind.FLAG: _clean_flag,
    Kind.INTEGER: _clean_integer,
    Kind.CHOICE: _clean_choice,
    Kind.CIDR_LIST: _clean_cidr_list,
}
DESCRIBERS = {
    Kind.BOOL: lambda parameter: "true (On) or false (Off)",
    Kind.FLAG: lambda parameter: "0 or 1",
    Kind.INTEGER: _describe_integer,
    Kind.CHOICE: lambda parameter: "one of " + ", ".join(f'"{c}"' for c in parameter.choices),
    Kind.CIDR_LIST: lambda parameter: (
        f'a list of at most {MAX_CIDR_LIST_LENGTH} IP networks in CIDR form, e.g. ["10.0.0.0/8"]'
    ),
}


def _parse_integer_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text  # not an integer: clean() rejects it with the allowed range


TEXT_PARSERS = {
    Kind.BOOL: lambda text: {"on": True, "true": True, "off": False, "false": False}.get(
        text.lower(), text
    ),
    Kind.FLAG: _parse_integer_text,
    Kind.INTEGER: _parse_integer_text,
    Kind.CHOICE: lambda text: text,
    Kind.CIDR_LIST: lambda text: [item for item in re.split(r"[\s,;]+", text) if item],
}
