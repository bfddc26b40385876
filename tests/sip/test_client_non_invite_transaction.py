"""Non-INVITE client transaction (RFC 3261 §17.1.2) against a fake clock."""

from __future__ import annotations

from softswitch.sip.transaction import (
    ClientNonInviteTransaction,
    DeliverResponse,
    SendMessage,
    TransactionState,
    TransactionTerminated,
    TransactionTimeout,
)
from tests.sip.samples import run_clock
from tests.sip.transactions import make_request, respond


def started(reliable: bool = False) -> ClientNonInviteTransaction:
    transaction = ClientNonInviteTransaction(make_request("OPTIONS"), reliable=reliable)
    assert transaction.start(0.0) == [SendMessage(transaction.request)]
    assert transaction.state is TransactionState.TRYING
    return transaction


def resend_times(fired: list[tuple[float, object]]) -> list[float]:
    return [when for when, action in fired if isinstance(action, SendMessage)]


def test_timer_e_doubles_up_to_t2_until_timer_f() -> None:
    transaction = started()
    fired = run_clock(transaction, 100.0)
    assert resend_times(fired) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert fired[-2:] == [(32.0, TransactionTimeout("F")), (32.0, TransactionTerminated())]


def test_timer_e_uses_t2_once_proceeding() -> None:
    transaction = started()
    run_clock(transaction, 0.5)
    trying = respond(transaction.request, 100)
    assert transaction.receive_response(trying, 0.6) == [DeliverResponse(trying)]
    assert transaction.state is TransactionState.PROCEEDING
    fired = run_clock(transaction, 100.0)
    assert resend_times(fired) == [1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5]
    assert fired[-2][1] == TransactionTimeout("F")


def test_final_response_then_timer_k_absorbs_retransmissions() -> None:
    transaction = started()
    ok = respond(transaction.request, 200)
    assert transaction.receive_response(ok, 1.0) == [DeliverResponse(ok)]
    assert transaction.state is TransactionState.COMPLETED
    assert transaction.receive_response(ok, 2.0) == []
    assert run_clock(transaction, 100.0) == [(6.0, TransactionTerminated())]  # Timer K = T4


def test_reliable_transport_no_retransmission_and_k_is_zero() -> None:
    transaction = started(reliable=True)
    assert transaction.next_deadline() == 32.0
    ok = respond(transaction.request, 404)
    assert transaction.receive_response(ok, 1.0) == [DeliverResponse(ok), TransactionTerminated()]
    assert transaction.state is TransactionState.TERMINATED


def test_reliable_timeout_is_timer_f() -> None:
    transaction = started(reliable=True)
    assert run_clock(transaction, 100.0) == [
        (32.0, TransactionTimeout("F")),
        (32.0, TransactionTerminated()),
    ]
