"""The dynamic blacklist end to end: the real SIP engine counts what sipp does, the checks list
abusers, the engine refuses their next call with the family's end reason."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import pytest

from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Cdr
from blacklist.checks import SETTLE_SECONDS, run_check
from blacklist.models import DynamicBlacklistEntry, SystemWhitelistEntry
from softswitch.models import MappingGateway, RoutingGateway
from tests.blacklist.conftest import configure
from tests.conftest import api_client_for
from tests.engine.harness import free_port, requires_sipp, run_sipp, sipp_finished, wait_for
from vosadmin.core.parameters import update_parameter

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]

INTERVAL = 10
CUSTOMER_IP = "127.0.0.2"


@pytest.fixture
def customer() -> MappingGateway:
    return MappingGateway.objects.create(
        name="GW-CUSTOMER", ips=[CUSTOMER_IP], dynamic_blacklist=True
    )


def calls(engine, caller: str, callee: str, count: int = 1, **kwargs) -> list[str]:
    """Place `count` calls one after the other; their outcomes."""
    return [
        run_sipp(
            "uac_gateway_call.xml",
            engine.address,
            rows=[f"{caller};{callee};"],
            local_ip=CUSTOMER_IP,
            extra=["-d", "200"],
            **kwargs,
        ).outcome()
        for _ in range(count)
    ]


def at_a_window_start(needed: float = 6) -> None:
    """Wait for the next window if fewer than `needed` seconds are left in this one: attempts
    are counted in fixed windows of INTERVAL, so calls that straddle a boundary split their
    count between two windows and neither reaches the limit (seen in CI under load)."""
    left = INTERVAL - time.time() % INTERVAL
    if left < needed:
        time.sleep(left + 0.05)


def after_this_window() -> datetime:
    """A check time just after the current window ended (the checks read finished windows)."""
    window_end = (math.floor(time.time() / INTERVAL) + 1) * INTERVAL
    return datetime.fromtimestamp(window_end + SETTLE_SECONDS + 0.5, tz=UTC)


def refused_with(callee: str, reason: int) -> bool:
    """The engine journaled a CDR for the callee with that end reason."""
    return bool(wait_for(lambda: Cdr.objects.filter(callee=callee, end_reason=reason).exists()))


def test_malicious_caller_is_listed_and_refused(engine, customer, redis) -> None:
    configure("malicious_caller", limit=3, interval=INTERVAL)
    runner = engine()
    at_a_window_start()
    assert calls(runner, "2125550001", "8610000001", count=3) == ["FAILED 503"] * 3  # no route
    time.sleep(0.3)  # the engine flushes its counters every 100 ms
    assert run_check("malicious_caller", now=after_this_window()).listed
    wait_for(lambda: calls(runner, "2125550001", "8610000002") == ["FAILED 403"], timeout=5)
    assert refused_with("8610000002", Reason.CALLER_DYNAMIC_BLACKLIST_MALICIOUS)


def test_malicious_callee_is_listed_and_refused(engine, customer, redis) -> None:
    configure("malicious_callee", limit=3, interval=INTERVAL)
    runner = engine()
    at_a_window_start()
    for caller in ("2125550011", "2125550012", "2125550013"):
        assert calls(runner, caller, "8610000010") == ["FAILED 503"]
    time.sleep(0.3)
    entry_ids = run_check("malicious_callee", now=after_this_window()).listed
    assert DynamicBlacklistEntry.objects.get(pk__in=entry_ids).number == "8610000010"
    wait_for(lambda: calls(runner, "2125550014", "8610000010") == ["FAILED 403"], timeout=5)
    assert refused_with("8610000010", Reason.CALLEE_DYNAMIC_BLACKLIST_MALICIOUS)


def test_no_answer_through_a_gateway_that_never_answers(engine, customer, redis) -> None:
    configure("no_answer", limit=3, interval=INTERVAL)
    vendor = RoutingGateway.objects.create(
        name="VENDOR", host="127.0.0.1", port=free_port(), prefixes=["86"]
    )
    uas = run_sipp(
        "uas_fail.xml",
        "127.0.0.1:1",
        local_port=vendor.port,
        calls=3,
        background=True,
        status="480 Temporarily Unavailable",
    )
    runner = engine()
    at_a_window_start()
    assert calls(runner, "2125550021", "8610000020", count=3) == ["FAILED 480"] * 3
    sipp_finished(uas)
    time.sleep(0.3)
    assert run_check("no_answer", now=after_this_window()).listed
    wait_for(lambda: calls(runner, "2125550022", "8610000020") == ["FAILED 403"], timeout=5)
    assert refused_with("8610000020", Reason.CALLEE_DYNAMIC_BLACKLIST_NO_ANSWER)


def test_concurrent_abuse(engine, customer, redis) -> None:
    configure("concurrent", limit=1, interval=INTERVAL)
    vendor = RoutingGateway.objects.create(
        name="VENDOR", host="127.0.0.1", port=free_port(), prefixes=["86"]
    )
    uas = run_sipp(
        "uas_answer.xml", "127.0.0.1:1", local_port=vendor.port, calls=2, background=True
    )
    runner = engine()
    rows = ["2125550031;8610000031;", "2125550031;8610000032;"]
    held = run_sipp(
        "uac_gateway_call.xml",
        runner.address,
        rows=rows,
        local_ip=CUSTOMER_IP,
        calls=2,
        rate=10,
        extra=["-d", "2000"],
    )
    assert held.returncode == 0, held.output[-2000:]
    sipp_finished(uas)
    time.sleep(0.3)
    assert run_check("concurrent", now=after_this_window()).listed
    wait_for(lambda: calls(runner, "2125550031", "8610000033") == ["FAILED 403"], timeout=5)
    assert refused_with("8610000033", Reason.CALLER_DYNAMIC_BLACKLIST_CONCURRENT)


def test_independent_mode_ignores_a_gateway_with_the_flag_off(engine, customer, redis) -> None:
    customer.dynamic_blacklist = False
    customer.save()
    update_parameter("SS_BLACK_LIST_DYNAMIC_RUN_MODE", "Independent")
    configure("malicious_caller", limit=2, interval=INTERVAL)
    runner = engine()
    assert calls(runner, "2125550041", "8610000041", count=3) == ["FAILED 503"] * 3
    time.sleep(0.3)
    assert run_check("malicious_caller", now=after_this_window()).listed == []
    assert calls(runner, "2125550041", "8610000042") == ["FAILED 503"]  # routed, not refused


def test_white_listed_caller_is_never_listed(engine, customer, redis) -> None:
    SystemWhitelistEntry.objects.create(number="212555", match="prefix")
    configure("malicious_caller", limit=2, interval=INTERVAL)
    runner = engine()
    assert calls(runner, "2125550051", "8610000051", count=3) == ["FAILED 503"] * 3
    time.sleep(0.3)
    assert run_check("malicious_caller", now=after_this_window()).listed == []
    assert not DynamicBlacklistEntry.objects.exists()


def test_early_release_lets_the_next_call_through(engine, customer, redis, admin_user) -> None:
    configure("malicious_caller", limit=2, interval=INTERVAL)
    runner = engine()
    assert calls(runner, "2125550061", "8610000061", count=2) == ["FAILED 503"] * 2
    time.sleep(0.3)
    (entry_id,) = run_check("malicious_caller", now=after_this_window()).listed
    wait_for(lambda: calls(runner, "2125550061", "8610000062") == ["FAILED 403"], timeout=5)
    response = api_client_for(admin_user).delete(f"/api/v1/blacklist/dynamic/{entry_id}/")
    assert response.status_code == 204
    wait_for(lambda: calls(runner, "2125550061", "8610000063") == ["FAILED 503"], timeout=5)
