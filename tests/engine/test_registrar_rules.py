"""Registrar policy (SPEC §3.2) as plain functions: what a REGISTER does to a phone's single
binding, and the expiry it is granted (softswitch/rules/registrar.py)."""

from __future__ import annotations

import pytest

from softswitch.rules.registrar import (
    DEFAULT_EXPIRES,
    Binding,
    Outcome,
    RegisterRequest,
    decide,
    granted_expiry,
)

NOW = 1_000_000.0
HOME = "sip:1001@192.0.2.10:5060"
AWAY = "sip:1001@198.51.100.20:5060"


def binding(contact: str = HOME, expires_at: float = NOW + 60) -> Binding:
    return Binding(
        phone_id=1,
        e164="1001",
        contact=contact,
        source=("192.0.2.10", 5060),
        transport="udp",
        registered_at=NOW - 10,
        expires_at=expires_at,
    )


def register(contact: str | None = HOME, expires: int | None = 3600, wildcard: bool = False):
    return RegisterRequest(contact=contact, wildcard=wildcard, requested_expires=expires)


@pytest.mark.parametrize(
    ("existing", "request_", "replace", "outcome"),
    [
        (None, register(), False, Outcome.BIND),
        (binding(expires_at=NOW), register(AWAY), False, Outcome.BIND),  # expired: free again
        (binding(), register(), False, Outcome.REFRESH),
        (binding(), register(AWAY), True, Outcome.KICK),
        (binding(), register(AWAY), False, Outcome.REJECT),
        (binding(), register(None), False, Outcome.QUERY),
        (None, register(None), False, Outcome.QUERY),
        (binding(), register(None, expires=0), False, Outcome.QUERY),  # §10.3 step 6
        (binding(), register(AWAY, expires=0), False, Outcome.REMOVE),  # before any contact test
        (binding(), register(None, expires=0, wildcard=True), False, Outcome.REMOVE),
        (binding(), register(None, wildcard=True), False, Outcome.INVALID),  # §10.3 step 6
        (binding(), register(None, expires=None, wildcard=True), False, Outcome.INVALID),
        (None, register(expires=0), True, Outcome.REMOVE),
        (None, register("sip:1001@" + "h" * 503), False, Outcome.BIND),  # 512: it fits
        (binding(), register("sip:1001@" + "h" * 504), True, Outcome.TOO_LONG),
    ],
)
def test_decide(existing, request_, replace, outcome) -> None:
    assert decide(existing, request_, replace, NOW) is outcome


@pytest.mark.parametrize(
    ("call_id", "cseq", "contact", "outcome"),
    [
        ("reg-1", 4, HOME, Outcome.OUT_OF_ORDER),  # a delayed REGISTER of the binding's Call-ID
        ("reg-1", 5, HOME, Outcome.OUT_OF_ORDER),
        ("reg-1", 6, HOME, Outcome.REFRESH),
        ("reg-2", 1, HOME, Outcome.REFRESH),  # another Call-ID: a phone restarted
        ("reg-1", 4, AWAY, Outcome.KICK),  # another contact: another binding (§10.3 step 7)
    ],
)
def test_an_out_of_order_cseq_does_not_change_the_binding(call_id, cseq, contact, outcome) -> None:
    existing = binding()
    existing.call_id, existing.cseq = "reg-1", 5
    request_ = RegisterRequest(contact, False, 3600, call_id, cseq)
    assert decide(existing, request_, True, NOW) is outcome
    restored = binding()  # from the database: its CSeq is not known
    restored.call_id = "reg-1"
    assert decide(restored, request_, True, NOW) is not Outcome.OUT_OF_ORDER


@pytest.mark.parametrize(
    ("requested", "maximum", "granted"),
    [(None, 7200, DEFAULT_EXPIRES), (None, 600, 600), (300, 600, 300), (3600, 600, 600)],
)
def test_granted_expiry_is_capped_by_ss_endpoint_expire(requested, maximum, granted) -> None:
    assert granted_expiry(requested, maximum) == granted


def test_a_binding_is_alive_until_its_expiry_exclusive() -> None:
    live = binding(expires_at=NOW + 1)
    assert live.alive(NOW) and live.alive(NOW + 0.999) and not live.alive(NOW + 1)
