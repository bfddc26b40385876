"""The B2BUA's call logic (SPEC §3.3, §4) in memory and in virtual time: admission,
screening, routing and failover, CANCEL races, in-dialog relay, the switch's own hang-ups,
capacity, and the CDR each call leaves (tests/engine/b2bua.py; the wire is test_calls.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.choices import CdrBillingModeChoices as Mode
from billing.choices import CdrEndDirectionChoices as Direction
from billing.choices import CdrEndReasonChoices as Reason
from billing.models import Account, Rate, RateGroup
from blacklist.models import BlacklistGroup, BlacklistNumber, DynamicBlacklistEntry
from softswitch.engine.counters import attempts_key
from softswitch.models import MappingGateway, RoutingGateway
from softswitch.redis_keys import (
    CAPACITY_IN_USE_KEY,
    CONCURRENT_NOW_KEY,
    CONCURRENT_PEAK_KEY,
    GATEWAY_STATUS_KEY,
    NO_ANSWER_RUN_KEY,
)
from softswitch.sip.message import Request, build_response
from softswitch.sip.parser import try_parse_message
from tests.engine.b2bua import load_config, sdp
from vosadmin.core.parameters import update_parameter

CUSTOMER_IP = "198.51.100.2"
STRANGER_IP = "198.51.100.9"
GATEWAY_IP = "203.0.113.5"
_ports = iter(range(5070, 6000))


@pytest.fixture
def customer(db) -> MappingGateway:
    return MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP])


def routing_gateway(name: str, prefixes: list[str], **extra) -> RoutingGateway:
    return RoutingGateway.objects.create(
        name=name, host=GATEWAY_IP, port=next(_ports), prefixes=prefixes, **extra
    )


def peer(switch, gateway: RoutingGateway):
    """The fake routing gateway listening where `gateway` points."""
    return switch.gateway(gateway.host, gateway.port)


def switch_and_vendor(b2bua):
    """A new switch and its one vendor, VENDOR for numbers starting 86: (switch, vendor)."""
    gateway = routing_gateway("VENDOR", ["86"])  # before the switch loads its configuration
    switch = b2bua()
    return switch, peer(switch, gateway)


def offered_call(b2bua, callee: str, **options):
    """A customer's INVITE to `callee` (86…), taken by the one vendor of a new switch:
    (switch, vendor, caller, invite, gateway's INVITE)."""
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite(callee, **options)
    return switch, vendor, caller, invite, vendor.take("INVITE")


def connected_call(switch, vendor, callee: str):
    """A call from the customer answered by `vendor` and ACKed: (caller, invite, gateway's)."""
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite(callee)
    forwarded = vendor.take("INVITE")
    vendor.answer(forwarded, 200)
    caller.ack(invite, caller.take(200))
    assert vendor.take("ACK").call_id == forwarded.call_id
    return caller, invite, forwarded


def ringing_call(switch, vendor, callee: str):
    """A call from the customer that `vendor` answered with 180: (caller, invite, gateway's)."""
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite(callee)
    forwarded = vendor.take("INVITE")
    vendor.answer(forwarded, 180)
    return caller, invite, forwarded


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def test_answered_call_and_its_cdr_field_by_field(b2bua, customer) -> None:
    gateway = routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    vendor = peer(switch, gateway)
    started = switch.clock.now()
    switch.advance(0.3)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000001")
    forwarded = vendor.take("INVITE")
    assert forwarded.uri.user == "8613800000001" and forwarded.call_id != invite.call_id
    switch.advance(0.25)
    vendor.answer(forwarded, 180)
    switch.advance(2)
    vendor.answer(forwarded, 200)
    caller.ack(invite, caller.take(200))
    assert vendor.take("ACK").call_id == forwarded.call_id
    switch.advance(1.5)
    caller.bye(invite.call_id)
    assert caller.take(200).cseq.method == "BYE"
    assert vendor.take("BYE").call_id == forwarded.call_id
    record = switch.cdr("8613800000001")
    assert (record["caller"], record["billing_mode"], record["mapping_gateway"]) == (
        "2125550100",
        str(Mode.MAPPING_GATEWAY),
        "GW-CUSTOMER",
    )
    assert record["phone"] == "" and record["routing_gateway"] == "VENDOR"
    assert record["callee_ip"] == f"{GATEWAY_IP}:{gateway.port}"
    assert record["caller_ip"] == f"{CUSTOMER_IP}:5060" and record["call_id"] == invite.call_id
    assert (record["end_reason"], record["end_direction"]) == ("200", str(Direction.CALLER))
    assert (record["hold_time_ms"], record["fee_time"]) == ("1500", "2")
    assert record["pdd_ms"] == "250"  # INVITE → the first 180
    assert seconds_between(record["connect_time"], record["stop_time"]) == 1.5
    assert datetime.fromisoformat(record["start_time"]).timestamp() == pytest.approx(started + 0.3)
    assert int(record["flow_no"]) > 0


def test_busy_stops_failover(b2bua, customer) -> None:
    first = routing_gateway("FIRST", ["86"], priority=1)
    second = routing_gateway("SECOND", ["86"], priority=2)
    switch = b2bua()
    busy, spare = peer(switch, first), peer(switch, second)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000002")
    busy.answer(busy.take("INVITE"), 486)
    caller.ack(invite, caller.take(486))
    assert spare.inbox == []  # the second gateway never got an INVITE
    record = switch.cdr("8613800000002")
    assert (record["end_reason"], record["end_direction"], record["routing_gateway"]) == (
        "486",
        str(Direction.CALLEE),
        "FIRST",
    )
    assert record["pdd_ms"] == r"\N"  # neither 18x nor 200 came


def test_silent_gateway_fails_over_after_the_mapping_gateway_timeout(b2bua, customer) -> None:
    update_parameter("SS_MAPPING_GATEWAY_TIMEOUT", 2)
    dead = routing_gateway("DEAD", ["86"], priority=1)
    alive = routing_gateway("ALIVE", ["86"], priority=2)
    switch = b2bua()
    silent, answering = peer(switch, dead), peer(switch, alive)
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000003")
    assert silent.take("INVITE") and answering.inbox == []
    switch.advance(1.9)
    assert answering.inbox == []
    switch.advance(0.1)
    answering.answer(answering.take("INVITE"), 200)
    assert caller.take(200)
    assert silent.received("CANCEL") == []  # no CANCEL before a provisional response (§9.1)


@pytest.mark.parametrize(("stop_after_sdp", "outcome"), [(True, 503), (False, 200)])
def test_failure_after_early_media(b2bua, customer, stop_after_sdp, outcome) -> None:
    update_parameter("SS_SIP_STOP_SWITCH_AFTER_SDP", stop_after_sdp)
    early = routing_gateway("EARLY", ["86"], priority=1)
    other = routing_gateway("OTHER", ["86"], priority=2)
    switch = b2bua()
    ringing, fallback = peer(switch, early), peer(switch, other)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000004")
    forwarded = ringing.take("INVITE")
    ringing.answer(forwarded, 183, sdp_body=True)
    assert caller.take(183).body  # the early media's SDP is relayed
    ringing.answer(forwarded, 503)
    if stop_after_sdp:
        caller.ack(invite, caller.take(503))
        assert fallback.inbox == []
        record = switch.cdr("8613800000004")
        assert (record["end_reason"], record["routing_gateway"]) == ("503", "EARLY")
    else:
        fallback.answer(fallback.take("INVITE"), 200)
        caller.ack(invite, caller.take(200))
        caller.bye(invite.call_id)
        record = switch.cdr("8613800000004")
        assert (record["end_reason"], record["routing_gateway"]) == ("200", "OTHER")


def test_switch_limit_caps_the_gateways_tried(b2bua, customer) -> None:
    update_parameter("SS_GATEWAY_SWITCH_LIMIT", 2)
    gateways = [routing_gateway(f"G{i}", ["86"], priority=i) for i in range(3)]
    switch = b2bua()
    peers = [peer(switch, gateway) for gateway in gateways]
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000005")
    peers[0].answer(peers[0].take("INVITE"), 500)
    peers[1].answer(peers[1].take("INVITE"), 502)
    caller.ack(invite, caller.take(502))  # the last failure
    assert peers[2].inbox == []
    record = switch.cdr("8613800000005")
    assert (record["end_reason"], record["routing_gateway"]) == ("502", "G1")


CAUSE = 'Q.850;cause=1;text="Unallocated (unassigned) number"'


def fail_with_cause(gateway, invite: Request) -> None:
    """The gateway refuses the INVITE with 404, its own reason phrase and a Q.850 cause."""
    response = build_response(invite, 404, "Number Gone", to_tag="gw")
    response.headers.add("Reason", CAUSE)
    gateway.send(response)


def test_the_last_failure_keeps_the_gateways_reason(b2bua, customer) -> None:
    """The caller's upstream routes on why a call failed: the last failure reaches it with
    the gateway's reason phrase and Reason header (RFC 3326, the Q.850 cause), not only its
    status; an earlier gateway's failure does not."""
    gateways = [routing_gateway(f"G{i}", ["86"], priority=i) for i in range(2)]
    switch = b2bua()
    first, second = (peer(switch, gateway) for gateway in gateways)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000070")
    first.answer(first.take("INVITE"), 503)
    fail_with_cause(second, second.take("INVITE"))
    answer = caller.take(404)
    caller.ack(invite, answer)
    assert (answer.reason, answer.headers.get_all("reason")) == ("Number Gone", [CAUSE])
    invite = caller.invite("8613800000071")
    fail_with_cause(first, first.take("INVITE"))
    second.answer(second.take("INVITE"), 503)
    answer = caller.take(503)
    caller.ack(invite, answer)
    assert (answer.reason, answer.headers.get_all("reason")) == ("Service Unavailable", [])


def test_longest_prefix_then_priority_with_strip_and_add(b2bua, customer) -> None:
    broad = routing_gateway("BROAD", ["86"], priority=1, strip_digits=2, add_prefix="0086")
    narrow = routing_gateway("NARROW", ["8613"], priority=9)
    switch = b2bua()
    first, second = peer(switch, narrow), peer(switch, broad)
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000006")
    first_invite = first.take("INVITE")
    assert first_invite.uri.user == "8613800000006"
    first.answer(first_invite, 503)
    second_invite = second.take("INVITE")
    assert second_invite.uri.user == "008613800000006"
    second.answer(second_invite, 200)
    assert caller.take(200)


def test_no_route_is_503_with_its_end_reason(b2bua, customer) -> None:
    routing_gateway("CN", ["86"])
    switch = b2bua()
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("4420000000")
    assert caller.take(503)
    assert switch.cdr("4420000000")["end_reason"] == str(Reason.NO_ROUTE)


def test_cancel_while_ringing(b2bua, customer) -> None:
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = ringing_call(switch, vendor, "8613800000007")
    assert caller.take(180)
    caller.cancel(invite)
    assert caller.take(200).cseq.method == "CANCEL"
    caller.ack(invite, caller.take(487))
    cancel = vendor.take("CANCEL")
    assert cancel.call_id == forwarded.call_id and cancel.via.branch == forwarded.via.branch
    record = switch.cdr("8613800000007")
    assert (record["end_reason"], record["end_direction"], record["connect_time"]) == (
        "487",
        str(Direction.CALLER),
        r"\N",
    )


def test_an_invite_unanswered_when_it_expires_is_cancelled(b2bua, customer) -> None:
    """RFC 3261 §13.3.1: an INVITE's Expires bounds how long the caller waits for an answer,
    whichever gateways are tried meanwhile; unanswered by then, the caller gets 487 and the
    gateway ringing then a CANCEL, as if the caller had hung up."""
    first = routing_gateway("FIRST", ["86"], priority=1)
    second = routing_gateway("SECOND", ["86"], priority=2)
    switch = b2bua()
    failing, ringing = peer(switch, first), peer(switch, second)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000023", headers=(("Expires", "20"),))
    failed = failing.take("INVITE")
    failing.answer(failed, 180)
    switch.advance(12)
    failing.answer(failed, 503)
    assert failing.take("ACK")
    forwarded = ringing.take("INVITE")
    ringing.answer(forwarded, 180)
    switch.advance(7.9)
    assert caller.received(487) == [] and ringing.received("CANCEL") == []
    switch.advance(0.1)
    caller.ack(invite, caller.take(487))
    assert ringing.take("CANCEL").via.branch == forwarded.via.branch
    assert failing.received("CANCEL") == []
    record = switch.cdr("8613800000023")
    assert (record["end_reason"], record["end_direction"], record["routing_gateway"]) == (
        "487",
        str(Direction.CALLER),
        "SECOND",
    )
    assert record["connect_time"] == r"\N"


def test_an_invite_answered_before_it_expires_is_not_ended_by_its_expiry(b2bua, customer) -> None:
    switch, vendor, caller, invite, forwarded = offered_call(
        b2bua, "8613800000024", headers=(("Expires", "20"),)
    )
    vendor.answer(forwarded, 180)
    switch.advance(10)
    vendor.answer(forwarded, 200)
    caller.ack(invite, caller.take(200))
    switch.advance(60)
    assert caller.received("BYE") == [] and vendor.received("BYE") == []
    assert vendor.received("CANCEL") == [] and caller.received(487) == []
    caller.bye(invite.call_id)
    vendor.answer(vendor.take("BYE"), 200)
    assert caller.take(200).cseq.method == "BYE"
    assert switch.cdr("8613800000024")["end_reason"] == "200"


def test_cancel_before_the_gateway_said_anything_is_sent_once_it_does(b2bua, customer) -> None:
    """RFC 3261 §9.1: no CANCEL before a provisional response; it follows the first one."""
    _, vendor, caller, invite, forwarded = offered_call(b2bua, "8613800000021")
    caller.cancel(invite)
    caller.ack(invite, caller.take(487))
    assert vendor.received("CANCEL") == []
    vendor.answer(forwarded, 180)
    assert vendor.take("CANCEL").call_id == forwarded.call_id


def test_a_2xx_that_crosses_the_cancel_is_acked_and_hung_up(b2bua, customer) -> None:
    gateway = routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    vendor = peer(switch, gateway)
    caller, invite, forwarded = ringing_call(switch, vendor, "8613800000022")
    caller.cancel(invite)
    assert caller.take(200).cseq.method == "CANCEL"
    caller.ack(invite, caller.take(487))
    vendor.answer(forwarded, 200)  # the gateway answered before the CANCEL reached it
    assert vendor.take("ACK").call_id == forwarded.call_id
    assert vendor.take("BYE").call_id == forwarded.call_id
    assert caller.received("BYE") == [] and caller.received(200) == []  # never connected
    assert switch.cdr("8613800000022")["end_reason"] == "487"


def test_a_finished_call_is_let_go_when_it_ends(b2bua, customer) -> None:
    """Its transactions wait out their 32 s (RFC 6026), but the call — its record, plan,
    dialogs and the caller's parsed INVITE — is freed by reference counting as it ends, not
    kept with them for the cyclic collector to scan (ADR 0009); a late 2xx needs its legs."""
    gateway = routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    vendor = peer(switch, gateway)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000031")
    [call] = switch.switch.calls.calls
    call_freed, record_freed = weakref.ref(call), weakref.ref(call.record)
    del call
    gc.disable()  # only reference counting may free it
    try:
        vendor.bye(forwarded.call_id)
        assert caller.take("BYE").call_id == invite.call_id
        assert call_freed() is None and record_freed() is None
    finally:
        gc.enable()
    vendor.answer(forwarded, 200)  # the gateway's 2xx again: the leg still answers it
    assert vendor.take("ACK").call_id == forwarded.call_id


def test_callee_hangs_up(b2bua, customer) -> None:
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000008")
    switch.advance(0.8)
    vendor.bye(forwarded.call_id)
    assert vendor.take(200).cseq.method == "BYE"
    assert caller.take("BYE").call_id == invite.call_id
    record = switch.cdr("8613800000008")
    assert (record["end_reason"], record["end_direction"]) == ("200", str(Direction.CALLEE))
    assert record["hold_time_ms"] == "800"


@pytest.mark.parametrize(
    ("record_illegal", "reply", "answered", "recorded"),
    [
        (1, True, True, True),
        (1, False, False, True),
        (0, True, True, False),
        (0, False, False, False),
    ],
)
def test_illegal_invite(b2bua, customer, record_illegal, reply, answered, recorded) -> None:
    update_parameter("SERVER_BILLING_RECORD_ILLEGAL_CALL", record_illegal)
    update_parameter("SS_REPLY_UNAUTHORIZED", reply)
    routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    stranger = switch.caller(STRANGER_IP)
    stranger.invite("008613800000009")
    assert stranger.summary() == (["403 (INVITE)"] if answered else [])
    records = switch.cdrs()
    assert len(records) == int(recorded)
    if recorded:
        assert (records[0]["billing_mode"], records[0]["end_reason"]) == (
            str(Mode.ILLEGAL_CALL),
            str(Reason.ILLEGAL_SOURCE),
        )
        assert records[0]["caller_ip"] == f"{STRANGER_IP}:5060"
        assert records[0]["hold_time_ms"] == "0"


@pytest.mark.parametrize("zero_hold", [0, 1])
def test_zero_hold_time_records(b2bua, customer, zero_hold) -> None:
    update_parameter("SERVER_BILLING_RECORD_ZERO_HOLD_TIME", zero_hold)
    busy = routing_gateway("BUSY", ["861"])
    fine = routing_gateway("FINE", ["862"])
    switch = b2bua()
    refusing, answering = peer(switch, busy), peer(switch, fine)
    caller = switch.caller(CUSTOMER_IP)
    failed = caller.invite("8610000000")
    refusing.answer(refusing.take("INVITE"), 486)
    caller.ack(failed, caller.take(486))
    _, answered, _ = connected_call(switch, answering, "8620000000")
    caller.bye(answered.call_id)
    callees = [record["callee"] for record in switch.cdrs()]
    assert "8620000000" in callees  # answered calls always get one
    assert ("8610000000" in callees) == bool(zero_hold)


def test_static_blacklists_name_the_list(b2bua, customer) -> None:
    own = BlacklistGroup.objects.create(name="customer callers")
    BlacklistNumber.objects.create(group=own, number="2125550199", match="exact")
    customer.caller_blacklist_groups.add(own)
    everyone = BlacklistGroup.objects.create(name="premium", applies_to_all=True)
    BlacklistNumber.objects.create(group=everyone, number="8690", match="prefix")
    routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000010", caller="2125550199")
    caller.invite("8690123", caller="2125550100")
    assert len(caller.received(403)) == 2
    assert switch.cdr("8613800000010")["end_reason"] == str(Reason.CALLER_STATIC_BLACKLIST)
    assert switch.cdr("8690123")["end_reason"] == str(Reason.CALLEE_STATIC_BLACKLIST)


def test_dynamic_entry_blocks_until_its_expiry_to_the_second(b2bua, customer) -> None:
    gateway = routing_gateway("VENDOR", ["86"])
    now = timezone.now()
    DynamicBlacklistEntry.objects.create(
        number="2125550177",
        type="malicious_caller",
        effective_at=now,
        expires_at=now + timedelta(seconds=4),
        observed=50,
        limit=30,
        window_seconds=600,
    )
    switch = b2bua()
    vendor = peer(switch, gateway)
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000011", caller="2125550177")
    assert caller.take(403)
    reason = switch.cdr("8613800000011")["end_reason"]
    assert reason == str(Reason.CALLER_DYNAMIC_BLACKLIST_MALICIOUS)
    expiry = (now + timedelta(seconds=4)).timestamp()
    switch.advance(expiry - switch.clock.now() - 0.1)
    caller.invite("8613800000012", caller="2125550177")
    assert caller.take(403) and vendor.inbox == []
    switch.advance(0.2)
    caller.invite("8613800000013", caller="2125550177")  # no beat ran: the expiry alone
    assert vendor.take("INVITE")


def test_full_mapping_gateway_gets_503(b2bua, customer) -> None:
    customer.capacity = 1
    customer.save()
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, _ = connected_call(switch, vendor, "8613800000013")
    second = caller.invite("8613800000014")
    caller.ack(second, caller.take(503))
    assert vendor.inbox == []
    assert switch.cdr("8613800000014")["end_reason"] == str(Reason.ORIGIN_CAPACITY)
    caller.bye(invite.call_id)
    third = caller.invite("8613800000015")  # the line is free again
    assert vendor.take("INVITE") and third


def test_lines_of_large_limits_are_leased_in_chunks_and_go_back(
    b2bua, customer, redis_client
) -> None:
    customer.capacity = 1000
    customer.save()
    gateway = routing_gateway("VENDOR", ["86"], capacity=1000)
    switch = b2bua()
    vendor = peer(switch, gateway)
    lines = {f"mapping_gateway:{customer.id}": "9", f"routing_gateway:{gateway.id}": "9"}
    caller, invite, _ = connected_call(switch, vendor, "8613800000016")
    assert redis_client.hgetall(CAPACITY_IN_USE_KEY) == lines  # the call's and 8 more
    second = connected_call(switch, vendor, "8613800000017")
    assert redis_client.hgetall(CAPACITY_IN_USE_KEY) == lines  # from the pools
    for ended in ((caller, invite), second[:2]):
        ended[0].bye(ended[1].call_id)
    assert switch.cdr("8613800000017")["end_reason"] == "200"
    switch.advance(2.0)  # the pools go back a second or two after their lease
    switch.run(asyncio.sleep(0.05))
    assert redis_client.hgetall(CAPACITY_IN_USE_KEY) == {}


def test_counters_in_redis_match_the_calls(b2bua, customer, redis_client) -> None:
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    for _ in range(3):
        invite = caller.invite("8613800000015", caller="2125550155")
        vendor.answer(vendor.take("INVITE"), 480)
        caller.ack(invite, caller.take(480))
        assert switch.run(switch.switch.counters.flush())  # as every 0.1 s in the engine
    now = switch.clock.now()
    assert redis_client.zscore(attempts_key("caller", 600, now), "2125550155") == 3
    assert redis_client.zscore(attempts_key("callee", 600, now), "8613800000015") == 3
    assert redis_client.zscore(NO_ANSWER_RUN_KEY, "8613800000015") == 3
    assert redis_client.zscore(CONCURRENT_PEAK_KEY, "2125550155") == 1
    assert redis_client.zscore(CONCURRENT_NOW_KEY, "2125550155") is None


def test_hold_with_a_reinvite_is_relayed_with_sdp_unchanged(b2bua, customer) -> None:
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000016")
    hold = caller.reinvite(invite.call_id, "sendonly")
    relayed = vendor.take("INVITE")
    assert relayed.call_id == forwarded.call_id and relayed.body == hold.body
    vendor.answer(relayed, 200)
    answer = caller.take(200)
    assert answer.cseq.method == "INVITE" and b"a=sendrecv" in answer.body
    caller.ack(hold, answer)
    assert vendor.take("ACK").cseq.number == relayed.cseq.number
    caller.bye(invite.call_id)
    assert switch.cdr("8613800000016")["end_reason"] == "200"


def test_max_duration_is_ended_by_the_switch(b2bua, customer) -> None:
    update_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 60)  # the smallest allowed
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000018")
    switch.advance(59.7)
    assert caller.received("BYE") == [] and vendor.received("BYE") == []
    switch.advance(0.05)  # a quarter of a second early: a late timer still bills 60 s
    assert caller.take("BYE").call_id == invite.call_id  # both sides get the switch's BYE
    assert vendor.take("BYE").call_id == forwarded.call_id
    record = switch.cdr("8613800000018")
    assert (record["end_reason"], record["end_direction"]) == (
        str(Reason.MAX_DURATION),
        str(Direction.SERVER),
    )
    assert (record["hold_time_ms"], record["fee_time"]) == ("59750", "60")


