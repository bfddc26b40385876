"""Console-side actions on registrations (the engine owns the bindings themselves)."""

from __future__ import annotations

from typing import Any

from softswitch.models import Registration
from vosadmin.core.audit import record_change
from vosadmin.core.notify import notify_config_change


def force_unregister(registration: Registration, user: Any) -> None:
    """Remove a binding and tell the engine to drop it (and close its TCP connection).

    The NOTIFY carries the phone id; the engine holding the binding drops it, whichever node.
    """
    phone = registration.phone
    record_change(
        user,
        "unregister",
        "Registration",
        phone.pk,
        phone.e164,
        {"contact": [registration.contact, None]},
    )
    registration.delete()
    notify_config_change("registration", "delete", phone.pk)
