"""Non-INVITE server transaction (RFC 3261 §17.2.2) against a fake clock."""

from __future__ import annotations

from softswitch.sip.message import Request
from softswitch.sip.transaction import (
    SendMessage,
    ServerNonInviteTransaction,
    TransactionState,
    TransactionTerminated,
)
from tests.sip.samples import attribute_values, run_clock
from tests.sip.transactions import make_request, respond


def received(reliable: bool = False) -> ServerNonInviteTransaction:
    transaction = ServerNonInviteTransaction(make_request("REGISTER"), reliable=reliable)
    assert transaction.start(0.0) == []
    assert transaction.state is TransactionState.TRYING
    return transaction


def test_retransmissions_are_absorbed_while_trying() -> None:
    transaction = received()
    assert transaction.receive_request(make_request("REGISTER"), 0.5) == []


def test_provisional_is_resent_while_proceeding() -> None:
    transaction = received()
    trying = respond(make_request("REGISTER"), 100)
    assert transaction.send_response(trying, 0.1) == [SendMessage(trying)]
    assert transaction.state is TransactionState.PROCEEDING
    assert transaction.receive_request(make_request("REGISTER"), 0.5) == [SendMessage(trying)]


def test_final_is_resent_until_timer_j() -> None:
    transaction = received()
    ok = respond(make_request("REGISTER"), 200)
    assert transaction.send_response(ok, 1.0) == [SendMessage(ok)]
    assert transaction.state is TransactionState.COMPLETED
    assert transaction.receive_request(make_request("REGISTER"), 2.0) == [SendMessage(ok)]
    assert transaction.send_response(respond(make_request("REGISTER"), 500), 2.0) == []
    assert run_clock(transaction, 100.0) == [(33.0, TransactionTerminated())]  # Timer J


def test_reliable_timer_j_is_zero() -> None:
    transaction = received(reliable=True)
    ok = respond(make_request("REGISTER"), 401)
    assert transaction.send_response(ok, 1.0) == [SendMessage(ok), TransactionTerminated()]
    assert transaction.receive_request(make_request("REGISTER"), 2.0) == []


def test_the_request_is_not_kept() -> None:
    """Completed transactions wait 32 s on UDP: they hold their last response, not the
    parsed request (a third of the memory at thousands of REGISTERs a second)."""
    transaction = received()
    transaction.send_response(respond(make_request("REGISTER"), 200), 1.0)
    held = attribute_values(transaction)
    assert any(value is transaction.last_response for value in held)  # it sees the attributes
    assert not any(isinstance(value, Request) for value in held)
