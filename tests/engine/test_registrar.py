"""The registrar and every SIP security parameter, against the real engine with sipp (SPEC §3.2).
Suspension after repeated failures and lightweight registration, which take minutes of real
time, are tested in virtual time: test_b2bua_registrar.py."""

from __future__ import annotations

import re
import socket
import time

import pytest

from softswitch.engine.counters import security_key
from softswitch.models import Registration
from tests.conftest import api_client_for
from tests.engine.fixtures import auth_row
from tests.engine.harness import free_port, requires_sipp, run_sipp, wait_for
from tests.engine.sip_client import SipSocketClient
from vosadmin.core.parameters import update_parameter

pytestmark = [requires_sipp, pytest.mark.sipp, pytest.mark.django_db(transaction=True)]


def register(engine, e164="1001", password="pw-1001", expires=3600, **kwargs) -> str:
    result = run_sipp(
        "register.xml", engine.address, rows=[auth_row(e164, password, expires)], **kwargs
    )
    return result.outcome()


def security_counts(redis_client) -> dict[str, int]:
    """This minute's and the previous minute's security counters, summed."""
    now = time.time()
    totals: dict[str, int] = {}
    for key in {security_key(now), security_key(now - 60)}:
        for field, value in redis_client.hgetall(key).items():
            totals[field] = totals.get(field, 0) + int(value)
    return totals


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_authenticated_register_binds_and_is_stored(engine, phone, transport) -> None:
    runner = engine()
    port = free_port()
    assert register(runner, transport=transport, local_port=port) == "GRANTED 3600 (expires=3600)"
    row = wait_for(lambda: Registration.objects.filter(phone=phone).first())
    assert row.contact == f"sip:1001@127.0.0.1:{port};transport={transport.upper()}"
    assert (row.source, row.transport, row.user_agent) == (
        f"127.0.0.1:{port}",
        transport,
        "sipp-test",
    )
    assert 3590 < (row.expires_at - row.registered_at).total_seconds() <= 3600
    assert row.node in runner.nodes


@pytest.mark.parametrize(("reply", "outcome"), [(True, "REFUSED"), (False, "SILENT")])
def test_wrong_password_gets_403_or_silence(engine, phone, redis_client, reply, outcome) -> None:
    update_parameter("SS_REPLY_UNAUTHORIZED", reply)
    assert register(engine(), password="wrong") == outcome
    assert not Registration.objects.exists()
    counts = wait_for(
        lambda: (
            security_counts(redis_client).get("register_failed") and security_counts(redis_client)
        )
    )
    assert counts["register_failed"] == 1 and counts["unauthorized"] == 1


@pytest.mark.parametrize(
    ("reply", "trusted", "outcome"),
    [
        (True, [], "REFUSED_UNKNOWN"),
        (False, [], "SILENT"),
        (False, ["127.0.0.0/8"], "REFUSED_UNKNOWN"),
        (False, ["10.0.0.0/8"], "SILENT"),
    ],
)
def test_unknown_account_is_never_challenged(engine, phone, reply, trusted, outcome) -> None:
    update_parameter("SS_REPLY_UNAUTHORIZED", reply)
    update_parameter("SS_REPLY_UNAUTHORIZED_TRUSTED_NETWORKS", trusted)
    assert register(engine(), e164="9999") == outcome  # a 401 would have led to "REFUSED"


@pytest.mark.parametrize("replace", [True, False])
def test_second_contact_kicks_or_is_rejected(engine, phone, redis_client, replace) -> None:
    update_parameter("SS_ENDPOINT_REGISTER_REPLACE", replace)
    runner = engine()
    first, second = free_port(), free_port()
    assert register(runner, local_port=first).startswith("GRANTED")
    outcome = register(runner, local_port=second)
    bound = wait_for(lambda: Registration.objects.filter(phone=phone).first())
    if replace:
        assert outcome.startswith("GRANTED")
        wait_for(lambda: str(second) in Registration.objects.get(phone=phone).source)
        wait_for(lambda: security_counts(redis_client).get("register_replaced") == 1)
    else:
        assert outcome == "REFUSED"
        assert str(first) in bound.source
        assert register(runner, local_port=first).startswith("GRANTED")  # same contact: refresh
        assert register(runner, local_port=first, expires=0).startswith("GRANTED")  # un-REGISTER
        wait_for(lambda: not Registration.objects.exists())
        assert register(runner, local_port=second).startswith("GRANTED")