@pytest.fixture
def rated_customer(db) -> Account:
    """The customer's gateway, with account ACME (10.00) paying 0.06 a minute for 86."""
    group = RateGroup.objects.create(name="retail")
    Rate.objects.create(rate_group=group, prefix="86", period=60, fee=Decimal("0.06"))
    account = Account.objects.create(account="ACME", balance=Decimal(10), rate_group=group)
    MappingGateway.objects.create(name="GW-CUSTOMER", ips=[CUSTOMER_IP], account=account)
    return account


def test_an_answered_call_the_switch_hangs_up_is_charged_whatever_the_parameter(
    b2bua, rated_customer
) -> None:
    """SERVER_BILLING_RECORD_SERVER_HANG_UP = 0 drops the CDRs of calls the switch ends before
    an answer only: an answered call's CDR is what charges it (SPEC §4.3, §8.2)."""
    update_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 60)
    update_parameter("SERVER_BILLING_RECORD_SERVER_HANG_UP", 0)
    gateway = routing_gateway("VENDOR", ["86"])
    switch = b2bua()
    connected_call(switch, peer(switch, gateway), "8613800000024")
    switch.advance(60)
    record = switch.cdr("8613800000024")
    assert (record["end_reason"], record["account_id"]) == (
        str(Reason.MAX_DURATION),
        str(rated_customer.pk),
    )
    assert (record["fee_time"], record["fee"]) == ("60", "0.06")


