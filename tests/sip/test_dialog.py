"""Dialogs of a B2BUA leg (RFC 3261 §12) and the requests made in them (§9.1, §13.2.2.4)."""

from __future__ import annotations

import random

import pytest

from softswitch.sip.dialog import (
    AnswerRetransmission,
    Dialog,
    build_cancel,
    incoming_dialog_id,
)
from softswitch.sip.fields import Via
from softswitch.sip.ids import IdGenerator
from softswitch.sip.message import Request, Response, build_response
from softswitch.sip.transaction import SendMessage, TransactionTimeout
from softswitch.sip.uri import SipUri, parse_uri
from tests.sip.samples import INVITE, parse_request, reparse, run_clock
from tests.sip.transactions import make_request

LOCAL_VIA = Via("UDP", "192.0.2.1", 5060, (("rport", None),))
LOCAL_CONTACT = SipUri("192.0.2.1", "switch", port=5060)


def seeded_ids() -> IdGenerator:
    return IdGenerator(random.Random(42).randbytes)


def answered(
    invite: Request, status_code: int = 200, record_route: tuple[str, ...] = ()
) -> Response:
    response = build_response(invite, status_code, to_tag="gw-tag")
    response.headers.add("Contact", "<sip:4930123456@203.0.113.5:5060>")
    for route in record_route:
        response.headers.add("Record-Route", route)
    return response


def uac_dialog(record_route: tuple[str, ...] = ()) -> tuple[Request, Dialog]:
    invite = make_request()
    response = answered(invite, record_route=record_route)
    return invite, Dialog.as_uac(invite, response, local_contact=LOCAL_CONTACT, local_via=LOCAL_VIA)


def test_ids_are_reproducible_with_a_seeded_source() -> None:
    first, second = seeded_ids(), seeded_ids()
    tag = first.tag()
    assert tag == second.tag() and len(tag) == 16
    branch = first.branch()
    assert branch.startswith("z9hG4bK") and branch == second.branch()
    assert first.call_id("switch.example.net").endswith("@switch.example.net")
    assert IdGenerator().tag() != IdGenerator().tag()


def test_uac_dialog_state_from_the_2xx() -> None:
    _, dialog = uac_dialog(record_route=("<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"))
    assert dialog.id == ("tx-call-1", "local1", "gw-tag")
    assert str(dialog.remote_target) == "sip:4930123456@203.0.113.5:5060"
    assert [str(route.uri) for route in dialog.route_set] == [
        "sip:p2.example.net;lr",
        "sip:p1.example.net;lr",
    ]
    assert (dialog.local_cseq, dialog.remote_cseq, dialog.confirmed) == (7, None, True)


def test_bye_in_a_uac_dialog() -> None:
    _, dialog = uac_dialog(record_route=("<sip:p1.example.net;lr>",))
    bye = dialog.create_request("BYE", seeded_ids())
    assert bye.start_line == "BYE sip:4930123456@203.0.113.5:5060 SIP/2.0"
    assert bye.headers.get_all("route") == ["<sip:p1.example.net;lr>"]
    assert bye.from_.tag == "local1" and bye.to.tag == "gw-tag"
    assert (bye.cseq.number, bye.cseq.method) == (8, "BYE")
    assert bye.via.branch is not None and bye.via.branch.startswith("z9hG4bK")
    assert bye.via.wants_rport and bye.headers.get("contact") is None
    assert reparse(bye).validate() is None


def test_reinvite_carries_contact_body_and_next_cseq() -> None:
    _, dialog = uac_dialog()
    ids = seeded_ids()
    first = dialog.create_request("INVITE", ids, body=b"v=0\r\n", content_type="application/sdp")
    update = dialog.create_request("UPDATE", ids)
    assert [first.cseq.number, update.cseq.number] == [8, 9]
    assert first.contact[0].uri == LOCAL_CONTACT
    assert first.content_type is not None and first.content_type.mime == "application/sdp"
    assert b"Content-Length: 5\r\n" in first.to_bytes()
    assert first.via.branch != update.via.branch


def test_ack_for_2xx_reuses_the_invite_cseq_with_a_new_branch() -> None:
    invite, dialog = uac_dialog()
    ack = dialog.create_ack(invite.cseq.number, seeded_ids())
    assert (ack.method, ack.cseq.number, ack.cseq.method) == ("ACK", 7, "ACK")
    assert ack.via.branch != invite.via.branch
    assert dialog.local_cseq == 7


def test_strict_first_hop_puts_the_route_in_the_request_uri() -> None:
    # The UAC route set is the Record-Route of the 2xx reversed: the last entry is the first hop.
    _, loose_first = uac_dialog(
        record_route=("<sip:strict.example.net>", "<sip:loose.example.net;lr>")
    )
    bye = loose_first.create_request("BYE", seeded_ids())
    assert str(bye.uri) == "sip:4930123456@203.0.113.5:5060"
    _, strict_first = uac_dialog(
        record_route=("<sip:loose.example.net;lr>", "<sip:strict.example.net>")
    )
    bye = strict_first.create_request("BYE", seeded_ids())
    assert str(bye.uri) == "sip:strict.example.net"
    assert bye.headers.get_all("route") == [
        "<sip:loose.example.net;lr>",
        "<sip:4930123456@203.0.113.5:5060>",
    ]


