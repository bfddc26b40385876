"""Call admission (SPEC §3.3 steps 1–4): what the switch decides on a new INVITE.

Identify the source (a phone by digest, a mapping gateway by address, else an illegal call),
count the attempt for the dynamic blacklist, screen the numbers, enforce the lock and the
account's money, plan the route — then hand the call to the call registry (`call_manager.py`),
which starts its `Call` (`call.py`: routing and failover across gateway legs in
`call_routing.py`, in-dialog relay in `call_relay.py`). A refused call is answered here and gets
its CDR.
"""

from __future__ import annotations

from typing import Protocol

from billing.choices import CdrBillingModeChoices as BillingMode
from billing.choices import CdrEndReasonChoices as EndReason
from softswitch.engine import store
from softswitch.engine.answering import Answering, unsupported_options
from softswitch.engine.clock import Clock
from softswitch.engine.sip_layer import ServerTransaction
from softswitch.engine.transport import Flow
from softswitch.rules.cdr import CallRecord
from softswitch.rules.charging import CallCharges, MoneyCheck, check_money
from softswitch.rules.domain import Origin, PhoneAccount, RoutingGatewayTarget
from softswitch.rules.registrar import Binding
from softswitch.rules.routing import RoutePlan, plan_route, route_pricing
from softswitch.rules.screening import screen_call
from softswitch.sip.digest import DigestResult
from softswitch.sip.message import Request
from softswitch.sip.uri import SipUri, Uri

REJECTION_STATUS: dict[int, int] = {  # what the caller gets for a decision of the switch
    EndReason.NOT_REGISTERED: 403,
    EndReason.ORIGIN_LOCKED: 403,
    EndReason.ORIGIN_CAPACITY: 503,
    EndReason.NO_ROUTE: 503,
    EndReason.NO_AVAILABLE_GATEWAY: 503,
}


def user_of(uri: Uri) -> str:
    """The user part of a SIP URI (the number), or ""."""
    return (uri.unescaped_user or "") if isinstance(uri, SipUri) else ""


def dialled_number(request: Request) -> str:
    """The callee as dialled: the Request-URI's user, else the To user."""
    return user_of(request.uri) or user_of(request.to.uri)


class CallRegistry(Protocol):
    """What admission needs from the calls in progress (`call_manager.CallManager`)."""

    def start_call(
        self,
        server: ServerTransaction,
        record: CallRecord,
        origin: Origin,
        plan: RoutePlan,
        watched: bool,
        money: MoneyCheck | None,
    ) -> None: ...

    def gateway_available(self, gateway: RoutingGatewayTarget) -> bool: ...

    def write_cdr(self, record: CallRecord) -> CallCharges | None: ...


class Registrations(Protocol):
    """What admission needs from the registrar (`registrar.Registrar`): where a phone is
    registered from, if it is."""

    def contact_flow(self, phone_id: int) -> tuple[Binding, Flow] | None: ...


