"""The codes of a CDR (SPEC §4.2): billing mode, end direction and end reason.

End reasons are either the SIP status that ended the call (200 for a normally ended answered
call, 486, 503, …) or one of the negative internal codes below for decisions of the switch
itself. The console and the API show every code with its name; this module is the reference.
"""

from django.db import models

from softswitch.sip.reasons import REASON_PHRASES


class CdrBillingModeChoices(models.IntegerChoices):
    """Who is charged for the call (0–3 as in the VOS3000 Web API)."""

    PHONE = 0, "Phone account"
    MAPPING_GATEWAY = 1, "Mapping gateway account"
    BOUND_NUMBER = 2, "Bound number account"
    PHONE_CARD = 3, "Phone card account"
    NO_BILLING = -1, "No billing"
    ILLEGAL_CALL = -2, "Illegal call"


class GatewaySideChoices(models.TextChoices):
    """Which gateway of its CDRs a gateway report groups by (SPEC §10)."""

    MAPPING = "mapping", "Mapping gateway"
    ROUTING = "routing", "Routing gateway"


class CdrEndDirectionChoices(models.IntegerChoices):
    """Who ended the call."""

    CALLER = 0, "Caller"
    CALLEE = 1, "Callee"
    SERVER = 2, "Server"


class CdrEndReasonChoices(models.IntegerChoices):
    """Internal end reasons: decisions of the switch, not SIP statuses (all negative)."""

    ILLEGAL_SOURCE = -1, "Illegal call: unknown source"
    AUTHENTICATION_FAILED = -2, "Authentication failed"
    NOT_REGISTERED = -3, "Phone not registered"
    CALLER_STATIC_BLACKLIST = -4, "Caller in static blacklist"
    CALLEE_STATIC_BLACKLIST = -5, "Callee in static blacklist"
    CALLER_DYNAMIC_BLACKLIST_MALICIOUS = -6, "Caller in dynamic blacklist (malicious caller)"
    CALLER_DYNAMIC_BLACKLIST_CONCURRENT = -7, "Caller in dynamic blacklist (concurrent abuse)"
    CALLEE_DYNAMIC_BLACKLIST_MALICIOUS = -8, "Callee in dynamic blacklist (malicious callee)"
    CALLEE_DYNAMIC_BLACKLIST_NO_ANSWER = -9, "Callee in dynamic blacklist (no answer)"
    ORIGIN_LOCKED = -10, "Phone or mapping gateway locked"
    ORIGIN_CAPACITY = -11, "Phone or mapping gateway line limit reached"
    NO_ROUTE = -12, "No route: no routing gateway matches the callee"
    NO_AVAILABLE_GATEWAY = -13, "No available gateway: matching gateways locked, full or offline"
    GATEWAY_TIMEOUT = -14, "Routing gateway did not answer in time"
    MAX_DURATION = -15, "Maximum call duration reached"
    SHUTDOWN = -16, "Switch shut down"
    NO_ACK = -17, "Caller did not acknowledge the answer"
    GATEWAY_UNRESOLVED = -18, "Routing gateway host name did not resolve"
    INTERNAL_ERROR = -19, "Internal error of the switch (see the engine log)"
    ENGINE_RESTART = -20, "Engine restart: the call was up when the engine died"
    NO_RATE = -21, "No rate: the account's rate group has no rate for the callee"
    INSUFFICIENT_BALANCE = -22, "Insufficient balance: the account cannot pay the first period"
    BALANCE_EXHAUSTED = -23, "Balance exhausted: the call used all the money it could"
    ACCOUNT_MISSING = -24, "Account missing: the origin's account does not exist"
    ACCOUNT_LOCKED = -25, "Account locked"
    DISCONNECTED_BY_OPERATOR = -26, "Disconnected by an operator (console or Web API)"
    NO_GATEWAY_WITHIN_COST = -27, "No gateway within the cost guards (cost, margin, rate check)"


# SIP statuses by their RFC reason phrases (the SIP core's table), 200 by what it means in a CDR.
SIP_STATUS_NAMES = {
    **{code: phrase for code, phrase in REASON_PHRASES.items() if code >= 200},
    200: "Normal call clearing",
}


def end_reason_name(code: int) -> str:
    """The name of an end reason: internal codes by label, SIP statuses by reason phrase."""
    if code < 0:
        try:
            return CdrEndReasonChoices(code).label
        except ValueError:
            return f"Internal reason {code}"
    return SIP_STATUS_NAMES.get(code, f"SIP {code}")


def end_reason_choices() -> list[tuple[int, str]]:
    """Every named end reason, internal codes first, for filter forms."""
    internal = [(code, f"{code} {label}") for code, label in CdrEndReasonChoices.choices]
    sip = [(code, f"{code} {name}") for code, name in sorted(SIP_STATUS_NAMES.items())]
    return internal + sip


class AccountTypeChoices(models.IntegerChoices):
    """Who an account is (SPEC §8.1; codes as in VOS3000): a customer who pays, or a vendor."""

    NORMAL = 0, "Normal (customer)"
    CLEARING = 2, "Clearing (vendor)"
