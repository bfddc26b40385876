"""The system-parameter registry (SPEC §2): declarations, validation and the cached resolver.

Read a value with `get_parameter("SS_ENDPOINT_EXPIRE")`; change one with `update_parameter()`,
which validates, saves, audit-logs and NOTIFYs the SIP engine in one transaction, then sends
the `parameter_changed` signal (beat's schedules subscribe to it in `CoreConfig.ready`).
"""

from .definitions import GROUPS, PARAMETERS
from .resolver import (
    get_parameter,
    parameter_changed,
    parameter_values,
    resolver,
    update_parameter,
)
from .types import Kind, Origin, Parameter, ParameterValueError

__all__ = [
    "GROUPS",
    "PARAMETERS",
    "Kind",
    "Origin",
    "Parameter",
    "ParameterValueError",
    "get_parameter",
    "parameter_changed",
    "parameter_values",
    "resolver",
    "update_parameter",
]
