"""What a part that answers requests on the switch's behalf needs from the switch
(`switch.Switch`): the registrar (`registrar.py`) and call admission (`admission.py`) see the
switch through this protocol, the registrar with a little more (`registrar.RegistrarSwitch`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from softswitch.engine.counters import Counters
from softswitch.engine.sip_layer import ServerTransaction, SipLayer
from softswitch.engine.transport import Flow
from softswitch.rules.domain import PhoneAccount
from softswitch.sip.digest import DigestResult
from softswitch.sip.message import Request

if TYPE_CHECKING:
    from softswitch.engine.config import Config

# The option tags of Require the switch supports as a UAS (RFC 3261 §8.2.2.3): none, neither
# reliable provisional responses (100rel, RFC 3262) nor session timers (timer).
SUPPORTED_OPTIONS: frozenset[str] = frozenset()


def unsupported_options(request: Request) -> list[str]:
    """The option tags in the request's Require that the switch does not support."""
    return [tag for tag in request.headers.values("require") if tag not in SUPPORTED_OPTIONS]


class Answering(Protocol):
    """The configuration, the counters, digest authentication and challenges, and answering
    (through the SIP layer's server transactions) or refusing a request."""

    counters: Counters
    layer: SipLayer

    @property
    def config(self) -> Config: ...

    def parameter(self, name: str) -> Any: ...

    def authenticate(
        self, header_name: str, request: Request, phone: PhoneAccount, ip: str
    ) -> DigestResult | None: ...

    def challenges(self, stale: bool = False) -> list[str]: ...

    def respond(
        self,
        server: ServerTransaction,
        status: int,
        headers: list[tuple[str, str]] | None = None,
        reason: str | None = None,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> None: ...

    def respond_statelessly(
        self, request: Request, flow: Flow, status: int, headers: list[tuple[str, str]]
    ) -> None: ...

    def refuses_requirements(self, request: Request, server: ServerTransaction) -> bool: ...

    def refuse(
        self,
        request: Request,
        flow: Flow,
        *,
        authentication_failed: bool,
        count_failure: bool = True,
    ) -> None: ...