def test_a_ringing_call_the_switch_ends_has_no_cdr_without_zero_hold_time_cdrs(
    b2bua, customer
) -> None:
    """SERVER_BILLING_RECORD_ZERO_HOLD_TIME = 0 (the DDoS switch) drops every unanswered
    call's CDR, those the switch ends too (here an operator's disconnect while it rings)."""
    update_parameter("SERVER_BILLING_RECORD_ZERO_HOLD_TIME", 0)
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000031")
    vendor.answer(vendor.take("INVITE"), 180)
    switch.step(lambda: switch.switch.calls.disconnect(invite.call_id))
    assert caller.take(503) and switch.cdrs() == []


def test_a_longer_max_duration_set_while_a_call_rings_keeps_it_within_its_reservation(
    b2bua, rated_customer
) -> None:
    """The reservation pays for the maximum duration as it was at admission: raising it
    before the answer must not let the call run, and be charged, past that."""
    update_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 60)
    switch, vendor, caller, invite, forwarded = offered_call(b2bua, "8613800000033")
    (call,) = switch.switch.calls.calls
    assert call.reservation.amount == Decimal("0.06")
    update_parameter("SS_SIP_NO_TIMER_REINVITE_INTERVAL", 7200)
    switch.switch.cache.config = load_config()  # as the NOTIFY would
    vendor.answer(forwarded, 200)
    caller.ack(invite, caller.take(200))
    switch.advance(300)
    record = switch.cdr("8613800000033")
    assert (record["end_reason"], record["fee_time"]) == (str(Reason.MAX_DURATION), "60")
    assert Decimal(record["fee"]) == Decimal("0.06")


