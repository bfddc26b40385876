"""INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4) against a fake clock."""

from __future__ import annotations

import pytest

from softswitch.sip.transaction import (
    ClientInviteTransaction,
    DeliverResponse,
    SendMessage,
    TransactionState,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailure,
)
from tests.sip.samples import run_clock
from tests.sip.transactions import make_request, respond


def started(reliable: bool = False) -> ClientInviteTransaction:
    transaction = ClientInviteTransaction(make_request(), reliable=reliable)
    assert transaction.start(0.0) == [SendMessage(transaction.request)]
    assert transaction.state is TransactionState.CALLING
    return transaction


def test_timer_a_doubles_without_cap_until_timer_b() -> None:
    transaction = started()
    fired = run_clock(transaction, 100.0)
    resent = [when for when, action in fired if isinstance(action, SendMessage)]
    assert resent == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert fired[-2:] == [(32.0, TransactionTimeout("B")), (32.0, TransactionTerminated())]
    assert transaction.state is TransactionState.TERMINATED
    assert transaction.next_deadline() is None


def test_reliable_transport_has_no_timer_a() -> None:
    transaction = started(reliable=True)
    assert transaction.next_deadline() == 32.0
    assert run_clock(transaction, 40.0) == [
        (32.0, TransactionTimeout("B")),
        (32.0, TransactionTerminated()),
    ]


def test_custom_t1_scales_the_timers() -> None:
    transaction = ClientInviteTransaction(make_request(), t1=0.1)
    transaction.start(0.0)
    fired = run_clock(transaction, 10.0)
    assert [when for when, _ in fired][:2] == pytest.approx([0.1, 0.3])
    assert fired[-1] == (6.4, TransactionTerminated())


def test_provisional_response_stops_retransmissions() -> None:
    transaction = started()
    ringing = respond(transaction.request, 180)
    assert transaction.receive_response(ringing, 0.2) == [DeliverResponse(ringing)]
    assert transaction.state is TransactionState.PROCEEDING
    assert transaction.next_deadline() is None
    assert transaction.receive_response(ringing, 0.3) == [DeliverResponse(ringing)]


def test_2xx_moves_to_accepted_and_every_2xx_reaches_the_tu() -> None:
    transaction = started()
    ok = respond(transaction.request, 200)
    assert transaction.receive_response(ok, 1.0) == [DeliverResponse(ok)]
    assert transaction.state is TransactionState.ACCEPTED
    assert transaction.receive_response(ok, 2.0) == [DeliverResponse(ok)]
    assert transaction.receive_response(respond(transaction.request, 180), 2.0) == []
    assert run_clock(transaction, 100.0) == [(33.0, TransactionTerminated())]  # Timer M


def test_failure_is_acked_and_timer_d_absorbs_retransmissions() -> None:
    transaction = started()
    busy = respond(transaction.request, 486)
    actions = transaction.receive_response(busy, 1.0)
    assert actions[0] == DeliverResponse(busy)
    ack = actions[1].message  # type: ignore[union-attr]
    assert transaction.state is TransactionState.COMPLETED
    assert transaction.receive_response(busy, 5.0) == [SendMessage(ack)]
    assert run_clock(transaction, 100.0) == [(33.0, TransactionTerminated())]  # Timer D


def test_ack_for_a_failure_follows_section_17_1_1_3() -> None:
    transaction = started()
    invite = transaction.request
    busy = respond(invite, 486)
    ack = transaction.receive_response(busy, 1.0)[1].message  # type: ignore[union-attr]
    assert ack.start_line == f"ACK {invite.uri} SIP/2.0"
    assert ack.headers.get_all("via") == invite.headers.get_all("via")
    assert ack.via.branch == invite.via.branch
    assert ack.headers.get_all("route") == invite.headers.get_all("route")
    assert ack.headers.get("from") == invite.headers.get("from")
    assert ack.to.tag == "remote1"
    assert ack.call_id == invite.call_id
    assert (ack.cseq.number, ack.cseq.method) == (7, "ACK")
    assert ack.validate() is None


def test_reliable_failure_terminates_at_once() -> None:
    transaction = started(reliable=True)
    actions = transaction.receive_response(respond(transaction.request, 503), 1.0)
    assert [type(action) for action in actions] == [
        DeliverResponse,
        SendMessage,
        TransactionTerminated,
    ]


def test_transport_error_ends_the_transaction() -> None:
    transaction = started()
    assert transaction.on_transport_error() == [TransportFailure(), TransactionTerminated()]
    assert transaction.on_transport_error() == []
    assert transaction.receive_response(respond(transaction.request, 200), 1.0) == []


def test_a_late_timer_call_fires_everything_due() -> None:
    transaction = started()
    actions = transaction.on_timer(40.0)
    assert actions == [
        SendMessage(transaction.request),
        TransactionTimeout("B"),
        TransactionTerminated(),
    ]


def test_a_cancelled_invite_without_a_final_response_ends_64_t1_after_the_cancel() -> None:
    """§9.1: the TU CANCELled it; a peer that never sends the final response does not keep
    the transaction (in Proceeding, without any timer) for ever."""
    transaction = started()
    transaction.receive_response(respond(transaction.request, 180), 1.0)
    assert transaction.cancelled(2.0) == []
    transaction.receive_response(respond(transaction.request, 183), 3.0)  # keeps the deadline
    assert run_clock(transaction, 100.0) == [(34.0, TransactionTerminated())]
