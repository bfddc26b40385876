"""Source suspension (SPEC §2.1): failed authentications count in a sliding window, with
explicit time (fail2ban's maxretry / findtime / bantime)."""

from __future__ import annotations

from softswitch.rules.security import SourceGuard, in_networks, parse_networks
from vosadmin.core.parameters import PARAMETERS

IP = "192.0.2.7"
MAX_RETRY = 3
SUSPEND = 180
WINDOW = 60


def fail(guard: SourceGuard, now: float, ip: str = IP, max_retry: int = MAX_RETRY) -> bool:
    return guard.record_failure(ip, now, max_retry, SUSPEND, WINDOW)


def test_max_retry_failures_within_the_window_suspend() -> None:
    guard = SourceGuard()
    assert [fail(guard, t) for t in (1000.0, 1010.0, 1059.0)] == [False, False, True]
    assert guard.is_suspended(IP, 1059.0)
    assert guard.is_suspended(IP, 1059.0 + SUSPEND - 0.1)
    assert not guard.is_suspended(IP, 1059.0 + SUSPEND)
    assert not guard.is_suspended("192.0.2.8", 1059.0)


def test_failures_far_apart_never_suspend() -> None:
    """Five failures a week apart are five unrelated mistakes, not an attack."""
    guard = SourceGuard()
    week = 7 * 86400.0
    assert not any(fail(guard, 1000.0 + n * week) for n in range(5))
    assert not guard.is_suspended(IP, 1000.0 + 4 * week)


def test_the_window_slides_old_failures_drop_out_one_by_one() -> None:
    guard = SourceGuard()
    assert not fail(guard, 1000.0)
    assert not fail(guard, 1030.0)
    assert not fail(guard, 1060.0)  # the first is exactly one window old: it no longer counts
    assert fail(guard, 1089.0)  # 1030, 1060, 1089: three within 60 s


def test_a_success_clears_the_count() -> None:
    guard = SourceGuard()
    fail(guard, 1000.0)
    fail(guard, 1001.0)
    guard.record_success(IP)
    assert not fail(guard, 1002.0)
    assert not fail(guard, 1003.0)
    assert fail(guard, 1004.0)


def test_after_a_suspension_the_count_starts_afresh() -> None:
    guard = SourceGuard()
    assert [fail(guard, 1000.0 + n) for n in range(3)] == [False, False, True]
    after = 1002.0 + SUSPEND
    assert not guard.is_suspended(IP, after)
    assert [fail(guard, after + n) for n in range(3)] == [False, False, True]


def test_zero_max_retry_never_suspends_and_keeps_nothing() -> None:
    guard = SourceGuard()
    assert not any(fail(guard, 1000.0 + n, max_retry=0) for n in range(100))
    assert guard.failures == {}


def test_memory_per_source_is_bounded_by_max_retry() -> None:
    guard = SourceGuard()
    for n in range(1000):
        fail(guard, 1000.0 + n * WINDOW, max_retry=5)
    assert len(guard.failures[IP]) == 5


def test_a_lowered_max_retry_applies_to_the_failures_already_counted() -> None:
    guard = SourceGuard()
    assert not any(fail(guard, 1000.0 + n, max_retry=6) for n in range(4))
    assert fail(guard, 1004.0, max_retry=3)


def test_quiet_sources_are_forgotten_by_housekeeping() -> None:
    guard = SourceGuard()
    fail(guard, 1000.0, ip="192.0.2.1")
    fail(guard, 1050.0, ip="192.0.2.2")
    assert [fail(guard, 1000.0 + n, ip="192.0.2.3") for n in range(3)][-1]
    guard.forget_expired(1060.0, WINDOW)
    assert set(guard.failures) == {"192.0.2.2"}
    assert set(guard.suspended_until) == {"192.0.2.3"}
    guard.forget_expired(1002.0 + SUSPEND, WINDOW)
    assert guard.failures == {} and guard.suspended_until == {}


def test_the_window_is_a_parameter_with_a_default_of_60_seconds() -> None:
    parameter = PARAMETERS["SS_AUTHENTICATION_FAILED_WINDOW"]
    assert parameter.default == 60 and parameter.unit == "seconds"
    assert "SS_AUTHENTICATION_MAX_RETRY" in parameter.description
    assert "window" in parameter.description


def test_trusted_networks_hold_their_addresses_and_only_theirs() -> None:
    networks = parse_networks(["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "172.16.5.1/16"])
    assert [str(network) for network in networks][-1] == "172.16.0.0/16"  # host bits dropped
    for inside in ("10.1.2.3", "192.0.2.7", "2001:db8::5", "172.16.200.1"):
        assert in_networks(inside, networks)
    for outside in ("11.0.0.1", "192.0.2.8", "2001:db9::1"):
        assert not in_networks(outside, networks)
    assert not in_networks("10.1.2.3", parse_networks([]))  # none trusted: nobody is