def test_a_caller_that_never_acks_the_answer_is_hung_up(b2bua, customer) -> None:
    """RFC 3261 §13.3.1.4: the 200 is retransmitted for 64 × T1, then the call is hung up.
    §13.2.2.4: the switch, UAC of the gateway's INVITE, ACKs its 2xx whatever happens to the
    caller, so a call hung up before the caller's ACK came sends the gateway the ACK first."""
    switch, vendor, caller, _, forwarded = offered_call(b2bua, "8613800000023")
    vendor.answer(forwarded, 200)
    switch.advance(32)
    assert len(caller.received(200)) > 5
    assert vendor.summary()[:2] == ["ACK", "BYE"]
    ack = vendor.take("ACK")
    assert (ack.cseq.number, ack.to.tag) == (forwarded.cseq.number, "gw")
    assert vendor.take("BYE").call_id == forwarded.call_id
    assert switch.cdr("8613800000023")["end_reason"] == str(Reason.NO_ACK)


def test_max_forwards_zero_is_a_loop(b2bua, customer) -> None:
    switch = b2bua()
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000019", max_forwards=0)
    assert caller.take(483)
    assert switch.cdr("8613800000019")["end_reason"] == "483"


def test_gateway_silent_to_options_is_skipped_until_it_answers(
    b2bua, customer, redis_client
) -> None:
    update_parameter("SS_SIP_OPTIONS_CHECK_PERIOD", 10)
    dead = routing_gateway("PROBED-DEAD", ["86"], priority=1, options_check=True)
    alive = routing_gateway("PROBED-ALIVE", ["86"], priority=2, options_check=True)
    switch = b2bua()
    silent, answering = peer(switch, dead), peer(switch, alive)
    for _ in range(11):  # a probe each, and the next one 10 s later finds the first unanswered
        switch.housekeeping()
        answering.answer_probes()
        switch.advance(1)
    assert silent.received("OPTIONS") and not answering.received("OPTIONS")
    assert redis_client.hget(GATEWAY_STATUS_KEY, str(dead.pk)) == "offline"
    assert redis_client.hget(GATEWAY_STATUS_KEY, str(alive.pk)) != "offline"
    silent.inbox.clear()
    caller = switch.caller(CUSTOMER_IP)
    caller.invite("8613800000020")
    assert silent.received("INVITE") == []  # straight to the live gateway
    answering.answer(answering.take("INVITE"), 200)
    assert caller.take(200)


