"""INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §8.5-8.7) against a fake clock."""

from __future__ import annotations

from softswitch.sip.message import Message, Request, Response
from softswitch.sip.transaction import (
    SendMessage,
    ServerInviteTransaction,
    TransactionState,
    TransactionTerminated,
    TransactionTimeout,
)
from tests.sip.samples import attribute_values, run_clock
from tests.sip.transactions import make_request, respond


def received(reliable: bool = False) -> ServerInviteTransaction:
    transaction = ServerInviteTransaction(make_request(), reliable=reliable)
    [action] = transaction.start(0.0)
    assert isinstance(action, SendMessage)
    trying = action.message
    assert isinstance(trying, Response) and trying.status_code == 100
    assert trying.to.tag is None
    assert transaction.state is TransactionState.PROCEEDING
    return transaction


def ack_for(transaction: ServerInviteTransaction, response: Response) -> Request:
    ack = make_request("ACK")
    ack.headers.set("To", response.headers.get("to") or "")
    return ack


def test_start_can_leave_the_100_to_the_tu() -> None:
    transaction = ServerInviteTransaction(make_request())
    assert transaction.start(0.0, send_trying=False) == []


def test_retransmitted_invite_gets_the_last_provisional_again() -> None:
    transaction = received()
    ringing = respond(make_request(), 180)
    assert transaction.send_response(ringing, 0.1) == [SendMessage(ringing)]
    assert transaction.receive_request(make_request(), 0.5) == [SendMessage(ringing)]
    assert transaction.next_deadline() is None


def test_timer_g_retransmits_the_final_until_timer_h() -> None:
    transaction = received()
    busy = respond(make_request(), 486)
    assert transaction.send_response(busy, 0.0) == [SendMessage(busy)]
    assert transaction.state is TransactionState.COMPLETED
    fired = run_clock(transaction, 100.0)
    resent = [when for when, action in fired if action == SendMessage(busy)]
    assert resent == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-2:] == [(32.0, TransactionTimeout("H")), (32.0, TransactionTerminated())]


def test_ack_confirms_and_timer_i_absorbs_acks() -> None:
    transaction = received()
    busy = respond(make_request(), 486)
    transaction.send_response(busy, 0.0)
    assert transaction.receive_request(make_request(), 0.2) == [SendMessage(busy)]
    ack = ack_for(transaction, busy)
    assert transaction.receive_request(ack, 0.7) == []
    assert transaction.state is TransactionState.CONFIRMED
    assert transaction.receive_request(ack, 1.0) == []
    assert run_clock(transaction, 100.0) == [(5.7, TransactionTerminated())]  # Timer I = T4


def test_reliable_no_timer_g_and_i_is_zero() -> None:
    transaction = received(reliable=True)
    busy = respond(make_request(), 603)
    transaction.send_response(busy, 0.0)
    assert transaction.next_deadline() == 32.0  # Timer H only
    ack = ack_for(transaction, busy)
    assert transaction.receive_request(ack, 1.0) == [TransactionTerminated()]


def test_2xx_moves_to_accepted_which_absorbs_invite_retransmissions() -> None:
    transaction = received()
    ok = respond(make_request(), 200)
    assert transaction.send_response(ok, 1.0) == [SendMessage(ok)]
    assert transaction.state is TransactionState.ACCEPTED
    assert transaction.receive_request(make_request(), 1.5) == []
    assert transaction.send_response(ok, 1.5) == [SendMessage(ok)]  # the TU's retransmission
    assert transaction.send_response(respond(make_request(), 486), 1.6) == []
    assert run_clock(transaction, 100.0) == [(33.0, TransactionTerminated())]  # Timer L


def test_an_accepted_transaction_holds_neither_the_invite_nor_the_2xx() -> None:
    """It waits 32 s (Timer L) for every answered call: what it held would live as long."""
    transaction = received()
    ringing = respond(make_request(), 180)
    transaction.send_response(ringing, 0.5)
    assert attribute_values(transaction).count(ringing) == 1  # resent on a retransmitted INVITE
    transaction.send_response(respond(make_request(), 200), 1.0)
    assert not any(isinstance(value, Message) for value in attribute_values(transaction))


def test_nothing_is_sent_once_terminated() -> None:
    transaction = received(reliable=True)
    transaction.on_transport_error()
    assert transaction.send_response(respond(make_request(), 200), 1.0) == []
    assert transaction.receive_request(make_request(), 1.0) == []
