"""Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3, §9.2)."""

from __future__ import annotations

from pathlib import Path

from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.transaction import (
    cancel_target_key,
    client_transaction_key,
    server_transaction_key,
)
from tests.sip.samples import parse_request
from tests.sip.transactions import make_request, respond

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475" / "application"


def with_method(request: Request, method: str) -> Request:
    data = request.to_bytes().replace(b"INVITE", method.encode())
    return parse_request(data)


def test_a_response_matches_its_client_transaction_by_branch_and_method() -> None:
    invite = make_request()
    assert client_transaction_key(respond(invite, 180)) == client_transaction_key(invite)
    cancel = make_request("CANCEL")
    assert client_transaction_key(respond(cancel, 200)) != client_transaction_key(invite)
    other = make_request(branch="z9hG4bKclient2")
    assert client_transaction_key(respond(other, 180)) != client_transaction_key(invite)


def test_retransmission_and_ack_match_the_invite_server_transaction() -> None:
    invite = parse_request(make_request().to_bytes())
    key = server_transaction_key(invite)
    assert key[0] == "3261"
    assert server_transaction_key(parse_request(invite.to_bytes())) == key
    assert server_transaction_key(with_method(invite, "ACK")) == key


def test_cancel_has_its_own_transaction_but_targets_the_invite() -> None:
    invite = make_request()
    cancel = with_method(invite, "CANCEL")
    assert server_transaction_key(cancel) != server_transaction_key(invite)
    assert cancel_target_key(cancel) == server_transaction_key(invite)


def test_sent_by_is_compared_with_default_port_and_case_insensitive_host() -> None:
    invite = make_request()
    implicit = parse_request(
        invite.to_bytes().replace(b"192.0.2.1:5060;branch", b"192.0.2.1;branch")
    )
    assert server_transaction_key(implicit) == server_transaction_key(invite)
    moved = parse_request(
        invite.to_bytes().replace(b"192.0.2.1:5060;branch", b"192.0.2.9:5060;branch")
    )
    assert server_transaction_key(moved) != server_transaction_key(invite)


def test_rfc2543_peers_and_bare_magic_cookie_fall_back_to_dialog_fields() -> None:
    inv2543 = parse_message((FIXTURES / "inv2543.dat").read_bytes())
    badbranch = parse_message((FIXTURES / "badbranch.dat").read_bytes())
    assert isinstance(inv2543, Request) and isinstance(badbranch, Request)
    key = server_transaction_key(inv2543)
    assert key[0] == "2543" and key[-1] == "INVITE"
    assert server_transaction_key(badbranch)[0] == "2543"
    ack = parse_request(
        inv2543.to_bytes()
        .replace(b"INVITE sip", b"ACK sip")
        .replace(b"56 INVITE", b"56 ACK")
        .replace(b"user=phone\r\nCall-ID", b"user=phone;tag=uas1\r\nCall-ID")
    )
    assert server_transaction_key(ack) == key