def assert_nothing_left(switch, redis_client) -> None:
    """Once the transactions' 32 s and the line pools' lease have run out, no call,
    dialog, transaction or line is left."""
    switch.advance(40)
    switch.run(asyncio.sleep(0.05))
    manager, layer = switch.switch.calls, switch.switch.layer
    assert not manager.calls and not manager.by_invite and not manager.by_dialog
    assert not layer.servers and not layer.clients
    assert redis_client.hgetall(CAPACITY_IN_USE_KEY) == {}


def test_a_gateway_that_rings_and_never_answers_is_given_up_on(
    b2bua, customer, redis_client
) -> None:
    """RFC 3261 §16.6 step 11 (Timer C): once the gateway responded, SS_MAPPING_GATEWAY_TIMEOUT
    is over, but a gateway that then never sends a final response must not hold the caller
    and the lines for ever: after more than 3 minutes without a response it is CANCELled,
    and the call fails (over) as on a 408."""
    switch, vendor, caller, invite, forwarded = offered_call(b2bua, "8613800000041")
    vendor.answer(forwarded, 100)
    switch.advance(120)
    vendor.answer(forwarded, 180)  # a provisional response starts Timer C again
    assert caller.take(180)
    switch.advance(180)
    assert caller.received(408) == [] and vendor.received("CANCEL") == []
    switch.advance(1)
    cancel = vendor.take("CANCEL")
    assert cancel.via.branch == forwarded.via.branch
    vendor.answer(cancel, 200)
    vendor.answer(forwarded, 487)
    caller.ack(invite, caller.take(408))
    record = switch.cdr("8613800000041")
    assert (record["end_reason"], record["end_direction"], record["connect_time"]) == (
        str(Reason.GATEWAY_TIMEOUT),
        str(Direction.SERVER),
        r"\N",
    )
    assert_nothing_left(switch, redis_client)