class CallAdmission:
    """Admits or refuses each new INVITE."""

    def __init__(
        self,
        switch: Answering,
        clock: Clock,
        calls: CallRegistry,
        registrations: Registrations,
    ) -> None:
        self.switch = switch
        self.clock = clock
        self.calls = calls
        self.registrations = registrations

    def admit(self, request: Request, flow: Flow) -> None:
        """Decide on a new INVITE: a phone's, a mapping gateway's, or an illegal call."""
        switch = self.switch
        caller, callee = user_of(request.from_.uri), dialled_number(request)
        phone = switch.config.phones_by_number.get(caller)
        gateway = switch.config.mapping_gateway_for(flow.remote[0], flow.remote[1])
        if phone is not None and (gateway is None or self._registered_from(phone, flow)):
            self._phone_invite(request, flow, phone, caller, callee)
        elif gateway is not None:
            self._admit(request, flow, gateway, BillingMode.MAPPING_GATEWAY, caller, callee)
        else:
            self._illegal(request, flow, caller, callee, EndReason.ILLEGAL_SOURCE)

    def _registered_from(self, phone: PhoneAccount, flow: Flow) -> bool:
        found = self.registrations.contact_flow(phone.id)
        return found is not None and found[0].source[0] == flow.remote[0]

    def _phone_invite(
        self, request: Request, flow: Flow, phone: PhoneAccount, caller: str, callee: str
    ) -> None:
        """Phones are digest-challenged (407) and must be registered."""
        verdict = self.switch.authenticate("proxy-authorization", request, phone, flow.ip)
        if verdict is None:
            return self._challenge(request, flow, stale=False)
        if verdict in (DigestResult.STALE, DigestResult.REPLAY, DigestResult.BAD_NONCE):
            return self._challenge(request, flow, stale=verdict is DigestResult.STALE)
        if verdict is not DigestResult.OK:
            self._illegal(request, flow, caller, callee, EndReason.AUTHENTICATION_FAILED)
            return
        if self.registrations.contact_flow(phone.id) is None:
            self._reject_before_routing(
                request, flow, phone, BillingMode.PHONE, caller, callee, EndReason.NOT_REGISTERED
            )
            return
        self._admit(request, flow, phone, BillingMode.PHONE, caller, callee)

    def _challenge(self, request: Request, flow: Flow, stale: bool) -> None:
        switch = self.switch
        challenges = switch.challenges(stale=stale)
        switch.respond(
            switch.layer.server_transaction(request, flow),
            407,
            [("Proxy-Authenticate", value) for value in challenges],
        )

    def _illegal(
        self, request: Request, flow: Flow, caller: str, callee: str, reason: EndReason
    ) -> None:
        """An unknown source or a failed authentication: CDR (−2) if recorded, then 403 or
        silence. Only failed authentications count towards suspending the source."""
        record = self._record(request, flow, BillingMode.ILLEGAL_CALL, caller, callee)
        record.end_reason = reason
        self.calls.write_cdr(record)
        authentication = reason is EndReason.AUTHENTICATION_FAILED
        self.switch.refuse(
            request, flow, authentication_failed=authentication, count_failure=authentication
        )

    def _admit(
        self, request: Request, flow: Flow, origin: Origin, mode: int, caller: str, callee: str
    ) -> None:
        """Count, screen, check lock and capacity, plan the route, start relaying."""
        if request.max_forwards is not None and request.max_forwards <= 0:  # a loop (§16.3)
            return self._reject_before_routing(request, flow, origin, mode, caller, callee, 483)
        unsupported = unsupported_options(request)
        if unsupported:
            unsupported_header = ("Unsupported", ", ".join(unsupported))
            return self._reject_before_routing(
                request, flow, origin, mode, caller, callee, 420, [unsupported_header]
            )
        switch, now = self.switch, self.clock.now()
        watched = (
            switch.parameter("SS_BLACK_LIST_DYNAMIC_RUN_MODE") == "Global"
            or origin.dynamic_blacklist
        )
        if watched:
            switch.counters.call_attempt(caller, callee, self._windows(), now)
        config = switch.config
        reason = screen_call(caller, callee, origin, config.lists, config.dynamic, now)
        if reason is None and origin.locked:
            reason = EndReason.ORIGIN_LOCKED
        if reason is not None:
            return self._reject_before_routing(request, flow, origin, mode, caller, callee, reason)
        money = self._money_check(origin, callee, now)
        if money is not None and money.refusal is not None:
            return self._reject_before_routing(
                request, flow, origin, mode, caller, callee, money.refusal
            )
        plan = plan_route(
            callee,
            config.routing_gateways.values(),
            self.calls.gateway_available,
            switch.parameter("SS_GATEWAY_SWITCH_LIMIT"),
            route_pricing(origin, callee, now, config.rate_table_for_account),
        )
        server = switch.layer.server_transaction(request, flow, send_trying=True)
        record = self._record(request, flow, mode, caller, callee, origin)
        self.calls.start_call(server, record, origin, plan, watched, money)

    def _money_check(self, origin: Origin, callee: str, now: float) -> MoneyCheck | None:
        """Whether the origin's account may pay for the call (SPEC §8.3); None when the
        origin has no account (its calls are not rated)."""
        if origin.account_id is None:
            return None
        config = self.switch.config
        return check_money(
            config.account(origin.account_id),
            config.rate_table_for_account(origin.account_id),
            callee,
            store.timestamp_to_datetime(now),
            self.switch.parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL"),
            config.parameters["SERVER_BILLING_FEE_PRECISTION"],
        )

    def _windows(self) -> tuple[int, int]:
        parameter = self.switch.parameter
        return (
            parameter("SS_BLACK_LIST_CALLER_MALICIOUS_CALL_CHECK_INTERVAL"),
            parameter("SS_BLACK_LIST_MALICIOUS_CALL_CHECK_INTERVAL"),
        )

    def _reject_before_routing(
        self,
        request: Request,
        flow: Flow,
        origin: Origin,
        mode: int,
        caller: str,
        callee: str,
        reason: int,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Answer before any gateway was tried: an internal reason's status, or a SIP status."""
        status = reason if reason > 0 else REJECTION_STATUS.get(reason, 403)
        self.switch.respond(self.switch.layer.server_transaction(request, flow), status, headers)
        record = self._record(request, flow, mode, caller, callee, origin)
        record.end_reason = reason
        self.calls.write_cdr(record)

    def _record(
        self,
        request: Request,
        flow: Flow,
        mode: int,
        caller: str,
        callee: str,
        origin: Origin | None = None,
    ) -> CallRecord:
        now = self.clock.now()
        record = CallRecord(
            call_id=request.call_id,
            caller=caller,
            callee=callee,
            caller_ip=f"{flow.remote[0]}:{flow.remote[1]}",
            billing_mode=mode,
            start_time=now,
            stop_time=now,
        )
        if mode == BillingMode.PHONE and origin is not None:
            record.phone = origin.name
        elif mode == BillingMode.MAPPING_GATEWAY and origin is not None:
            record.mapping_gateway = origin.name
        if origin is not None:
            record.account_id = origin.account_id
        return record
