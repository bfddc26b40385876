"""GetPerformance.cdrQueueSize is the real journal backlog of the engine nodes: CDRs journaled
while PostgreSQL is unreachable for the engine are counted until they are written."""

from __future__ import annotations

import pytest

from billing.models import Cdr
from softswitch.models import MappingGateway
from tests.engine.harness import requires_sipp, sipp_finished, wait_for
from tests.engine.test_calls import CUSTOMER_IP, call, gateway_uas, routing_gateway

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]
CALLS = 3


def test_cdr_queue_size_counts_cdrs_waiting_while_the_database_is_down(
    engine_factory, web_api, redis_client
) -> None:
    from tests.proxy import database_proxy

    proxy, url = database_proxy()
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])
    uas = gateway_uas(routing_gateway("VENDOR", ["86"]), calls=CALLS)
    runner = engine_factory(env={"DATABASE_URL": url})
    try:
        proxy.cut()
        for number in range(CALLS):
            assert call(runner, f"861380000010{number}", hold_ms=100).outcome() == "ANSWERED"
        sipp_finished(uas)
        queue = lambda: web_api("GetPerformance")["cdrQueueSize"]  # noqa: E731
        assert wait_for(lambda: queue() == CALLS, timeout=15)  # the node reports every 5 s
        assert not Cdr.objects.exists()
        proxy.restore()
        wait_for(lambda: Cdr.objects.count() == CALLS, timeout=20)
        assert wait_for(lambda: queue() == 0, timeout=15)
    finally:
        proxy.close()
