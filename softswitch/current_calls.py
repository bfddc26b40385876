"""Console-side actions on calls in progress (the engine node holding a call owns it)."""

from __future__ import annotations

from typing import Any

from softswitch.models import CurrentCall
from vosadmin.core.audit import record_change
from vosadmin.core.notify import notify_config_change

# The engine holding a call ends it when it hears this (softswitch/engine/process.py).
DISCONNECT_KIND = "current_call"


def disconnect_call(call: CurrentCall, actor: Any) -> None:
    """Ask the engine node holding `call` to end it (BYE to both sides, a CDR ended by the
    server "disconnected by operator"), and log who asked.

    The NOTIFY carries the Call-ID and goes out on commit; every node hears it and the one
    holding the call hangs it up. The console page, the REST API and the Web API's
    DisconnectCurrentCall all end calls here.
    """
    record_change(
        actor,
        "disconnect",
        "Current call",
        call.call_id,
        str(call),
        {"call_id": [call.call_id, None], "node": [call.node, None]},
    )
    notify_config_change(DISCONNECT_KIND, "disconnect", call.call_id)
