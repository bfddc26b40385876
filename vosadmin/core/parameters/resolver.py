"""Reading and changing system parameter values.

Values are the declared defaults overlaid with the rows of `core.ParameterValue`. Each process
caches them for `CACHE_SECONDS`; a change made in this process is visible at once, a change made
elsewhere within `CACHE_SECONDS`. The SIP engine does not use this cache: it reloads on NOTIFY.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from .definitions import PARAMETERS
from .types import ParameterValueError

CACHE_SECONDS = 2.0
# Sent by `update_parameter` when a value really changed, with `name`, `old` and `new`; whoever
# acts on a parameter (beat's schedules) subscribes here, the registry imports none of them.
parameter_changed = Signal()


class ParameterResolver:
    """Defaults overlaid with stored values, cached per process for a short time."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def values(self) -> dict[str, Any]:
        """Every parameter's current value, by name."""
        with self._lock:
            if self._values is None or time.monotonic() - self._loaded_at > CACHE_SECONDS:
                self._values = load_parameter_values()
                self._loaded_at = time.monotonic()
            return self._values

    def invalidate(self) -> None:
        """Forget the cached values; the next read goes to the database."""
        with self._lock:
            self._values = None


def load_parameter_values() -> dict[str, Any]:
    """Read the stored values from the database and overlay them on the defaults.

    A stored value that no longer validates (a range narrowed in a later release) is ignored in
    favour of the default rather than handed to the engine.
    """
    from vosadmin.core.models import ParameterValue

    values = {name: parameter.default for name, parameter in PARAMETERS.items()}
    for name, value in ParameterValue.objects.values_list("name", "value"):
        if name in PARAMETERS:
            with contextlib.suppress(ParameterValueError):
                values[name] = PARAMETERS[name].clean(value)
    return values


resolver = ParameterResolver()


def get_parameter(name: str) -> Any:
    """The current value of one parameter (KeyError for an unknown name)."""
    PARAMETERS[name]
    return resolver.values()[name]


def parameter_values() -> dict[str, Any]:
    """A copy of every parameter's current value."""
    return dict(resolver.values())


def update_parameter(name: str, raw_value: Any, user: Any = None) -> tuple[Any, Any]:
    """Validate and store a new value; audit-log it, notify the engine and announce the change
    (`parameter_changed`). Returns (old, new).

    Raises KeyError for an unknown name and ParameterValueError for a value out of range;
    nothing is saved in either case.
    """
    from vosadmin.core.audit import record_change
    from vosadmin.core.models import ParameterValue
    from vosadmin.core.notify import notify_config_change

    parameter = PARAMETERS[name]
    value = parameter.clean(raw_value)
    with transaction.atomic():
        row = ParameterValue.objects.select_for_update().filter(name=name).first()
        old = (
            parameter.clean(row.value)
            if row and _is_valid(parameter, row.value)
            else parameter.default
        )
        ParameterValue.objects.update_or_create(name=name, defaults={"value": value})
        if old != value:
            record_change(user, "update", "System parameter", name, name, {"value": [old, value]})
            notify_config_change("parameter", "update", name)
            resolver.invalidate()  # before the receivers, which may read the new value
            parameter_changed.send(sender=update_parameter, name=name, old=old, new=value)
    return old, value


def _is_valid(parameter: Any, value: Any) -> bool:
    try:
        parameter.clean(value)
    except ParameterValueError:
        return False
    return True