def test_expiry_is_capped_by_the_parameter(engine, phone) -> None:
    update_parameter("SS_ENDPOINT_EXPIRE", 600)
    runner = engine()
    assert register(runner, expires=7200) == "GRANTED 600 (expires=600)"
    assert register(runner, expires=120) == "GRANTED 120 (expires=120)"


@pytest.mark.parametrize(("reset", "expected"), [(True, "rst"), (False, "fin")])
def test_garbage_on_a_tcp_stream_closes_it_with_rst_or_fin(engine, reset, expected) -> None:
    update_parameter("SS_TCP_CLOSE_RESET", reset)
    runner = engine()
    sock = socket.create_connection((runner.host, runner.port))
    sock.settimeout(5)
    sock.sendall(b"THIS IS NOT SIP\r\n\r\n")
    try:
        seen = "fin" if sock.recv(1024) == b"" else "data"
    except ConnectionResetError:
        seen = "rst"
    finally:
        sock.close()
    assert seen == expected


def test_parameter_change_through_the_api_applies_without_restart(
    engine, phone, admin_user
) -> None:
    runner = engine()
    assert register(runner, e164="9999") == "REFUSED_UNKNOWN"
    response = api_client_for(admin_user).patch(
        "/api/v1/parameters/SS_REPLY_UNAUTHORIZED/", {"value": False}, format="json"
    )
    assert response.status_code == 200
    wait_for(lambda: register(runner, e164="9999") == "SILENT", timeout=15)


def test_binding_is_restored_after_an_engine_restart(engine, phone) -> None:
    runner = engine()
    port = free_port()
    assert register(runner, local_port=port).startswith("GRANTED")
    wait_for(lambda: Registration.objects.exists())
    runner.restart()
    restored = re.findall(r"(\d+) registrations restored", runner.log_since_start())
    assert sum(map(int, restored)) == 1  # by whichever worker holds it
    result = run_sipp("register_query.xml", runner.address, rows=[auth_row("1001", "pw-1001")])
    assert result.outcome().startswith(f"BOUND sip:1001@127.0.0.1:{port}")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_forced_unregister_drops_the_binding_and_closes_tcp(
    engine, phone, admin_user, transport
) -> None:
    runner = engine()
    client = SipSocketClient((runner.host, runner.port), transport)
    assert client.register("1001", "pw-1001").status_code == 200
    registration = wait_for(lambda: Registration.objects.filter(phone=phone).first())
    response = api_client_for(admin_user).delete(f"/api/v1/registrations/{registration.pk}/")
    assert response.status_code == 204
    if transport == "tcp":
        with pytest.raises(EOFError):
            client.receive(timeout=10)  # FIN: SS_TCP_CLOSE_RESET is Off by default
    result = run_sipp("register_query.xml", runner.address, rows=[auth_row("1001", "pw-1001")])
    assert result.outcome() == "BOUND"
    assert not Registration.objects.exists()
    client.close()


def test_options_from_a_known_source_get_200_and_from_strangers_silence(engine, phone) -> None:
    update_parameter("SS_REPLY_UNAUTHORIZED", False)
    runner = engine()
    options = (
        f"OPTIONS sip:{runner.address} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.9:5555;branch=z9hG4bKopt1\r\n"
        "From: <sip:probe@127.0.0.9>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\nCall-ID: opt-1\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    stranger = SipSocketClient((runner.host, runner.port), "udp", local_ip="127.0.0.9")
    stranger.send_raw(options)
    assert stranger.receive(timeout=1.5) is None
    phone_client = SipSocketClient((runner.host, runner.port), "udp")
    assert phone_client.register("1001", "pw-1001").status_code == 200
    phone_client.send_raw(options.replace(b"opt1", b"opt2").replace(b"opt-1", b"opt-2"))
    answer = phone_client.receive()
    assert answer is not None and answer.status_code == 200
