"""Registrar policy (SPEC §3.2): what a REGISTER does to an account's single binding."""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEFAULT_EXPIRES = 3600
MAX_CONTACT_LENGTH = 512  # what the `Registration.contact` column holds


@dataclass
class Binding:
    """A phone's current registration: where to reach it and until when."""

    phone_id: int
    e164: str
    contact: str  # the Contact URI as registered
    source: tuple[str, int]  # where the REGISTER came from (NAT-safe target for UDP)
    transport: str  # "udp" or "tcp"
    registered_at: float
    expires_at: float
    user_agent: str = ""
    call_id: str = ""
    cseq: int | None = None  # of the REGISTER that made it; None: unknown (restored)
    connection_id: int | None = None  # the TCP connection it arrived on
    missed_probes: int = 0
    probe_pending: bool = False
    next_probe_at: float = 0.0

    def alive(self, now: float) -> bool:
        return now < self.expires_at


class Outcome(enum.Enum):
    """What the registrar does with a REGISTER."""

    QUERY = "query"  # no Contact: report the binding
    REMOVE = "remove"  # un-REGISTER (expires 0, or Contact: *)
    REFRESH = "refresh"  # same contact as the live binding
    BIND = "bind"  # no live binding
    KICK = "kick"  # another contact is bound: replace it (SS_ENDPOINT_REGISTER_REPLACE On)
    REJECT = "reject"  # another contact is bound: 403 (SS_ENDPOINT_REGISTER_REPLACE Off)
    INVALID = "invalid"  # Contact: * with an expiry other than 0: 400 (RFC 3261 §10.3 step 6)
    OUT_OF_ORDER = "out_of_order"  # CSeq not above the binding's, same Call-ID: 400 (step 7)
    TOO_LONG = "too_long"  # a Contact longer than a binding can be stored with: 400


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    """The parts of an authenticated REGISTER the policy looks at."""

    contact: str | None  # None: no Contact header
    wildcard: bool
    requested_expires: int | None  # from the contact's expires param, else the Expires header
    call_id: str = ""
    cseq: int = 0


def granted_expiry(requested: int | None, maximum: int) -> int:
    """SS_ENDPOINT_EXPIRE caps the expiry; shorter requests are honoured."""
    return min(DEFAULT_EXPIRES if requested is None else requested, maximum)


def decide(
    existing: Binding | None, request: RegisterRequest, replace: bool, now: float
) -> Outcome:
    """The outcome of a REGISTER for an account whose binding is `existing`."""
    if request.wildcard and request.requested_expires != 0:
        return Outcome.INVALID
    if request.contact is None and not request.wildcard:
        return Outcome.QUERY  # whatever the expiry (RFC 3261 §10.3 step 6)
    if is_out_of_order(existing, request, now):
        return Outcome.OUT_OF_ORDER
    if request.contact is not None and len(request.contact) > MAX_CONTACT_LENGTH:
        return Outcome.TOO_LONG
    if request.wildcard or request.requested_expires == 0:
        return Outcome.REMOVE
    if existing is None or not existing.alive(now):
        return Outcome.BIND
    if existing.contact == request.contact:
        return Outcome.REFRESH
    return Outcome.KICK if replace else Outcome.REJECT


def is_out_of_order(existing: Binding | None, request: RegisterRequest, now: float) -> bool:
    """Whether a REGISTER for the live binding's contact, in its Call-ID, has a CSeq that is
    not above the binding's: a delayed request, which must not change it (RFC 3261 §10.3
    step 7)."""
    if existing is None or existing.cseq is None or not existing.alive(now):
        return False
    same_contact = request.wildcard or existing.contact == request.contact
    return same_contact and existing.call_id == request.call_id and request.cseq <= existing.cseq