def test_a_second_2xx_of_another_dialog_is_acked_and_hung_up(b2bua, customer) -> None:
    """RFC 3261 §13.2.2.4: a 2xx to the INVITE from a second dialog (forked behind the
    gateway: another To tag) is ACKed and ended with a BYE; the call goes on on the first."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000042")
    vendor.answer(forwarded, 200, tag="fork")
    ack, bye = vendor.take("ACK"), vendor.take("BYE")
    assert (ack.to.tag, bye.to.tag) == ("fork", "fork")
    assert ack.cseq.number == forwarded.cseq.number
    assert caller.received("BYE") == [] and caller.received(200) == []
    vendor.answer(forwarded, 200)  # the first dialog's 2xx again: ACKed again, on its dialog
    assert vendor.take("ACK").to.tag == "gw" and vendor.received("BYE") == []
    caller.bye(invite.call_id)
    assert vendor.take("BYE").to.tag == "gw"
    assert switch.cdr("8613800000042")["end_reason"] == "200"


def test_an_invite_requiring_an_unsupported_extension_gets_420(b2bua, customer) -> None:
    """RFC 3261 §8.2.2.3 (and RFC 3262 §3 for 100rel): an option tag in Require the switch does
    not support is refused with 420 naming it in Unsupported, before any gateway is tried;
    Supported only offers it, and the call proceeds."""
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000043", headers=(("Require", "100rel"),))
    refusal = caller.take(420)
    assert refusal.headers.get("unsupported") == "100rel"
    caller.ack(invite, refusal)
    assert vendor.inbox == []
    assert switch.cdr("8613800000043")["end_reason"] == "420"
    caller.invite("8613800000044", headers=(("Supported", "100rel, timer"),))
    assert vendor.take("INVITE")


def test_the_callers_record_route_is_copied_into_the_dialog_responses(b2bua, customer) -> None:
    """RFC 3261 §12.1.1: a response that makes a dialog (18x with a To tag, 2xx) carries the
    INVITE's Record-Route values in order, so that the proxy in front of the switch stays on
    the caller's in-dialog path."""
    routes = ("<sip:edge1.example.net;lr>", "<sip:edge2.example.net;lr;ftag=x>")
    _, vendor, caller, _, forwarded = offered_call(
        b2bua, "8613800000045", headers=tuple(("Record-Route", route) for route in routes)
    )
    assert forwarded.headers.get_all("record-route") == []  # a new dialog towards the gateway
    vendor.answer(forwarded, 180)
    vendor.answer(forwarded, 200)
    for status in (180, 200):
        assert tuple(caller.take(status).headers.get_all("record-route")) == routes


