"""Short versions of the harnesses (`make fuzz-sip`, `make soak`, `make faults`; bench/).

`pytest -m harness` runs only these. Together they take about three minutes, most of it
waiting for the engine's 32 s transaction timers (Timer J/H) to expire. None of the assertions
is timed: every wait is for a condition (transactions gone, CDRs written) with a generous
deadline, and the bounds are on counts and object totals, not on speed, so a loaded 2-core CI
machine only makes them slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from bench import sip_engine
from bench.faults import FaultRun, fault_events, under_load
from bench.fuzz_sip import SinkGateway, create_data, fuzz
from bench.soak import judge, soak
from tests.engine.harness import EngineRunner, free_port, requires_sipp
from tests.proxy import database_proxy, redis_proxy

pytestmark = [pytest.mark.harness, pytest.mark.sipp, requires_sipp]


def test_fuzz_sip_short(engine_factory: Callable[..., EngineRunner]) -> None:
    """3,000 messages (seed fixed) over UDP and TCP from four addresses, the RFC 4475 set
    first: no traceback, a valid OPTIONS answered every 500 messages, and every transaction,
    dialog, call and leg gone once the timers have run. (One wave: the RSS comparison of two
    drained waves needs waves large enough to rise above allocator noise; `make fuzz-sip`.)"""
    gateway = SinkGateway()
    try:
        create_data(gateway.port)
        runner = engine_factory(env={"LOG_LEVEL": "INFO", "SIP_COUNT_CYCLIC_GARBAGE": "1"})
        report = fuzz(runner, messages=3000, seed=4475, waves=1, rate=1000, probe_every=500)
    finally:
        gateway.close()
    assert not report.failures, "\n".join(report.failures)
    assert report.sent_udp > 0 and report.sent_tcp > 0 and report.probes >= 6
    counted = [line for line in runner.log().splitlines() if "cyclic_garbage=" in line]
    garbage = [line for line in counted if not re.search(r"cyclic_garbage=0\b", line)]
    assert counted and not garbage, "\n".join(garbage)  # the types found: where a cycle is made


def test_soak_short(engine_factory: Callable[..., EngineRunner], transactional_db: Any) -> None:
    """60 s of calls at 10 calls/s, sampled every 5 s. Counts only: from 42 s on (the 32 s
    timers have run once: the counts are steady) the open transactions, dialogs, calls and
    legs must not grow by more than a quarter of their mean (+20); a leak grows them without
    end (transaction timers that never fire: about +40 % over those 20 s). RSS is not judged
    over one minute (still warming up; `make soak` fits it over minutes 5-10). After the last
    call nothing may be left: that is what fails first on a leak; nor a line of the gateways'
    limits in Redis, once the pools had time to go back."""
    gateway_port = free_port(sip_engine.GATEWAY_IP)
    sip_engine.create_route(gateway_port, lines=1000)
    runner = engine_factory(env={"LOG_LEVEL": "INFO", "SIP_COUNT_CYCLIC_GARBAGE": "1"})
    report = soak(runner, rate=10, seconds=60, gateway_port=gateway_port, interval=5)
    judge(report, max_rss_slope=float("inf"), max_count_growth=0.25)
    assert not report.failures, "\n".join(report.failures)
    # Finished calls are freed by reference counting: left to the cyclic collector, which the
    # engine's thresholds make rare, they grew the engine by 320 MB a minute at 250 calls/s.
    # Each sample above ran a full collection and logged the cyclic garbage it found.
    found = re.findall(r"cyclic_garbage=(\d+(?: \(.*\))?)", runner.log())
    assert len(found) > 10 and set(found) == {"0"}  # else: how many, and of which types


def test_faults_short(engine_factory: Callable[..., EngineRunner], transactional_db: Any) -> None:
    """20 calls/s for 30 s; the engine's database link cut from 4 to 10 s, its Redis
    black-holed from 14 to 20 s: every call sipp completed has exactly one CDR."""
    gateway_port = free_port(sip_engine.GATEWAY_IP)
    sip_engine.create_route(gateway_port)
    database, database_url = database_proxy()
    redis, redis_url = redis_proxy(settings.REDIS_URL)
    try:
        runner = engine_factory(
            env={"DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO"}
        )
        events = [
            *fault_events("postgres", runner, database, redis, at=4, seconds=6),
            *fault_events("redis", runner, database, redis, at=14, seconds=6),
        ]
        run: FaultRun = under_load(
            runner, "postgres+redis", events, gateway_port=gateway_port, rate=20, seconds=30
        )
        assert runner.stop() == 0, runner.log()
    finally:
        database.close()
        redis.close()
    assert run.completed, "no call completed"
    assert not run.lost and not run.duplicated, (run.lost[:10], run.duplicated[:10])
