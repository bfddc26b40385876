"""Calls through the running engine over the wire (SPEC §3.3, §4), with sipp as the caller and
sipp instances as routing gateways: a call and its CDR in PostgreSQL, digest-challenged phones,
CANCEL, the current-calls view, and outages of PostgreSQL and Redis. The call logic itself
(failover, screening, relay, the switch's hang-ups, capacity, OPTIONS probing, CDR fields) is
tested in memory and in virtual time: test_b2bua_calls.py."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Cdr, PendingReportHour
from softswitch.engine.capacity import chunk_for
from softswitch.models import MappingGateway, Phone, Registration, RoutingGateway
from softswitch.redis_keys import CAPACITY_IN_USE_KEY
from tests.engine.fixtures import auth_row
from tests.engine.harness import (
    free_port,
    requires_sipp,
    run_sipp,
    sipp_finished,
    wait_for,
    workers_of_this_run,
)
from tests.engine.sip_client import SipSocketClient

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]

CUSTOMER_IP = "127.0.0.2"


@pytest.fixture
def customer() -> MappingGateway:
    return MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])


def routing_gateway(
    name: str, prefixes: list[str], port: int | None = None, **extra
) -> RoutingGateway:
    return RoutingGateway.objects.create(
        name=name, host="127.0.0.1", port=port or free_port(), prefixes=prefixes, **extra
    )


def gateway_uas(gateway: RoutingGateway, scenario: str = "uas_answer.xml", **kwargs):
    """A sipp routing gateway listening where `gateway` points (`status=` for failures)."""
    kwargs.setdefault("timeout", 60)
    return run_sipp(scenario, "127.0.0.1:1", local_port=gateway.port, background=True, **kwargs)


def call(
    engine,
    callee: str,
    caller: str = "2125550100",
    source: str = CUSTOMER_IP,
    scenario: str = "uac_gateway_call.xml",
    hold_ms: int = 500,
    **kwargs,
):
    return run_sipp(
        scenario,
        engine.address,
        rows=[f"{caller};{callee};"],
        local_ip=source,
        extra=["-d", str(hold_ms)],
        **kwargs,
    )


def cdr(**filters) -> Cdr:
    return wait_for(lambda: Cdr.objects.filter(**filters).first(), timeout=10)


def test_answered_call_and_its_cdr_field_by_field(engine, customer) -> None:
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor)
    runner = engine()
    started = time.time()
    assert call(runner, "8613800000001", hold_ms=1500).outcome() == "ANSWERED"
    assert sipp_finished(uas).logged[-1] == "BYE"
    record = cdr(callee="8613800000001")
    assert (record.caller, record.billing_mode, record.mapping_gateway, record.phone) == (
        "2125550100",
        Mode.MAPPING_GATEWAY,
        "GW-CUSTOMER",
        "",
    )
    assert record.routing_gateway == "VENDOR" and record.callee_ip == f"127.0.0.1:{vendor.port}"
    assert record.caller_ip.startswith(f"{CUSTOMER_IP}:")
    assert (record.end_reason, record.end_direction) == (200, Direction.CALLER)
    assert record.connect_time is not None and record.start_time <= record.connect_time
    assert 1400 <= record.hold_time_ms <= 3000
    held = record.stop_time - record.connect_time
    assert abs(held - timedelta(milliseconds=record.hold_time_ms)) < timedelta(milliseconds=1)
    assert record.fee_time == -(-record.hold_time_ms // 1000)
    assert abs(record.start_time.timestamp() - started) < 5
    assert record.call_id and record.flow_no > 0
    ringing_within = (record.connect_time - record.start_time) / timedelta(milliseconds=1)
    assert record.pdd_ms is not None and 0 <= record.pdd_ms <= ringing_within + 1  # the 180
    hour = record.start_time.replace(minute=0, second=0, microsecond=0)
    assert PendingReportHour.objects.filter(hour=hour).exists()  # for the gateway reports


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_engine_listening_on_every_address_serves_ipv4_peers_as_themselves(
    engine_factory, customer, workers
) -> None:
    """SIP_LISTEN `[::]:port`: the dual-stack socket sees IPv4 peers as "::ffff:a.b.c.d". That
    address matched no gateway IP (the customer's calls were refused as from an unknown
    source), an IPv4 gateway could not be sent to from the IPv6 socket, and TCP listened on
    IPv6 alone. IPv4 peers are now themselves, over UDP and TCP, with one engine or workers."""
    Phone.objects.create(e164="1001", password="pw-1001")
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor)
    runner = engine_factory(
        listen_host="::", env={"SIP_WORKERS": workers, "SIP_ADVERTISED_HOST": "127.0.0.1"}
    )
    assert call(runner, "8613800000001").outcome() == "ANSWERED"
    assert sipp_finished(uas).logged[-1] == "BYE"
    record = cdr(callee="8613800000001")
    assert record.mapping_gateway == "GW-CUSTOMER" and record.caller_ip.startswith(CUSTOMER_IP)
    assert record.callee_ip == f"127.0.0.1:{vendor.port}"
    phone = SipSocketClient((runner.host, runner.port), "tcp")
    assert phone.register("1001", "pw-1001").status_code == 200
    registration = wait_for(lambda: Registration.objects.first())
    assert (registration.source.split(":")[0], registration.transport) == ("127.0.0.1", "tcp")
    phone.close()


def test_phone_call_is_challenged_and_billed_to_the_phone(engine) -> None:
    Phone.objects.create(e164="1001", password="pw-1001")
    vendor = routing_gateway("VENDOR", ["44"])
    uas = gateway_uas(vendor)
    runner = engine()
    assert (
        run_sipp("register.xml", runner.address, rows=[auth_row("1001", "pw-1001")])
        .outcome()
        .startswith("GRANTED")
    )
    row = "1001;4420790000;;[authentication username=1001 password=pw-1001]"
    result = run_sipp("uac_phone_call.xml", runner.address, rows=[row], extra=["-d", "300"])
    assert result.outcome() == "ANSWERED"
    sipp_finished(uas)
    record = cdr(callee="4420790000")
    assert (record.billing_mode, record.phone, record.mapping_gateway) == (Mode.PHONE, "1001", "")


def test_cancel_while_ringing(engine, customer) -> None:
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor, "uas_ring.xml")
    result = run_sipp(
        "uac_cancel.xml", engine().address, rows=["2125550100;8613800000007"], local_ip=CUSTOMER_IP
    )
    assert result.outcome() == "CANCELLED"
    assert sipp_finished(uas).logged[-1] == "CANCELLED"
    record = cdr(callee="8613800000007")
    assert (record.end_reason, record.end_direction, record.connect_time) == (
        487,
        Direction.CALLER,
        None,
    )
    rang_within = (record.stop_time - record.start_time) / timedelta(milliseconds=1)
    assert record.pdd_ms is not None and 0 <= record.pdd_ms <= rang_within  # INVITE → 180


def test_current_calls_page_and_api_show_a_call_while_it_lasts(
    engine, customer, admin_user, client
) -> None:
    from tests.conftest import api_client_for

    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor)
    runner = engine()
    holding = call(runner, "8613800000017", hold_ms=5000, background=True)
    api = api_client_for(admin_user)
    listed = wait_for(lambda: api.get("/api/v1/calls/").json()["results"], timeout=5)
    (current,) = listed
    assert (current["caller"], current["callee"], current["origin"]) == (
        "2125550100",
        "8613800000017",
        "GW-CUSTOMER",
    )
    assert (current["routing_gateway"], current["state"]) == ("VENDOR", "connected")
    assert current["started_at"] and current["connected_at"] and current["call_id"]
    client.force_login(admin_user)
    assert "8613800000017" in client.get("/current-calls/").content.decode()
    assert sipp_finished(holding).outcome() == "ANSWERED"
    sipp_finished(uas)
    wait_for(lambda: api.get("/api/v1/calls/").json()["count"] == 0, timeout=5)


def successful_calls(output: str) -> int:
    """The cumulative "Successful call" count of sipp's final statistics screen."""
    lines = [line for line in output.splitlines() if line.strip().startswith("Successful call")]
    return int(lines[-1].split("|")[2].strip())


