"""The registrar's security policy (SPEC §2.1, §3.2) in memory and in virtual time: a source
that fails authentication too often is ignored for SS_AUTHENTICATION_FAILED_SUSPEND seconds,
counting only the failures of the last SS_AUTHENTICATION_FAILED_WINDOW (tests/engine/b2bua.py;
the wire is test_registrar.py)."""

from __future__ import annotations

import pytest

from softswitch.models import Phone
from vosadmin.core.parameters import update_parameter

PHONE_IP = "198.51.100.30"


@pytest.fixture
def phone(db) -> Phone:
    return Phone.objects.create(e164="1001", password="pw-1001")


def test_source_is_suspended_after_max_retry_then_accepted_again(b2bua, phone) -> None:
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 3)
    update_parameter("SS_AUTHENTICATION_FAILED_SUSPEND", 60)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert [handset.register("1001", "wrong") for _ in range(3)] == [403, 403, None]
    assert handset.register("1001", "pw-1001") is None  # even the right password: ignored
    switch.advance(59.5)
    assert handset.register("1001", "pw-1001") is None
    switch.advance(0.5)
    assert handset.register("1001", "pw-1001") == 200


def test_failures_older_than_the_window_do_not_count_toward_suspension(b2bua, phone) -> None:
    update_parameter("SS_AUTHENTICATION_MAX_RETRY", 3)
    update_parameter("SS_AUTHENTICATION_FAILED_WINDOW", 1)
    switch = b2bua()
    handset = switch.phone(PHONE_IP)
    assert [handset.register("1001", "wrong") for _ in range(2)] == [403, 403]
    switch.advance(1.5)
    assert [handset.register("1001", "wrong") for _ in range(2)] == [403, 403]
    assert handset.register("1001", "pw-1001") == 200
