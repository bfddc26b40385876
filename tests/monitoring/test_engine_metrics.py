"""An engine node's /metrics (SIP_METRICS_LISTEN, SPEC §10): after real sipp calls it carries the
engine's counters, in the text format Prometheus's own parser reads; its heartbeat and CDR
backlog reach Redis for the console and the alarms."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from billing.choices import CdrEndReasonChoices as Reason
from softswitch.redis_keys import HEARTBEATS_KEY, cdr_backlog_key
from tests.engine.harness import free_ports, requires_sipp, sipp_finished, workers_of_this_run
from tests.engine.test_calls import call, gateway_uas, routing_gateway
from tests.engine.test_calls import customer as customer

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]


def scrape(address: str) -> dict[tuple[str, tuple], float]:
    """Every sample of the engine's /metrics: (name, sorted labels) → value."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape_workers(port: int, workers: int) -> dict[tuple[str, tuple], float]:
    """Every worker's samples (worker n serves its /metrics n ports after the first), summed."""
    summed: Counter[tuple[str, tuple]] = Counter()
    for n in range(workers):
        summed.update(scrape(f"127.0.0.1:{port + n}"))
    return summed


def test_engine_metrics_count_real_calls(engine_factory, customer, redis_client) -> None:
    port = free_ports(workers_of_this_run())
    runner = engine_factory(env={"SIP_METRICS_LISTEN": f"127.0.0.1:{port}"})
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor, calls=2)
    for _ in range(2):
        assert call(runner, "8613800000001").outcome() == "ANSWERED"
    sipp_finished(uas)
    assert call(runner, "4413800000001").outcome() == "FAILED 503"  # no route
    samples = scrape_workers(port, runner.workers)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("vosadmin_sip_calls_total", result="answered") == 2
    assert value("vosadmin_sip_calls_total", result="failed") == 1
    assert value("vosadmin_sip_calls_started_total") == 3
    assert value("vosadmin_sip_call_ends_total", end_reason=str(int(Reason.NO_ROUTE))) == 1
    assert value("vosadmin_sip_messages_received_total", kind="request", method="INVITE") == 3
    assert value("vosadmin_sip_messages_received_total", kind="request", method="BYE") == 2
    assert value("vosadmin_sip_messages_sent_total", kind="request", method="INVITE") == 2
    assert value("vosadmin_sip_messages_received_total", kind="response", method="INVITE") >= 4
    assert value("vosadmin_sip_calls_in_progress") == 0
    assert value("vosadmin_sip_security_events_total", event="unauthorized") == 0
    assert ("vosadmin_sip_transactions", (("role", "server"),)) in samples
    assert ("vosadmin_sip_registrations", ()) in samples
    assert ("vosadmin_sip_dialogs", ()) in samples
    assert ("vosadmin_cdr_journal_backlog", ()) in samples
    assert 0 <= samples[("vosadmin_sip_receive_queue_delay_seconds", ())] < 1  # idle
    assert ("vosadmin_sip_receive_queue_bytes", ()) in samples
    assert value("process_cpu_seconds_total") > 0
    deadline = time.monotonic() + 8  # the heartbeat runs every 5 s
    for node in runner.nodes:
        while redis_client.hget(HEARTBEATS_KEY, f"engine:{node}") is None:
            assert time.monotonic() < deadline, "no heartbeat in Redis"
            time.sleep(0.2)
        assert abs(float(redis_client.hget(HEARTBEATS_KEY, f"engine:{node}")) - time.time()) < 8
        assert redis_client.get(cdr_backlog_key(node)) == "0"


def test_a_malformed_metrics_address_stops_the_engine_naming_the_variable(settings) -> None:
    from django.core.management import CommandError, call_command

    settings.SIP_METRICS_LISTEN = "9105"
    with pytest.raises(CommandError, match="SIP_METRICS_LISTEN must be HOST:PORT"):
        call_command("runsipengine", "--listen", "127.0.0.1:5999")