def test_database_outage_loses_no_cdr_and_duplicates_none(engine_factory, customer) -> None:
    from tests.proxy import database_proxy

    proxy, url = database_proxy()
    vendor = routing_gateway("VENDOR", ["86"])
    calls = 200
    uas = gateway_uas(vendor, calls=calls, timeout=120)
    runner = engine_factory(env={"DATABASE_URL": url})
    load = run_sipp(
        "uac_gateway_call.xml",
        runner.address,
        rows=[f"2125550100;86138{i:08d};" for i in range(calls)],
        local_ip=CUSTOMER_IP,
        calls=calls,
        rate=25,
        extra=["-d", "200"],
        timeout=120,
        background=True,
    )
    try:
        time.sleep(2.5)
        proxy.cut()
        time.sleep(0.5)
        during = Cdr.objects.count()
        time.sleep(2.5)
        assert Cdr.objects.count() == during < calls  # held back in the journal meanwhile
        proxy.restore()
        finished = sipp_finished(load, timeout=120)
        sipp_finished(uas, timeout=30)
        completed = successful_calls(finished.output)
        assert completed >= calls * 0.95
        wait_for(lambda: Cdr.objects.filter(end_reason=200).count() >= completed, timeout=30)
        time.sleep(1)
        answered = Cdr.objects.filter(end_reason=200)
        assert answered.count() == completed
        assert answered.values("call_id").distinct().count() == completed
        assert Cdr.objects.values("flow_no").distinct().count() == Cdr.objects.count()
        assert "journaling CDRs locally" in runner.log()
    finally:
        proxy.close()