def test_uas_dialog_state_from_the_invite() -> None:
    invite = parse_request(INVITE.replace(b"Allow:", b"Record-Route: <sip:edge;lr>\r\nAllow:"))
    dialog = Dialog.as_uas(
        invite, local_tag="uas-tag", local_contact=LOCAL_CONTACT, local_via=LOCAL_VIA
    )
    assert dialog.id == ("a84b4c76e66710@198.51.100.7", "uas-tag", "1928301774")
    assert str(dialog.remote_target) == "sip:+4930999@198.51.100.7:5060"
    assert [str(r.uri) for r in dialog.route_set] == ["sip:edge;lr"]
    bye = dialog.create_request("BYE", seeded_ids())
    assert bye.from_.tag == "uas-tag" and bye.to.tag == "1928301774"
    assert bye.from_.uri == invite.to.uri and bye.cseq.number == 1
    assert bye.headers.get_all("route") == ["<sip:edge;lr>"]


def test_remote_cseq_ordering_and_target_refresh() -> None:
    invite = parse_request(INVITE)
    dialog = Dialog.as_uas(invite, local_tag="t", local_contact=LOCAL_CONTACT, local_via=LOCAL_VIA)
    reinvite = parse_request(
        INVITE.replace(b"314159 INVITE", b"314160 INVITE").replace(
            b"198.51.100.7:5060>", b"198.51.100.8:5062>"
        )
    )
    assert dialog.receive_request(reinvite)
    assert (dialog.remote_cseq, str(dialog.remote_target)) == (
        314160,
        "sip:+4930999@198.51.100.8:5062",
    )
    assert not dialog.receive_request(invite)  # lower CSeq: 500 (§12.2.2)
    ack = parse_request(
        INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"314159 INVITE", b"314159 ACK")
    )
    assert dialog.receive_request(ack) and dialog.remote_cseq == 314160


def test_early_dialog_is_confirmed_by_the_2xx() -> None:
    invite = make_request()
    early = answered(invite, 183, record_route=("<sip:old;lr>",))
    dialog = Dialog.as_uac(invite, early, local_contact=LOCAL_CONTACT, local_via=LOCAL_VIA)
    assert not dialog.confirmed
    final = answered(invite, 200, record_route=("<sip:new;lr>",))
    final.headers.set("Contact", "<sip:moved@203.0.113.6>")
    dialog.receive_response(final)
    assert dialog.confirmed and [str(r.uri) for r in dialog.route_set] == ["sip:new;lr"]
    assert str(dialog.remote_target) == "sip:moved@203.0.113.6"
    dialog.receive_response(answered(invite, 486))
    assert str(dialog.remote_target) == "sip:moved@203.0.113.6"


def test_missing_contact_keeps_a_usable_target() -> None:
    invite = make_request()
    response = build_response(invite, 200, to_tag="x")
    dialog = Dialog.as_uac(invite, response, local_contact=LOCAL_CONTACT, local_via=LOCAL_VIA)
    assert dialog.remote_target == invite.uri


def test_cancel_matches_the_invite_it_cancels() -> None:
    invite = make_request()
    cancel = build_cancel(invite)
    assert cancel.start_line == f"CANCEL {invite.uri} SIP/2.0"
    assert cancel.via.branch == invite.via.branch
    assert cancel.headers.get("to") == invite.headers.get("to")
    assert cancel.headers.get_all("route") == invite.headers.get_all("route")
    assert (cancel.cseq.number, cancel.cseq.method) == (7, "CANCEL")


def test_incoming_dialog_ids() -> None:
    invite, dialog = uac_dialog()
    bye_from_gateway = parse_request(
        b"BYE sip:switch@192.0.2.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKg1\r\n"
        b"From: <sip:4930123456@gw.example.net>;tag=gw-tag\r\n"
        b"To: <sip:4930999@switch.example.net>;tag=local1\r\n"
        b"Call-ID: tx-call-1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
    )
    assert incoming_dialog_id(bye_from_gateway) == dialog.id
    assert incoming_dialog_id(answered(invite)) == dialog.id


def test_2xx_is_retransmitted_until_the_ack() -> None:
    ok = answered(make_request())
    retransmission = AnswerRetransmission(ok, 0.0)
    fired = run_clock(retransmission, 3.0)
    assert [when for when, _ in fired] == [0.5, 1.5]
    assert all(action == SendMessage(ok) for _, action in fired)
    retransmission.on_ack()
    assert retransmission.next_deadline() is None
    assert retransmission.on_timer(10.0) == []


def test_2xx_without_ack_times_out_after_64_t1() -> None:
    retransmission = AnswerRetransmission(answered(make_request()), 0.0)
    fired = run_clock(retransmission, 100.0)
    assert [when for when, _ in fired] == pytest.approx(
        [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5, 32.0]
    )
    assert fired[-1][1] == TransactionTimeout("2xx")
    assert parse_uri(str(LOCAL_CONTACT)) == LOCAL_CONTACT