def test_a_cancel_crossing_the_final_response_gets_200(b2bua, customer) -> None:
    """RFC 3261 §9.2: a CANCEL that matches an INVITE transaction still there is answered 200
    even when the final response was sent already (it has no effect); 481 is for a CANCEL
    that matches no transaction."""
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    invite = caller.invite("8613800000047")
    vendor.answer(vendor.take("INVITE"), 486)
    busy = caller.take(486)
    caller.cancel(invite)  # sent before the 486 reached the caller
    answer = caller.take(200)
    assert answer.cseq.method == "CANCEL" and answer.to.tag == busy.to.tag
    assert caller.received(487) == []
    assert switch.cdr("8613800000047")["end_reason"] == "486"


def test_no_cancel_follows_a_final_response(b2bua, customer) -> None:
    """RFC 3261 §9.1: a CANCEL waiting for the gateway's first response is not sent when that
    response is final: a failure is only ACKed (by its transaction), a 2xx ACKed and BYEd."""
    switch, vendor = switch_and_vendor(b2bua)
    caller = switch.caller(CUSTOMER_IP)
    for callee, status in (("8613800000048", 486), ("8613800000049", 200)):
        invite = caller.invite(callee)
        forwarded = vendor.take("INVITE")
        caller.cancel(invite)
        caller.ack(invite, caller.take(487))
        vendor.answer(forwarded, status)
        assert vendor.take("ACK").call_id == forwarded.call_id
        assert vendor.received("CANCEL") == []
        assert len(vendor.received("BYE")) == (status == 200)
        vendor.inbox.clear()


def test_a_cancelled_invite_the_gateway_never_ends_is_dropped_after_64_t1(
    b2bua, customer, redis_client
) -> None:
    """RFC 3261 §9.1: a gateway that answers the CANCEL but never sends its INVITE's final
    response (no 487) does not keep the INVITE's client transaction for ever: it is destroyed
    64 × T1 after the CANCEL."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = ringing_call(switch, vendor, "8613800000050")
    caller.cancel(invite)
    caller.ack(invite, caller.take(487))
    vendor.answer(vendor.take("CANCEL"), 200)
    vendor.answer(forwarded, 183)  # still ringing, never a final response
    assert_nothing_left(switch, redis_client)


def test_an_ack_of_an_earlier_2xx_does_not_ack_the_reinvites_answer(b2bua, customer) -> None:
    """RFC 3261 §13.3.1.4, §17.2.3: the ACK of a 2xx is the one with its CSeq. A late ACK of
    the first answer (a retransmission) must neither stop retransmitting the re-INVITE's 2xx
    to the caller nor ACK the gateway's 2xx to it in the caller's name."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, _ = connected_call(switch, vendor, "8613800000051")
    hold = caller.reinvite(invite.call_id, "sendonly")
    relayed = vendor.take("INVITE")
    vendor.answer(relayed, 200)
    answer = caller.take(200)
    dialog = caller.dialogs[invite.call_id]
    caller.send(dialog.create_ack(invite.cseq.number, caller.ids))  # the first 200's, again
    assert vendor.received("ACK") == []
    switch.advance(0.5)
    assert caller.take(200).cseq.number == hold.cseq.number  # still retransmitted
    caller.send(dialog.create_ack(hold.cseq.number, caller.ids))
    assert vendor.take("ACK").cseq.number == relayed.cseq.number
    assert answer.cseq.number == hold.cseq.number


