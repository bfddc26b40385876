"""The table of Web API calls: each family module registers its calls with `web_call`."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

# What a call returns: the envelope's fields, or (GetCdr) the JSON body as chunks to stream.
Answer = dict[str, Any] | Generator[bytes, None, None]


@dataclass(frozen=True)
class CallContext:
    """One request to a call: its JSON object, and who made it (for the operation log)."""

    body: dict[str, Any]
    actor: Any


@dataclass(frozen=True)
class WebCall:
    """A call of the Web API; `writes` marks those that change something (operation log)."""

    name: str
    handler: Callable[[CallContext], Answer]
    writes: bool


CALLS: dict[str, WebCall] = {}


def web_call(name: str, writes: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the call `name`."""

    def register(handler: Callable[[CallContext], Answer]) -> Callable[[CallContext], Answer]:
        CALLS[name] = WebCall(name, handler, writes)
        return handler

    return register