def test_a_database_that_stops_answering_does_not_hold_up_shutdown_nor_lose_a_cdr(
    engine_factory, customer
) -> None:
    """The database link is black-holed (connections open, nothing answers) while a CDR waits
    to be written: SIGTERM still ends the engine (cut short, status 1), and the next start on
    the same journal writes that CDR once the database answers."""
    from tests.proxy import database_proxy

    proxy, url = database_proxy()
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor, calls=1)
    try:
        stalled = engine_factory(env={"DATABASE_URL": url})
        proxy.stall()
        assert call(stalled, "8613800000017").outcome() == "ANSWERED"
        sipp_finished(uas)
        assert stalled.stop() == 1
        assert "shutdown did not finish" in stalled.log()
        assert not Cdr.objects.filter(callee="8613800000017").exists()
        engine_factory(env={"SIP_SPOOL_DIR": str(stalled.spool)})
        wait_for(lambda: Cdr.objects.filter(callee="8613800000017").exists(), timeout=15)
        assert Cdr.objects.filter(callee="8613800000017").count() == 1
    finally:
        proxy.close()


def test_a_line_limit_holds_across_workers_and_its_lines_come_back(
    engine, customer, redis_client
) -> None:
    """30 callers at once through a mapping gateway of 20 lines, each call held 3 s: never
    more than 20 answered, on however many workers (each a node leasing lines from Redis),
    the others refused with 503; once the calls end, every line is back in Redis."""
    customer.capacity = 20
    customer.save()
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor, calls=30)
    runner = engine()
    rows = [f"21255502{n:02d};86138000002{n:02d};" for n in range(30)]
    run_sipp(
        "uac_gateway_call.xml",
        runner.address,
        rows=rows,
        local_ip=CUSTOMER_IP,
        calls=30,
        rate=100,
        extra=["-d", "3000"],
    )
    wait_for(lambda: Cdr.objects.count() == 30, timeout=15)
    answered = Cdr.objects.filter(end_reason=200).count()
    refused = Cdr.objects.filter(end_reason=Reason.ORIGIN_CAPACITY).count()
    # a worker may hold up to two chunks spare that another worker cannot have (ADR 0003)
    spare_elsewhere = 2 * chunk_for(20) * (workers_of_this_run() - 1)
    assert 20 - spare_elsewhere <= answered <= 20
    assert answered + refused == 30
    wait_for(lambda: not redis_client.hgetall(CAPACITY_IN_USE_KEY), timeout=5)
    uas.kill()


def test_a_redis_that_stops_answering_does_not_stop_the_service(engine_factory, customer) -> None:
    """Redis accepts connections but never answers (a hung server, a black-holed link): the
    engine starts, admits a call under a line limit on its own count, and stops on SIGTERM."""
    customer.capacity = 5
    customer.save()
    vendor = routing_gateway("VENDOR", ["86"])
    uas = gateway_uas(vendor, calls=1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(64)  # the kernel completes the handshakes; nobody ever reads
        redis_url = f"redis://127.0.0.1:{stalled.getsockname()[1]}/0"
        runner = engine_factory(env={"REDIS_URL": redis_url})
        assert call(runner, "8613800000016").outcome() == "ANSWERED"
        sipp_finished(uas)
        assert runner.stop() == 0
    assert "enforcing mapping_gateway" in runner.log()
    assert cdr(callee="8613800000016").end_reason == 200