def test_overlapping_reinvites_get_491_or_500(b2bua, customer) -> None:
    """RFC 3261 §14.2: a re-INVITE on a dialog where the switch's own (relayed) INVITE is in
    progress gets 491 (glare); a second re-INVITE of the side whose first one is not answered
    yet gets 500 with Retry-After. Neither is relayed; the first goes on."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, forwarded = connected_call(switch, vendor, "8613800000052")
    hold = caller.reinvite(invite.call_id, "sendonly")
    relayed = vendor.take("INVITE")
    vendor_dialog = vendor.dialogs[forwarded.call_id]
    body = sdp(GATEWAY_IP, "sendonly")
    glare = vendor_dialog.create_request(
        "INVITE", vendor.ids, body=body, content_type="application/sdp"
    )
    vendor.send(glare)
    assert vendor.take(491).cseq.number == glare.cseq.number
    second = caller.reinvite(invite.call_id, "inactive")
    refused = caller.take(500)
    assert refused.cseq.number == second.cseq.number and refused.headers.get("retry-after")
    assert caller.received("INVITE") == [] and vendor.received("INVITE") == []
    vendor.answer(relayed, 200)
    answer = caller.take(200)
    assert answer.cseq.number == hold.cseq.number
    caller.ack(hold, answer)
    assert vendor.take("ACK").cseq.number == relayed.cseq.number
    vendor.send(
        vendor_dialog.create_request(
            "INVITE", vendor.ids, body=body, content_type="application/sdp"
        )
    )
    assert caller.take("INVITE")  # once the first is over, a re-INVITE is relayed again


def test_in_dialog_requests_are_relayed_with_the_headers_their_method_needs(
    b2bua, customer
) -> None:
    """A relayed NOTIFY keeps Event and Subscription-State (RFC 6665 §8.2.1, §4.1.3), a REFER
    its Refer-To (RFC 3515 §2.4.1), an INFO its Info-Package (RFC 6086): without them the
    other side gets a malformed request."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, _ = connected_call(switch, vendor, "8613800000053")
    dialog = caller.dialogs[invite.call_id]
    sent = {
        "REFER": [("Refer-To", "<sip:2125550111@198.51.100.2>")],
        "NOTIFY": [("Event", "refer;id=7"), ("Subscription-State", "terminated;reason=noresource")],
        "INFO": [("Info-Package", "foo")],
    }
    for method, headers in sent.items():
        request = dialog.create_request(method, caller.ids)
        for name, value in headers:
            request.headers.add(name, value)
        caller.send(request)
        relayed = vendor.take(method)
        assert [(name, relayed.headers.get(name)) for name, _ in headers] == headers


def test_a_relayed_reinvite_the_other_side_never_ends_is_given_up_on(
    b2bua, customer, redis_client
) -> None:
    """A re-INVITE the gateway took (100 Trying) but never answers does not hang for ever (nor
    its transaction, nor the dialog's next re-INVITEs): Timer C CANCELs it and the caller
    gets 408. One still pending when the call ends is CANCELled with the BYE."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, _ = connected_call(switch, vendor, "8613800000054")
    hold = caller.reinvite(invite.call_id, "sendonly")
    relayed = vendor.take("INVITE")
    vendor.answer(relayed, 100)
    switch.advance(181)
    assert vendor.take("CANCEL").cseq.number == relayed.cseq.number
    caller.ack(hold, caller.take(408))
    resume = caller.reinvite(invite.call_id, "sendrecv")
    relayed = vendor.take("INVITE")
    vendor.answer(relayed, 200)
    caller.ack(resume, caller.take(200))
    assert vendor.take("ACK").cseq.number == relayed.cseq.number
    caller.reinvite(invite.call_id, "sendonly")
    pending = vendor.take("INVITE")
    vendor.answer(pending, 100)
    caller.bye(invite.call_id)
    assert vendor.take("CANCEL").cseq.number == pending.cseq.number
    assert vendor.take("BYE")
    assert_nothing_left(switch, redis_client)


def test_a_cancelled_reinvite_is_cancelled_on_the_other_side(b2bua, customer) -> None:
    """RFC 3261 §9.2: the CANCEL of a re-INVITE in progress is answered 200, the re-INVITE 487
    at once, and the re-INVITE relayed to the other side is CANCELled (not the call)."""
    switch, vendor = switch_and_vendor(b2bua)
    caller, invite, _ = connected_call(switch, vendor, "8613800000055")
    hold = caller.reinvite(invite.call_id, "sendonly")
    relayed = vendor.take("INVITE")
    vendor.answer(relayed, 100)
    caller.cancel(hold)
    assert caller.take(200).cseq.method == "CANCEL"
    caller.ack(hold, caller.take(487))
    cancel = vendor.take("CANCEL")
    assert (cancel.cseq.number, cancel.via.branch) == (relayed.cseq.number, relayed.via.branch)
    vendor.answer(cancel, 200)
    vendor.answer(relayed, 487)
    [ack] = vendor.received("ACK")  # hop by hop, by the transaction
    assert ack.cseq.number == relayed.cseq.number and ack.via.branch == relayed.via.branch
    vendor.inbox.remove(ack)
    assert vendor.received("BYE") == [] and caller.received("BYE") == []
    caller.reinvite(invite.call_id, "sendonly")
    assert vendor.take("INVITE")  # the call goes on


def test_a_merged_invite_gets_482_and_is_not_a_second_call(b2bua, customer) -> None:
    """RFC 3261 §8.2.2.2: the same INVITE (Call-ID, From tag, CSeq) on another branch, forked
    upstream and merged here (or a caller that changes the branch of a retransmission), is
    refused with 482 Loop Detected, not routed, and billed, as a second call."""
    switch, vendor, caller, invite, forwarded = offered_call(b2bua, "8613800000056")
    merged = try_parse_message(invite.to_bytes())
    merged.replace_top_via(merged.via.with_param("branch", "z9hG4bK-merged-branch"))
    caller.send(merged)
    assert caller.take(482).via.branch == "z9hG4bK-merged-branch"
    assert vendor.received("INVITE") == [] and len(switch.switch.calls.calls) == 1
    vendor.answer(forwarded, 200)
    caller.ack(invite, caller.take(200))
    caller.bye(invite.call_id)
    assert [record["end_reason"] for record in switch.cdrs()] == ["200"]
